"""CLI options derived from a typed config's fields (the TRL ``HfArgumentParser`` idea).

:func:`config_options` turns a command body ``body(values, **own)`` into a typer command that
has the body's own parameters plus one option per field of a config dataclass: ``--field-name``
with the field's help text (``field(metadata={"help": ...})``). A flag therefore cannot drift
from its config key: add a field and the command has its option. ``values`` holds the fields
that were given, parsed to their type (lists comma-separated, mappings as YAML).
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import typer

from crosstask.errors import CrosstaskError


def _option_type(hint: Any) -> tuple[type, Callable[[Any], Any] | None, str]:
    """The CLI type of a field, the parser from the CLI value to the field's type, and a help suffix."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):  # X | None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _option_type(inner[0])
    if origin is Literal:
        return str, None, f" One of: {', '.join(map(str, args))}."
    if hint in (bool, int, float, str):
        return hint, None, ""
    if origin is list:
        return str, lambda v: [x.strip() for x in v.split(",") if x.strip()], ""
    if origin is dict:
        return str, _yaml_mapping, " A YAML mapping, e.g. '{summarize: 2}'."
    raise TypeError(f"no CLI type for config field type {hint!r}")


def _yaml_mapping(text: str) -> dict[str, Any]:
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise CrosstaskError(f"{text!r} is not valid YAML") from None
    if not isinstance(value, dict):
        raise CrosstaskError(f"{text!r}: expected a YAML mapping such as '{{name: 2}}'")
    return value


def config_fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    """The fields of a config dataclass with their resolved type hints."""
    hints = typing.get_type_hints(cls)
    return [(f, hints[f.name]) for f in dataclasses.fields(cls)]


def config_options(
    cls: type, *, aliases: Mapping[str, Sequence[str]] | None = None, negative: Mapping[str, str] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``body(values, **own)``: the command gets ``own``'s parameters plus an option per field.

    ``aliases`` adds names to a field's option (``{"learning_rate": ["--lr"]}``); ``negative``
    names a boolean field's off switch (default ``--no-<name>``).
    """
    aliases = aliases or {}
    negative = negative or {}

    def wrap(body: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for name, p in inspect.signature(body, eval_str=True).parameters.items() if name != "values"]
        taken = {p.name for p in own}
        params, parsers = list(own), {}
        for f, hint in config_fields(cls):
            if f.name in taken:
                raise TypeError(f"{body.__name__}: parameter {f.name!r} is also a field of {cls.__name__}")
            cli_type, parser, suffix = _option_type(hint)
            flag = "--" + f.name.replace("_", "-")
            names = [f"{flag}/{negative.get(f.name, '--no-' + f.name.replace('_', '-'))}" if cli_type is bool else flag]
            names += list(aliases.get(f.name, ()))
            option = typer.Option(None, *names, help=f.metadata.get("help", "") + suffix, show_default=False,
                                  rich_help_panel=f"{cls.__name__} options")
            params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                            annotation=cli_type | None))
            parsers[f.name] = parser

        def command(**kwargs: Any) -> Any:
            values = {}
            for name, parser in parsers.items():
                v = kwargs.pop(name)
                if v is not None:
                    values[name] = parser(v) if parser is not None else v
            return body(values=values, **kwargs)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__name__, command.__doc__ = body.__name__, body.__doc__
        command.__config_class__ = cls  # type: ignore[attr-defined]
        return command

    return wrap
