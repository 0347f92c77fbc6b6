"""CLI options derived from a typed config's fields (the TRL ``HfArgumentParser`` idea).

:func:`config_options` turns a command body ``body(values, **own)`` into a typer command that
has the body's own parameters plus one option per field of a config class (a
:class:`~crosstask.config_model.ConfigModel` whose fields carry ``description``):
``--field-name`` with the field's help text. A field that is itself a model becomes one option
per sub-field (``--safety-path``, ``--safety-n``). A flag therefore cannot drift from its config
key: add a field and the command has its option. ``values`` holds the fields that were given,
parsed to their type (lists comma-separated, mappings and other structures as YAML).

Every such command also takes ``--config FILE`` and ``--set key.path=value``;
:func:`command_settings` layers them (the file, then ``--set``, then the options).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import BaseModel
from rich.markup import escape

from crosstask.errors import CrosstaskError
from crosstask.io import apply_assignments, load_yaml, read_yaml_section

Parser = Callable[[Any], Any]


@dataclass(frozen=True)
class ConfigField:
    """One field of a config class as the CLI sees it."""

    name: str
    hint: Any
    help: str


def config_fields(cls: type[BaseModel]) -> list[ConfigField]:
    """The fields of a config class, in order, with type and help."""
    return [ConfigField(name, info.annotation, info.description or "") for name, info in cls.model_fields.items()]


def _unwrap_optional(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) == 1:
            return inner[0]
    return hint


def _option_type(hint: Any) -> tuple[type, Parser | None, str]:
    """The CLI type of a field, the parser from the CLI value to the field's type, and a help suffix."""
    hint = _unwrap_optional(hint)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Literal:
        return str, None, f" One of: {', '.join(map(str, args))}."
    if hint in (bool, int, float, str):
        return hint, None, ""
    if origin is list and args and args[0] is str:
        return str, lambda v: [x.strip() for x in v.split(",") if x.strip()], " Comma-separated."
    if origin is dict:
        return str, _yaml_of(dict), " A YAML mapping, e.g. '{name: 2}'."
    if origin is list:
        return str, _yaml_of(list), " A YAML list, e.g. '[{kind: documents, path: d.jsonl}]'."
    raise TypeError(f"no CLI type for config field type {hint!r}")


def _yaml_of(kind: type) -> Parser:
    def parse(text: str) -> Any:
        try:
            value = load_yaml(text)
        except CrosstaskError as e:
            raise CrosstaskError(f"{text!r} is not valid YAML ({e})") from None
        if not isinstance(value, kind):
            raise CrosstaskError(f"{text!r}: expected a YAML {'mapping' if kind is dict else 'list'}")
        return value

    return parse


def _submodel(hint: Any) -> type[BaseModel] | None:
    inner = _unwrap_optional(hint)
    return inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None


