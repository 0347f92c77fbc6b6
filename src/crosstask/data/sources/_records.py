"""Record validation shared by the source loaders.

Every check raises :class:`InputError` naming the file, the record and the field.
Records are numbered the way a user finds them: JSON lists by 0-based index,
line-oriented files (JSONL, CSV, plain text) by 1-based line number.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crosstask.document import LABELS
from crosstask.errors import InputError
from crosstask.io import read_text


def read_jsonl_lines(path: str | Path) -> list[tuple[int, Any]]:
    """JSONL records with their 1-based line numbers (blank lines skipped)."""
    out = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((lineno, json.loads(line)))
        except json.JSONDecodeError as e:
            raise InputError(f"malformed JSON (line {lineno}): {e.msg}", path=path, record=lineno) from None
    return out


def require_mapping(rec: Any, path: str | Path, record: int | str) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise InputError(f"expected a JSON object, got {type(rec).__name__}", path=path, record=record)
    return rec


def require_list(obj: Any, path: str | Path, field: str, record: int | str | None = None) -> list[Any]:
    if not isinstance(obj, list):
        raise InputError(f"expected a list, got {type(obj).__name__}", path=path, record=record, field=field)
    return obj


def require_text(
    rec: dict[str, Any], field: str, path: str | Path, record: int | str, *, allow_empty: bool = False
) -> str:
    """The string at ``rec[field]``: present, a string and (unless allowed) not blank."""
    if field not in rec or rec[field] is None:
        raise InputError("missing", path=path, record=record, field=field)
    return check_text(rec[field], field, path, record, allow_empty=allow_empty)


def check_text(value: Any, field: str, path: str | Path, record: int | str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", path=path, record=record, field=field)
    if not allow_empty and not value.strip():
        raise InputError("empty text", path=path, record=record, field=field)
    return value


def check_label(value: Any, field: str, path: str | Path, record: int | str) -> str:
    if value not in LABELS:
        raise InputError(
            f"unknown label {value!r}; expected one of {', '.join(LABELS)}", path=path, record=record, field=field
        )
    return value
