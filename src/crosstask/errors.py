"""User-facing errors: one line that names the file, record and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class CrosstaskError(Exception):
    """An error caused by input or configuration; the CLI prints it as one line."""


class InputError(CrosstaskError):
    """Bad input data. Formats as ``file: record N: field 'x': message``."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record: int | str | None = None,
        field: str | None = None,
    ):
        self.path = str(path) if path is not None else None
        self.record = record
        self.field = field
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if record is not None:
            parts.append(f"record {record}")
        if field is not None:
            parts.append(f"field '{field}'")
        parts.append(message)
        super().__init__(": ".join(parts))


def format_validation_error(
    err: Any, where: str, *, prefix: str = "", quote_field: bool = False, unknown: str = "unknown key"
) -> str:
    """The one formatter of config validation errors (a pydantic ``ValidationError``): one line,
    ``where: key.path: message`` (``where: field 'key.path': message`` with ``quote_field``), the key
    path under ``prefix``, an unknown key named as such (``unknown``), plus how many more errors there
    are. An error of the whole mapping (no key path) reads ``where: message``."""
    errors = err.errors()
    first = errors[0]
    loc = ".".join([*([prefix] if prefix else []), *(str(p) for p in first["loc"])])
    msg = unknown if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
    if first["type"] == "unknown_key":  # ConfigModel's misspelt key, with its closest field
        msg = f"{unknown}; did you mean {first.get('ctx', {}).get('near')}?"
    more = len(errors) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    if not loc:
        return f"{where}: {msg}{suffix}"
    return f"{where}: {f'field {loc!r}' if quote_field else loc}: {msg}{suffix}"
