"""The typed configuration of a defense dataset (YAML ``data:`` section or ``crosstask data build`` flags)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crosstask.errors import CrosstaskError
from crosstask.io import read_yaml_section, stable_hash
from crosstask.models import EMBEDDED_MODEL
from crosstask.tasks import PAPER_TASKS, get_task

SourceList = list[dict[str, Any]]


class ExtraSource(BaseModel):
    """Alpaca-format examples mixed in with their own answers (safety refusals, general instructions)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    n: int = Field(ge=0)


class DefenseConfig(BaseModel):
    """What goes into a defense dataset.

    ``recipe``: ``none`` (no malicious examples), ``single:<task>`` (``n`` malicious examples of
    one task) or ``mixed`` (``n`` per task for every task in ``tasks``).
    """

    model_config = ConfigDict(extra="forbid")

    recipe: str = "mixed"
    n: int = Field(10, ge=0, description="malicious examples per task")
    tasks: list[str] = Field(default_factory=lambda: list(PAPER_TASKS))
    malicious: SourceList = Field(default_factory=list)
    benign: SourceList = Field(default_factory=list)
    sensitive: SourceList = Field(default_factory=list)
    benign_per_task: int = Field(0, ge=0)
    sensitive_per_task: int = Field(0, ge=0)
    # Or per malicious example: per task, ceil(ratio x n) (the contrastive recipe wants >= 1 sensitive).
    benign_ratio: float | None = Field(None, ge=0)
    sensitive_ratio: float | None = Field(None, ge=0)
    # Share of documents (any label) whose compliance opening line ("Sure, here is ...") is removed
    # or reworded, so that a defense cannot key on it.
    opening_augmentation: float = Field(0.0, ge=0, le=1)
    # Then remove or reword more openings in the labels that have more of them, until every label
    # opens with a compliance line equally often (the line says nothing about the label).
    balance_openings: bool = False
    # Held-out documents per label: a count (>= 1) or a fraction (< 1).
    test_size: float = Field(0.2, ge=0)
    allow_fewer: bool = False
    seed: int = 0

    refusal_source: Literal["templates", "model"] = "templates"
    refusal_model: str | None = None  # default: reference_model
    # The base model: self-distilled references (and model-written refusals).
    reference_model: str = EMBEDDED_MODEL
    reference_max_new_tokens: int = Field(128, ge=1)
    reference_dtype: str = "auto"  # bf16 only where it is fast
    generation_batch_size: int = Field(16, ge=1)

    prompt_format: str = "chat"
    system_prompt: str | None = None
    tokenizer: str | None = None  # for the context budget; default: reference_model
    max_prompt_tokens: int | None = Field(None, ge=16)

    safety: ExtraSource | None = None
    general: ExtraSource | None = None
    progress: bool = True

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
        return stable_hash(self.model_dump(mode="json", exclude={"progress"}))


def _first_error(e: ValidationError, where: str) -> CrosstaskError:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(root)"
    msg = err["msg"].removeprefix("Value error, ")
    return CrosstaskError(f"{where}: field '{loc}': {msg}")


def parse_defense_config(data: dict[str, Any], where: str = "defense config") -> DefenseConfig:
    """Validate a mapping; the first problem becomes a one-line error naming the field."""
    if not isinstance(data, dict):
        raise CrosstaskError(f"{where}: expected a mapping, got {type(data).__name__}")
    try:
        return DefenseConfig.model_validate(data)
    except ValidationError as e:
        raise _first_error(e, where) from None


def read_config_mapping(path: str | Path) -> dict[str, Any]:
    """The settings mapping of a YAML file: the whole file, or its ``data:`` section (plus a top-level ``out``)."""
    return read_yaml_section(path, "data", keep=("out",))


def load_defense_config(path: str | Path, overrides: dict[str, Any] | None = None) -> DefenseConfig:
    """Read a YAML config and apply overrides (e.g. command-line flags)."""
    data = read_config_mapping(path) | dict(overrides or {})
    data.pop("out", None)  # where to write is an argument of build_defense_dataset, not a setting
    return parse_defense_config(data, where=str(path))
