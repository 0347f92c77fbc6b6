"""The evaluation config (YAML or dict): model x document sets x tasks x judges."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from crosstask.document import Document, set_label
from crosstask.errors import CrosstaskError
from crosstask.tasks import PAPER_TASKS


@dataclass
class EvalConfig:
    """What to evaluate. ``sets`` maps a set name (malicious | benign | sensitive-benign) to a
    source spec of :func:`crosstask.data.sources.load_source` or a list of documents;
    ``documents`` lists specs whose documents are grouped into sets by their label
    (e.g. one ``paper-format`` folder holding all three sets)."""

    model: str = "smollm2-135m-instruct"
    adapter: str | None = None
    name: str | None = None  # the defense's name in tables (default: adapter folder name or "base")
    dtype: str | None = None
    prompt_format: str = "chat"
    system_prompt: str | None = None
    sets: dict[str, Any] = field(default_factory=dict)
    documents: list[Any] = field(default_factory=list)
    tasks: list[str] = field(default_factory=lambda: list(PAPER_TASKS))
    judges: list[str] = field(default_factory=lambda: ["refusal"])  # the first decides refusal rates
    refusal_only: list[str] = field(default_factory=lambda: ["malicious"])  # sets generated until the verdict is final
    refusal_only_tokens: int | None = None  # cap on new tokens in refusal-only mode (None: the engine's default)
    use_given_prompts: bool | None = None  # paper-format prompts as released; None = when present
    limit: int | None = None  # documents per set
    max_new_tokens: int = 128
    batch_size: int = 16
    generation_dtype: str | None = None
    max_input_tokens: int | None = None  # default: the model's context minus max_new_tokens
    seed: int = 0
    bootstrap_resamples: int = 1000
    output_dir: str | None = None

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
