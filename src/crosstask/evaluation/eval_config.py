"""The evaluation config (YAML or dict): model x document sets x tasks x judges."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from crosstask.document import Document, set_label
from crosstask.errors import CrosstaskError
from crosstask.fields import config_field
from crosstask.tasks import PAPER_TASKS


@dataclass
class EvalConfig:
    """What to evaluate. ``sets`` maps a set name (malicious | benign | sensitive-benign) to a
    source spec of :func:`crosstask.data.sources.load_source` or a list of documents;
    ``documents`` lists specs whose documents are grouped into sets by their label
    (e.g. one ``paper-format`` folder holding all three sets)."""

    model: str = config_field("smollm2-135m-instruct", help="Model name, folder or hub id.")
    adapter: str | None = config_field(None, help="LoRA adapter folder to attach.")
    name: str | None = config_field(None, help="The defense's name in tables (default: the adapter folder's name or base).")
    dtype: str | None = config_field(None, help="dtype to load the model in (default: auto).")
    prompt_format: str = config_field("chat", help="Prompt format: chat (the tokenizer's template), alpaca or llama2.")
    system_prompt: str | None = config_field(None, help="A system prompt before every request.")
    sets: dict[str, Any] = config_field(factory=dict, help=(
        "Evaluation sets: set name (malicious, benign, sensitive-benign, or qualified as malicious:harmbench) "
        "-> source spec or list of documents."))
    documents: list[Any] = config_field(factory=list, help=(
        "Source specs whose documents are grouped into sets by their label (e.g. one paper-format folder)."))
    tasks: list[str] = config_field(factory=lambda: list(PAPER_TASKS), help="Tasks (default: the five paper tasks).")
    judges: list[str] = config_field(factory=lambda: ["refusal"], help="Judges; the first decides refusal rates.")
    refusal_only: list[str] = config_field(factory=lambda: ["malicious"], help=(
        "Sets generated only until the judge's verdict is final (empty: every answer in full)."))
    refusal_only_tokens: int | None = config_field(None, help=(
        "Cap on new tokens in refusal-only mode (default: the engine's)."))
    use_given_prompts: bool | None = config_field(None, help=(
        "Use paper-format prompts as released (default: when present)."))
    limit: int | None = config_field(None, help="At most this many documents per set.")
    max_new_tokens: int = config_field(128, help="Tokens to generate per answer.")
    batch_size: int = config_field(16, help="Generation batch size.")
    generation_dtype: str | None = config_field(None, help="bfloat16: faster CPU generation (outputs may differ).")
    max_input_tokens: int | None = config_field(None, help=(
        "Prompt budget in tokens (default: the model's context minus max_new_tokens)."))
    seed: int = config_field(0, help="Seed of sampling and bootstrap intervals.")
    bootstrap_resamples: int = config_field(1000, help="Bootstrap resamples of the 95% intervals.")
    output_dir: str | None = config_field(None, help="Output folder (samples.jsonl, summary.json; resumable).")

    @classmethod
    def from_mapping(cls, d: dict[str, Any] | EvalConfig) -> EvalConfig:
        if isinstance(d, EvalConfig):
            return d
        if not isinstance(d, dict):
            raise CrosstaskError(f"evaluation config must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CrosstaskError(f"unknown evaluation config key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        for s in self.sets:
            set_label(s)  # a bad name is a one-line error naming it
        if not self.sets and not self.documents:
            raise CrosstaskError("nothing to evaluate: give 'sets' (e.g. malicious/benign source specs) or 'documents'")
        if not self.tasks:
            raise CrosstaskError("no tasks to evaluate")
        if not self.judges:
            raise CrosstaskError("no judges configured")
        if self.max_new_tokens < 1 or self.batch_size < 1:
            raise CrosstaskError("max_new_tokens and batch_size must be at least 1")

    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.adapter:
            from pathlib import Path

            return Path(self.adapter).name
        return "base"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: in-memory document lists become their ids."""

        def safe(v: Any) -> Any:
            if isinstance(v, list) and v and isinstance(v[0], Document):
                return {"in_memory_documents": [x.id for x in v]}
            return v

        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["sets"] = {k: safe(v) for k, v in self.sets.items()}
        d["documents"] = [safe(v) for v in self.documents]
        return d
