"""The typed configuration of a defense dataset (YAML ``data:`` section or ``crosstask data build`` flags).

:class:`DefenseOptions` is what a user sets (an experiment's ``defense.builder:`` and the per-model
``builder:`` overrides); :class:`DefenseConfig` adds what the experiment fills (recipe, N, tasks,
document sources, held-out share, seed, reference model, prompt format) and is what
:func:`~crosstask.data.defense.build_defense_dataset` takes.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from crosstask.config_model import ConfigModel, pipeline_field
from crosstask.errors import CrosstaskError
from crosstask.io import content_hash, read_yaml_section, stable_hash
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name
from crosstask.tasks import PAPER_TASKS, get_task

SourceList = list[dict[str, Any]]


class ExtraSource(ConfigModel):
    """Alpaca-format examples mixed in with their own answers (safety refusals, general instructions)."""

    path: str = Field(description="Alpaca-format JSON/JSONL file.")
    n: int = Field(100, ge=0, description="Examples taken from it.")


class DefenseOptions(ConfigModel):
    """How a defense dataset is built, besides its recipe, N and documents."""

    config_name = "defense config"

    benign_per_task: int = Field(0, ge=0, description="Benign utility examples per task.")
    sensitive_per_task: int = Field(0, ge=0, description="Sensitive-benign utility examples per task.")
    # Or per malicious example: per task, ceil(ratio x n) (the contrastive recipe wants >= 1 sensitive).
    benign_ratio: float | None = Field(None, ge=0, description="Or benign examples per task as ceil(ratio x n).")
    sensitive_ratio: float | None = Field(
        None, ge=0, description="Or sensitive-benign examples per task as ceil(ratio x n).")
    opening_augmentation: float = Field(0.0, ge=0, le=1, description=(
        "Share of documents (any label) whose compliance opening line (\"Sure, here is ...\") is removed or "
        "reworded, so that a defense cannot key on it."))
    balance_openings: bool = Field(False, description=(
        "Then remove or reword more openings in the labels that have more of them, until every label opens "
        "with a compliance line equally often."))
    allow_fewer: bool = Field(False, description="Use fewer documents than asked if a source is short.")

    refusal_source: Literal["templates", "model"] = Field("templates", description="Where refusals come from.")
    task_opening_refusals: bool = Field(
        False, description="Template refusals open like the task's own answer where the task has such templates "
                           "(sentiment: 'The document above ...'), so they need not beat its first-token prior.")
    refusal_model: str | None = Field(None, description="Model that writes refusals (default: reference_model).")
    reference_max_new_tokens: int = Field(128, ge=1, description="Tokens per self-distilled reference.")
    reference_dtype: str = Field("auto", description="dtype of the reference model (auto: bf16 only where it is fast).")
    generation_batch_size: int = Field(16, ge=1, description="Generation batch size (references, refusals).")

    system_prompt: str | None = Field(None, description="A system prompt before every request.")
    tokenizer: str | None = Field(None, description="Tokenizer for the context budget (default: reference_model).")
    max_prompt_tokens: int | None = Field(None, ge=16, description="Cut documents in the middle to fit this budget.")

    safety: ExtraSource | None = Field(None, description="Safety examples (Safety-Tuned LLaMAs format):")
    general: ExtraSource | None = Field(None, description="General instruction examples:")
    progress: bool = Field(True, description="Show progress bars.")

    @field_validator("reference_dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        return check_dtype_name(v)  # type: ignore[return-value]


class DefenseConfig(DefenseOptions):
    """What goes into a defense dataset.

    ``recipe``: ``none`` (no malicious examples), ``single:<task>`` (``n`` malicious examples of
    one task) or ``mixed`` (``n`` per task for every task in ``tasks``).
    """

    recipe: str = pipeline_field("mixed", help="none | mixed | single:<task>.", set_by="models")
    n: int = pipeline_field(10, ge=0, help="Malicious examples per task.", set_by="models")
    tasks: list[str] = pipeline_field(default_factory=lambda: list(PAPER_TASKS), set_by="defense.tasks",
                                      help="Tasks (default: the five paper tasks).")
    malicious: SourceList = pipeline_field(default_factory=list, help="Malicious document sources.",
                                           set_by="documents.sources")
    benign: SourceList = pipeline_field(default_factory=list, help="Benign document sources.",
                                        set_by="documents.sources")
    sensitive: SourceList = pipeline_field(default_factory=list, help="Sensitive-benign document sources.",
                                           set_by="documents.sources")
    test_size: float = pipeline_field(0.2, ge=0, set_by="documents.heldout", help=(
        "Held-out documents per label: a count (>= 1) or a fraction (< 1)."))
    seed: int = pipeline_field(0, ge=0, help="Seed for splits, sampling and refusal choice.", set_by="seed")
    reference_model: str = pipeline_field(EMBEDDED_MODEL, set_by="model.name", help=(
        "The base model: self-distilled references (and model-written refusals)."))
    prompt_format: str = pipeline_field(DEFAULT_PROMPT_FORMAT, set_by="model.prompt_format", help=(
        "Prompt format: chat (the tokenizer's template), alpaca or llama2."))

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, v: str) -> str:
        if v in ("none", "mixed"):
            return v
        if v.startswith("single:") and v.split(":", 1)[1]:
            return v
        raise ValueError(f"unknown recipe {v!r}; use none, mixed or single:<task>")

    def task_names(self) -> list[str]:
        """The tasks this recipe trains on (validated against the task registry)."""
        names = [self.recipe.split(":", 1)[1]] if self.recipe.startswith("single:") else list(self.tasks)
        if not names:
            raise CrosstaskError("no tasks configured")
        for name in names:
            get_task(name)
        return names

    def benign_count(self) -> int:
        """Benign examples per task: ``benign_per_task``, or ``benign_ratio`` x n when set."""
        return self.benign_per_task if self.benign_ratio is None else math.ceil(self.benign_ratio * self.n)

    def sensitive_count(self) -> int:
        return self.sensitive_per_task if self.sensitive_ratio is None else math.ceil(self.sensitive_ratio * self.n)

    def malicious_tasks(self) -> list[str]:
        return [] if self.recipe == "none" else self.task_names()

    def config_hash(self) -> str:
        """A hash of the settings, with each source file named by its content (name and hash), not its
        absolute path: the same inputs moved elsewhere give the same hash, an edited file another."""
        d = self.model_dump(mode="json", exclude={"progress"})
        for key in ("malicious", "benign", "sensitive"):
            d[key] = [_by_content(spec) for spec in d[key]]
        for key in ("safety", "general"):
            if d.get(key):
                d[key] = _by_content(d[key])
        return stable_hash(d)


def _by_content(spec: Any) -> Any:
    path = spec.get("path") if isinstance(spec, dict) else None
    if isinstance(path, str) and Path(path).exists():
        return {**spec, "path": {"name": Path(path).name, "content": content_hash(path)}}
    return spec


def parse_defense_config(data: dict[str, Any], where: str = "defense config") -> DefenseConfig:
    """Validate a mapping; the first problem becomes a one-line error naming the field."""
    return DefenseConfig.parse(data, where=where, quote_field=True)


def read_config_mapping(path: str | Path) -> dict[str, Any]:
    """The settings mapping of a YAML file: the whole file, or its ``data:`` section (plus a top-level ``out``);
    ``${VAR}``/``${VAR:-default}`` in its ``path`` values come from the environment (``$CROSSTASK_DATA``)."""
    return _expand_paths(read_yaml_section(path, "data", keep=("out",)), str(path))


def _expand_paths(obj: Any, where: str) -> Any:
    from crosstask.paths import expand_path_vars

    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "path" and isinstance(v, str) and "${" in v:
                try:
                    v = expand_path_vars(v)
                except ValueError as e:
                    raise CrosstaskError(f"{where}: path: {v}: {e}") from None
            out[k] = _expand_paths(v, where)
        return out
    if isinstance(obj, list):
        return [_expand_paths(x, where) for x in obj]
    return obj


def load_defense_config(path: str | Path, overrides: dict[str, Any] | None = None) -> DefenseConfig:
    """Read a YAML config and apply overrides (e.g. command-line flags)."""
    data = read_config_mapping(path) | dict(overrides or {})
    data.pop("out", None)  # where to write is an argument of build_defense_dataset, not a setting
    return parse_defense_config(data, where=str(path))
