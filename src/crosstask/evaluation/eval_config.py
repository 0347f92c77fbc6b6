"""The evaluation config (YAML or dict): model x document sets x tasks x judges.

:class:`EvalOptions` is what a user sets (an experiment's ``eval.options:``); :class:`EvalConfig`
adds what the experiment fills (the model, the adapter, the documents, the tasks, the seed,
the output folder) and is what :func:`crosstask.evaluation.evaluate` takes; ``crosstask eval
run`` has one option per field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from crosstask.config_model import ConfigModel, pipeline_field
from crosstask.document import Document, set_label
from crosstask.errors import CrosstaskError
from crosstask.judges.base import JudgeNames
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name
from crosstask.models.prompt_formats import PromptFormatName
from crosstask.tasks import PAPER_TASKS
from crosstask.tasks.registry import TaskNames


def _check_set_name(name: str) -> None:
    try:
        set_label(name)
    except CrosstaskError as e:  # pydantic reports ValueErrors with their key path
        raise ValueError(str(e).removeprefix("field 'set': ")) from None


class EvalOptions(ConfigModel):
    """How to evaluate: judges, generation lengths and batches, intervals."""

    config_name = "evaluation config"

    dtype: str | None = Field(None, description="dtype to load the model in (default: float32; auto: bf16 where fast).")
    system_prompt: str | None = Field(None, description="A system prompt before every request.")
    judges: JudgeNames = Field(default_factory=lambda: ["refusal"], min_length=1,
                              description="Judges; the first decides refusal rates.")
    refusal_only: list[str] = Field(default_factory=lambda: ["malicious"], description=(
        "Sets generated only until the judge's verdict is final (empty: every answer in full)."))
    refusal_only_tokens: int | None = Field(None, ge=1, description=(
        "Cap on new tokens in refusal-only mode (default: the engine's)."))
    use_given_prompts: bool | None = Field(None, description=(
        "Use paper-format prompts as released (default: when present)."))
    limit: int | None = Field(None, ge=1, description="At most this many documents per set.")
    max_new_tokens: int = Field(128, ge=1, description="Tokens to generate per answer.")
    batch_size: int = Field(16, ge=1, description="Generation batch size.")
    token_budget: int | None = Field(None, ge=64, description=(
        "Cache positions one generation batch may hold, padding included (default: the engine's, 16384; one "
        "batch per worker is in flight): bounds memory on long documents."))
    generation_dtype: Literal["float32", "bfloat16", "int8"] | None = Field(None, description=(
        "bfloat16 or int8 (dynamic quantization of the linear layers): faster CPU generation, outputs differ."))
    max_input_tokens: int | None = Field(None, ge=1, description=(
        "Prompt budget in tokens (default: the model's context minus max_new_tokens)."))
    bootstrap_resamples: int = Field(1000, ge=1, description=(
        "Bootstrap resamples of the 95% intervals of task-quality means (rates use exact Wilson intervals)."))
    guard_threshold: float | None = Field(None, gt=0, lt=1, description=(
        "Input guard threshold (default: the one saved with the guard)."))
    backend: Literal["hf", "openai"] = Field("hf", description=(
        "hf: load the model here; openai: ask an OpenAI-compatible endpoint (base_url) for model's answers."))
    base_url: str | None = Field(None, description=(
        "API root of the openai backend, e.g. http://127.0.0.1:8000/v1 (crosstask serve, vllm serve)."))
    api_key_env: str = Field("OPENAI_API_KEY", description=(
        "Environment variable holding the openai backend's API key (unset: no key sent)."))
    concurrency: int = Field(8, ge=1, description="Requests in flight at once (openai backend).")
    max_retries: int = Field(4, ge=0, description=(
        "Retries of a failed request, with exponential backoff (openai backend)."))
    request_timeout: float = Field(300.0, gt=0, description="Seconds one request may take (openai backend).")

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str | None) -> str | None:
        return check_dtype_name(v)

    @field_validator("refusal_only")
    @classmethod
    def _refusal_only_sets(cls, v: list[str]) -> list[str]:
        for s in v:
            _check_set_name(s)
        return v


class EvalConfig(EvalOptions):
    """What to evaluate. ``sets`` maps a set name (malicious | benign | sensitive-benign) to a
    source spec of :func:`crosstask.data.sources.load_source` or a list of documents;
    ``documents`` lists specs whose documents are grouped into sets by their label
    (e.g. one ``paper-format`` folder holding all three sets)."""

    model: str = pipeline_field(EMBEDDED_MODEL, help="Model name, folder or hub id.", set_by="model.name")
    adapter: str | None = pipeline_field(None, help="LoRA adapter folder to attach.", set_by="models")
    input_guard: str | None = pipeline_field(None, set_by="models", help=(
        "Input guard folder (crosstask guard train): documents it flags get a task-aware refusal, not the model."))
    name: str | None = pipeline_field(None, set_by="models", help=(
        "The defense's name in tables (default: the adapter folder's name or base)."))
    prompt_format: PromptFormatName = pipeline_field(DEFAULT_PROMPT_FORMAT, set_by="model.prompt_format", help=(
        "Prompt format: chat (the tokenizer's template), alpaca or llama2."))
    sets: dict[str, Any] = pipeline_field(default_factory=dict, set_by="documents", help=(
        "Evaluation sets: set name (malicious, benign, sensitive-benign, or qualified as malicious:harmbench) "
        "-> source spec or list of documents."))
    documents: list[Any] = pipeline_field(default_factory=list, set_by="documents", help=(
        "Source specs whose documents are grouped into sets by their label (e.g. one paper-format folder)."))
    tasks: TaskNames = pipeline_field(default_factory=lambda: list(PAPER_TASKS), set_by="eval.tasks",
                                      help="Tasks (default: the five paper tasks).")
    seed: int = pipeline_field(0, ge=0, help="Seed of sampling and bootstrap intervals.", set_by="seed")
    output_dir: str | None = pipeline_field(None, set_by="output_dir", help=(
        "Output folder (samples.jsonl, summary.json; resumable)."))

    @field_validator("sets")
    @classmethod
    def _set_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for s in v:
            _check_set_name(s)
        return v

    @model_validator(mode="after")
    def _something_to_evaluate(self) -> EvalConfig:
        if not self.sets and not self.documents:
            raise ValueError("nothing to evaluate: give 'sets' (e.g. malicious/benign source specs) or 'documents'")
        if not self.tasks:
            raise ValueError("no tasks to evaluate")
        if not self.judges:
            raise ValueError("no judges configured")
        if self.backend == "openai" and not self.base_url:
            raise ValueError("backend openai needs base_url (e.g. http://127.0.0.1:8000/v1)")
        if self.backend == "openai" and self.adapter:
            raise ValueError("backend openai evaluates what the endpoint serves: serve the adapter there "
                             "(crosstask serve --adapter, vllm serve --enable-lora) and name it in model")
        return self

    def default_output_dir(self) -> Path:
        """Where ``crosstask eval run`` writes without ``--out``: ``runs/eval/<model>[-<adapter>]-<hash>``,
        the hash of every setting, so the same evaluation lands in the same folder (and resumes there)."""
        from crosstask.io import stable_hash
        from crosstask.paths import RUNS_DIR, model_slug, slugify

        settings = {k: v for k, v in self.to_dict().items() if k != "output_dir"}
        adapter = Path(self.adapter.rstrip("/")).name if self.adapter else None
        name = slugify(model_slug(self.model), adapter, self.name if self.name != adapter else None)
        return (Path(RUNS_DIR) / "eval" / f"{name}-{stable_hash(settings)[:8]}").resolve()

    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.adapter:
            return Path(self.adapter).name
        return "base"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: in-memory document lists become their ids."""

        def safe(v: Any) -> Any:
            if isinstance(v, list) and v and isinstance(v[0], Document):
                return {"in_memory_documents": [x.id for x in v]}
            return v

        d = {name: getattr(self, name) for name in type(self).model_fields}
        d["sets"] = {k: safe(v) for k, v in self.sets.items()}
        d["documents"] = [safe(v) for v in self.documents]
        return d
