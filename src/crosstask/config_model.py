"""The one config type: every stage config, experiment section and command config is a
:class:`ConfigModel` (pydantic, unknown keys forbidden, each field's help text its
``Field(description=...)``, which the CLI options derived from it show).

Validation is pydantic's lax mode, so a value YAML reads as a string is coerced where it is
unambiguous (``learning_rate: 1e-3`` is a float). Every failure is one line naming where and
the key path (:func:`crosstask.errors.format_validation_error`): :meth:`ConfigModel.parse`
for mappings, and direct construction (``TrainConfig(lora_r="x")``) raises a
:class:`~crosstask.errors.CrosstaskError` too.

A stage config is split into the options a user sets and the fields the pipeline fills::

    class TrainOptions(ConfigModel): ...            # what an experiment's ``train:`` may set
    class TrainConfig(TrainOptions):                # what the trainer takes
        base_model: str = pipeline_field(..., set_by="model.name")

A config that adds :func:`pipeline_field` fields to its options class registers them there, so
those options (and every section built on them) refuse such a key with a one-line error that
says where the experiment sets it (``train.base_model: set by the experiment; use model.name
instead``): the refused keys are derived from the types, not kept in a hand map.

A section that holds only what the user gave (an experiment's ``train:``, a per-model override)
is dumped as given (:meth:`ConfigModel.given`, the :data:`Given` annotation), so defaults live in
one place (the config class) and a stage's content hash depends on what was written.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from crosstask.errors import CrosstaskError, format_validation_error

C = TypeVar("C", bound="ConfigModel")
T = TypeVar("T")

# options class -> {key: where the experiment sets it}, filled by the configs that extend it.
_PIPELINE_KEYS: dict[type, dict[str, str]] = {}


def pipeline_field(default: Any = ..., *, help: str, set_by: str, **kwargs: Any) -> Any:
    """A field that the experiment fills (``set_by``: where a user sets it there), with its help text."""
    return Field(default, description=help, json_schema_extra={"set_by": set_by}, **kwargs)


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) is replaced by ``override``."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(override)


class _ConfigMeta(type(BaseModel)):  # type: ignore[misc]
    """Direct construction (``TrainConfig(...)``) fails with a one-line ``CrosstaskError``.

    Only a call of the class comes here: pydantic validates nested models without calling it, so
    their errors keep their key paths up to :meth:`ConfigModel.parse`."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as e:
            raise CrosstaskError(format_validation_error(e, cls.__name__, unknown=cls._unknown_key())) from None


class ConfigModel(BaseModel, metaclass=_ConfigMeta):
    """The base of every config: unknown keys forbidden, lax types, one-line errors."""

    # NaN and infinity are never a valid setting (a NaN passes every range check).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # What an unknown key is called in errors of a config parsed on its own ("unknown training config key").
    config_name: ClassVar[str] = ""
    # Other projects' names for a field that mean exactly the same (TRL/transformers: num_train_epochs),
    # accepted and stored under the field's own name.
    aliases: ClassVar[dict[str, str]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        added = {name: extra["set_by"] for name, f in cls.model_fields.items()
                 if isinstance(extra := f.json_schema_extra, dict) and "set_by" in extra}
        for base in cls.__mro__[1:]:
            if isinstance(base, type) and issubclass(base, ConfigModel) and base is not ConfigModel:
                own = {k: v for k, v in added.items() if k not in base.model_fields}
                if own:
                    _PIPELINE_KEYS[base] = {**_PIPELINE_KEYS.get(base, {}), **own}

    @classmethod
    def pipeline_keys(cls) -> dict[str, str]:
        """Keys this config refuses because the pipeline fills them: ``{key: where the experiment sets it}``."""
        out: dict[str, str] = {}
        for base in reversed(cls.__mro__):
            out.update(_PIPELINE_KEYS.get(base, {}))
        return {k: v for k, v in out.items() if k not in cls.model_fields}

    @model_validator(mode="wrap")
    @classmethod
    def _check_keys(cls, data: Any, handler: Any) -> Any:
        """Aliases renamed; a key the pipeline fills, or a misspelt one, refused with where to look."""
        if isinstance(data, Mapping):
            data = {cls.aliases.get(k, k) if cls.aliases.get(k) not in data else k: v for k, v in data.items()}
            refused = cls.pipeline_keys()
            errors = [{"type": PydanticCustomError("set_by_pipeline", "set by the experiment; use {set_by} instead",
                                                   {"set_by": refused[k]}), "loc": (k,), "input": data[k]}
                      for k in data if k in refused]
            for k in data:
                near = (difflib.get_close_matches(k, list(cls.model_fields), n=1, cutoff=0.75)
                        if isinstance(k, str) and k not in cls.model_fields and k not in refused else [])
                if near:
                    errors.append({"type": PydanticCustomError("unknown_key", "unknown key; did you mean {near}?",
                                                               {"near": near[0]}),
                                   "loc": (k,), "input": data[k]})
            if errors:
                raise ValidationError.from_exception_data(cls.__name__, errors)  # type: ignore[arg-type]
        return handler(data)

    @classmethod
    def _unknown_key(cls) -> str:
        return f"unknown {cls.config_name} key" if cls.config_name else "unknown key"

    @classmethod
    def parse(cls: type[C], data: Any, *, where: str | None = None, prefix: str = "",
              quote_field: bool = False) -> C:
        """Validate a mapping (an instance passes through); the first problem becomes a one-line
        ``CrosstaskError`` naming ``where`` (default: the class name) and the key path under ``prefix``."""
        if isinstance(data, cls):
            return data
        where = where or cls.__name__
        if not isinstance(data, Mapping):
            raise CrosstaskError(f"{where}{': ' + prefix if prefix else ''}: expected a mapping, "
                                 f"got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as e:
            raise CrosstaskError(format_validation_error(e, where, prefix=prefix, quote_field=quote_field,
                                                         unknown=cls._unknown_key())) from None

    def to_dict(self) -> dict[str, Any]:
        """Every field, defaults included."""
        return self.model_dump()

    def given(self) -> dict[str, Any]:
        """Only the fields that were given (nested ones too): what a section or an override says."""
        return self.model_dump(exclude_unset=True)

    def merged(self: C, override: ConfigModel) -> C:
        """This partial config with ``override``'s given fields deep-merged over its own (validated)."""
        return type(self).model_validate(deep_merge(self.given(), override.given()))


def _given(model: ConfigModel) -> dict[str, Any]:
    return model.given()


# A section dumped as given (``model_dump`` of the config holding it shows only the keys written).
Given = Annotated[T, PlainSerializer(_given)]
