"""Check the sections that belong to the stages (``train``, ``defense.builder``, ``eval.options``)
against the stages' own config classes, so a bad key there is also one line with its key path.

Fields the experiment sets itself (the base model, the seed, the documents...) are refused in
these sections with a pointer to where they are set.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from crosstask.errors import CrosstaskError, format_validation_error

# Keys of the stages' configs that the experiment fills in, and where the user sets them instead.
TRAIN_SET_BY_PIPELINE = {"base_model": "model.name", "prompt_format": "model.prompt_format",
                         "trust_remote_code": "model.trust_remote_code", "seed": "seed"}
DEFENSE_SET_BY_PIPELINE = {
    "recipe": "models", "n": "models", "tasks": "defense.tasks", "malicious": "documents.sources",
    "benign": "documents.sources", "sensitive": "documents.sources", "test_size": "documents.heldout",
    "seed": "seed", "reference_model": "model.name", "prompt_format": "model.prompt_format",
}
EVAL_SET_BY_PIPELINE = {
    "model": "model.name", "adapter": "models", "name": "models", "prompt_format": "model.prompt_format",
    "sets": "documents", "documents": "documents", "tasks": "eval.tasks", "seed": "seed", "output_dir": "output_dir",
}


def _dataclass_model(dc: type, exclude: set[str], extra_fields: dict[str, Any]) -> type[BaseModel]:
    """A strict pydantic model with the dataclass's fields (all optional: they override defaults)."""
    hints = typing.get_type_hints(dc)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, None) for f in dataclasses.fields(dc) if f.name not in exclude
    }
    fields.update(extra_fields)
    return create_model(f"{dc.__name__}Section", __config__=ConfigDict(extra="forbid"), **fields)


def _raise(e: ValidationError, prefix: str, where: str) -> None:
    raise CrosstaskError(format_validation_error(e, where, prefix=prefix)) from None


def _refuse_pipeline_keys(section: dict[str, Any], owned: dict[str, str], prefix: str, where: str) -> None:
    for key in section:
        if key in owned:
            raise CrosstaskError(f"{where}: {prefix}.{key}: set by the experiment; use {owned[key]} instead")


def check_train(section: dict[str, Any], where: str) -> None:
    from crosstask.training.train_config import PRESETS, TrainConfig

    _refuse_pipeline_keys(section, TRAIN_SET_BY_PIPELINE, "train", where)
    model = _dataclass_model(TrainConfig, set(TRAIN_SET_BY_PIPELINE), {"preset": (str | None, None)})
    try:
        model.model_validate(section)
    except ValidationError as e:
        _raise(e, "train", where)
    if section.get("preset") is not None and section["preset"] not in PRESETS:
        raise CrosstaskError(f"{where}: train.preset: unknown preset {section['preset']!r}; "
                             f"known presets: {', '.join(PRESETS.names(sort=True))}")


def check_defense_builder(section: dict[str, Any], where: str) -> None:
    from crosstask.data.defense.defense_config import DefenseConfig

    _refuse_pipeline_keys(section, DEFENSE_SET_BY_PIPELINE, "defense.builder", where)
    try:
        DefenseConfig.model_validate(section)
    except ValidationError as e:
        _raise(e, "defense.builder", where)


def check_eval_options(section: dict[str, Any], where: str) -> None:
    from crosstask.evaluation.eval_config import EvalConfig

    _refuse_pipeline_keys(section, EVAL_SET_BY_PIPELINE, "eval.options", where)
    model = _dataclass_model(EvalConfig, set(EVAL_SET_BY_PIPELINE), {})
    try:
        model.model_validate(section)
    except ValidationError as e:
        _raise(e, "eval.options", where)


def check_sections(train: dict[str, Any], builder: dict[str, Any], eval_options: dict[str, Any], where: str) -> None:
    check_train(train, where)
    check_defense_builder(builder, where)
    check_eval_options(eval_options, where)