def config_options(
    cls: type,
    *,
    aliases: Mapping[str, Sequence[str]] | None = None,
    negative: Mapping[str, str] | None = None,
    custom: Mapping[str, tuple[Any, Parser]] | None = None,
    names: Mapping[str, str] | None = None,
    deprecated: Mapping[str, Sequence[str]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate ``body(values, **own)``: the command gets ``own``'s parameters plus an option per field.

    ``aliases`` adds names to an option (``{"learning_rate": ["--lr"]}``; a sub-field is named
    ``"safety.path"``); ``names`` gives a field another flag than ``--<field-name>``, the one every
    command uses for it (``{"base_model": "--model"}``); ``deprecated`` keeps old flags working,
    hidden, with a one-line note (``{"base_model": ["--base-model"]}``); ``negative`` names a boolean
    field's off switch (default ``--no-<name>``); ``custom`` gives a field its own CLI type and
    parser (e.g. a repeatable source option).
    """
    aliases, negative, custom = aliases or {}, negative or {}, custom or {}
    names, deprecated = names or {}, deprecated or {}

    def wrap(body: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for name, p in inspect.signature(body, eval_str=True).parameters.items() if name != "values"]
        taken = {p.name for p in own}
        params = list(own)
        # parameter name -> (field path, parser)
        parsers: dict[str, tuple[tuple[str, ...], Parser | None]] = {}
        # hidden parameter -> (the parameter it stands for, its old flag, the flag to use)
        old_spellings: dict[str, tuple[str, str, str]] = {}

        def add(path: tuple[str, ...], hint: Any, help_text: str, panel: str) -> None:
            pname, dotted = "__".join(path), ".".join(path)
            if pname in taken:
                raise TypeError(f"{body.__name__}: parameter {pname!r} is also a field of {cls.__name__}")
            if dotted in custom:
                cli_type, parser = custom[dotted]
                suffix = ""
            else:
                cli_type, parser, suffix = _option_type(hint)
            flag = names.get(dotted) or "--" + "-".join(path).replace("_", "-")
            off = negative.get(dotted, "--no-" + flag[2:])
            flags = [f"{flag}/{off}" if cli_type is bool else flag, *aliases.get(dotted, ())]
            option = typer.Option(None, *flags, help=help_text + suffix, show_default=False, rich_help_panel=panel)
            params.append(inspect.Parameter(pname, inspect.Parameter.KEYWORD_ONLY, default=option,
                                            annotation=cli_type | None))
            parsers[pname] = (path, parser)
            for i, old in enumerate(deprecated.get(dotted, ())):
                if cli_type is bool:
                    raise TypeError(f"{body.__name__}: no deprecated spelling for the boolean option {flag}")
                hidden = f"{pname}__old{i}"
                params.append(inspect.Parameter(hidden, inspect.Parameter.KEYWORD_ONLY, annotation=cli_type | None,
                                                default=deprecated_option(flag, old)))
                old_spellings[hidden] = (pname, old, flag)

        panel = f"{cls.__name__} options"
        for f in config_fields(cls):
            sub = _submodel(f.hint) if f.name not in custom else None
            if sub is None:
                add((f.name,), f.hint, f.help, panel)
                continue
            for sf in config_fields(sub):
                add((f.name, sf.name), sf.hint, f"{f.help} {sf.help}".strip(), panel)

        def command(**kwargs: Any) -> Any:
            for hidden, (pname, old, flag) in old_spellings.items():
                kwargs[pname] = prefer(kwargs[pname], kwargs.pop(hidden), old, flag)
            values: dict[str, Any] = {}
            for pname, (path, parser) in parsers.items():
                v = kwargs.pop(pname)
                if v is None or (isinstance(v, (list, tuple)) and not v):
                    continue
                v = parser(v) if parser is not None else v
                if len(path) == 1:
                    values[path[0]] = v
                else:
                    values.setdefault(path[0], {})[path[1]] = v
            return body(values=values, **kwargs)

        command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        command.__name__, command.__doc__ = body.__name__, body.__doc__
        return command

    return wrap


# The options every config-derived command has besides its fields.
CONFIG_HELP = "YAML file of {cls} keys (or its '{section}:' section{more})."
SET_HELP = "Set a config value: key.path=value (YAML value)."


def config_option(cls: type, section: str, more: str = "") -> Any:
    """The ``--config/-c FILE`` option of a command configured by ``cls``."""
    return typer.Option(None, "--config", "-c", help=CONFIG_HELP.format(cls=cls.__name__, section=section, more=more))


def set_option() -> Any:
    """The repeatable ``--set/-s key.path=value`` option."""
    return typer.Option([], "--set", "-s", help=SET_HELP)


def deprecated_option(flag: str, *old: str) -> Any:
    """A hidden option of old spellings of ``flag`` (resolve it with :func:`prefer`)."""
    return typer.Option(None, *old, hidden=True, show_default=False,
                        help=f"Deprecated spelling of {flag}; still accepted, with a note.")


def prefer(value: Any, old_value: Any, old: str, flag: str) -> Any:
    """The option's value, else the one given under its old spelling (noted on stderr)."""
    if old_value is None or (isinstance(old_value, (list, tuple)) and not old_value):
        return value
    note(f"{old} is deprecated; use {flag}")
    if value is not None and value != old_value and not (isinstance(value, (list, tuple)) and not value):
        raise CrosstaskError(f"{flag} and {old} (its old spelling) disagree; give one")
    return old_value if value is None or (isinstance(value, (list, tuple)) and not value) else value


def argument_or_option(argument: Any, option: Any, name: str, *, required: bool = True) -> Any:
    """A value that may be given as the positional argument or as ``--name`` (not both, unless equal);
    a mistake is a usage error (exit code 2, with where help is)."""
    # typer (0.29) vendors click: its usage error and current context live in typer._click
    from typer._click.exceptions import UsageError
    from typer._click.globals import get_current_context

    if argument is not None and option is not None and argument != option:
        raise UsageError(f"{name.upper()} given twice ({argument} and --{name} {option}); give one",
                         ctx=get_current_context(silent=True))
    value = argument if argument is not None else option
    if value is None and required:
        raise UsageError(f"Missing argument '{name}' (or --{name}).", ctx=get_current_context(silent=True))
    return value


def output_file(out: str | Path, name: str) -> Path:
    """The file a command writes under ``--out FOLDER``. An ``--out`` naming a .json/.jsonl file (the old
    meaning) is still written there, with a note."""
    path = Path(out)
    if path.suffix in (".json", ".jsonl") and not path.is_dir():
        note(f"--out {path}: a file is deprecated; --out is a folder (writes FOLDER/{name})")
        return path
    return path / name


def note(text: str) -> None:
    """A one-line note on stderr (deprecations)."""
    from crosstask.cli._common import err_console

    err_console.print(f"[yellow]note:[/] {escape(text)}", highlight=False, soft_wrap=True)


def read_section(path: Path | None, section: str) -> dict[str, Any]:
    """The settings of a ``--config`` file: its ``section:`` mapping, or the whole file (none: empty)."""
    return read_yaml_section(path, section) if path is not None else {}


def command_settings(cls: type[BaseModel], base: Mapping[str, Any], assignments: Sequence[str],
                     values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a command, later ones winning: ``base`` (the config file), the ``--set``
    assignments, then the options given (``values``; a sub-model's options merge into it)."""
    settings = apply_assignments(dict(base), assignments)
    for name, value in values.items():
        field = cls.model_fields.get(name)
        if field is not None and _submodel(field.annotation) is not None and isinstance(value, dict):
            value = {**(settings.get(name) or {}), **value}
        settings[name] = value
    return settings
