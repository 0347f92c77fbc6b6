"""File reading and atomic writing.

Every write goes to a temporary file in the same folder and is renamed into
place, so an interrupted run never leaves a half-written output behind.
Every read error becomes an :class:`InputError` naming the file and record.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from crosstask.errors import CrosstaskError, InputError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give outputs the usual permissions (0666 less umask).
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def dumps_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, dumps_json(obj))


def write_jsonl(path: str | Path, records: Iterable[Any]) -> int:
    """Write one compact JSON object per line; returns the number of records."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def read_text(path: str | Path) -> str:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    if path.is_dir():
        raise InputError("is a folder, expected a file", path=path)
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not valid UTF-8 (byte {e.start})", path=path) from None


def read_json(path: str | Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON at line {e.lineno} column {e.colno}: {e.msg}", path=path) from None


def read_jsonl(path: str | Path) -> list[Any]:
    records = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise InputError(f"malformed JSON (line {lineno}): {e.msg}", path=path, record=lineno) from None
    return records


def append_jsonl(path: str | Path, record: Any) -> None:
    """Append one record and flush it: used by caches that must survive a kill."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl_tolerant(path: str | Path) -> list[Any]:
    """Read an append-only cache, dropping a torn last line left by a kill."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def read_yaml(path: str | Path) -> Any:
    """A YAML file parsed with the safe loader; malformed YAML is a one-line error naming the file, line and column."""
    import yaml

    try:
        return yaml.safe_load(read_text(path))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise InputError(f"malformed YAML{where}: {problem}", path=path) from None


def read_yaml_section(path: str | Path, section: str, *, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """The settings of a YAML file: its ``section:`` mapping if it has one, else the whole file.

    ``keep`` names top-level keys carried into the section (e.g. an output folder beside it).
    Malformed YAML and a non-mapping are one-line errors naming the file.
    """
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise InputError("expected a mapping of settings", path=path)
    if isinstance(data.get(section), dict):
        data = data[section] | {k: data[k] for k in keep if k in data}
    return dict(data)


def apply_assignments(raw: dict[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """A copy of ``raw`` with ``key.path=value`` assignments applied (the value parsed as YAML; list
    items by index), as every command's ``--set`` gives them."""
    import copy

    import yaml

    raw = copy.deepcopy(raw)
    for item in assignments:
        dotted, sep, text = item.partition("=")
        if not sep or not dotted:
            raise CrosstaskError(f"--set {item}: expected key.path=value")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise CrosstaskError(f"--set {item}: the value is not valid YAML") from None
        keys = dotted.split(".")
        node: Any = raw
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise CrosstaskError(f"--set {item}: {'.'.join(keys[: i + 1])}: no such list item")
                if last:
                    node[int(key)] = value
                else:
                    node = node[int(key)]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                raise CrosstaskError(f"--set {item}: {'.'.join(keys[:i])} is not a mapping or list")
    return raw


def stable_hash(obj: Any, length: int = 16) -> str:
    """A hash of a JSON-serialisable object that is stable across runs and machines."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:length]
