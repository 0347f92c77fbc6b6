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
    """Append one record and flush it: used by caches that must survive a kill. The line goes out in
    one ``write`` under an exclusive lock, so processes sharing a cache never interleave lines."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)  # closing drops the lock


@contextlib.contextmanager
def file_lock(path: str | Path, *, wait: bool = True, busy: str | None = None) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing) for the ``with`` block; the OS drops it if
    the process dies. ``wait=False``: a :class:`CrosstaskError` with ``busy`` (or a default) when
    another process holds it."""
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CrosstaskError(busy or f"{path}: locked by another process") from None
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def publish_folder_once(target: str | Path, build: Any, *, complete: Any) -> Path:
    """Create the cache folder ``target`` once, safe under concurrent first use: ``build(tmp)`` fills
    a temporary sibling folder, which is renamed into place. Processes take turns under a lock, so the
    second finds ``target`` complete (``complete(target)``) and builds nothing; temporaries are
    removed on failure, and ones left by a killed process are removed by the next builder."""
    import shutil

    target = Path(target)
    if complete(target):
        return target
    with file_lock(target.with_name(f".{target.name}.lock")):
        if complete(target):
            return target
        for stale in target.parent.glob(f".{target.name}.tmp*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in target.parent.glob(f"{target.name}.tmp*"):  # the names of earlier versions
            shutil.rmtree(stale, ignore_errors=True)
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        try:
            tmp.mkdir(parents=True)
            build(tmp)
            if target.exists():  # an incomplete folder (no marker file): replace it
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def check_writable(path: str | Path, *, kind: str = "folder", what: str | None = None) -> Path:
    """Fail now, in one line, if ``path`` (an output ``folder`` or ``file``) cannot be written:
    it exists as the other kind, lies under a regular file, or its nearest existing folder refuses
    a new file (permissions, a read-only file system). Creates nothing; returns ``path``."""
    path = Path(path).expanduser()
    what = what or f"output {kind}"
    if path.exists():
        if kind == "folder" and not path.is_dir():
            raise CrosstaskError(f"{path}: the {what} is a file, not a folder")
        if kind == "file" and path.is_dir():
            raise CrosstaskError(f"{path}: the {what} is a folder, not a file")
        probe = path if kind == "folder" else path.parent
    else:
        probe = path.parent
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not probe.is_dir():
            raise CrosstaskError(f"{path}: cannot create the {what}: {probe} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".crosstask-write-check.", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise CrosstaskError(f"{path}: cannot write the {what}: {probe} is not writable ({e.strerror})") from None
    return path


def content_hash(path: str | Path, length: int = 16) -> str:
    """SHA-256 of a file's bytes, or of a folder's files (relative names and contents, sorted):
    an identity that survives moving or copying, and changes when the content does."""
    path = Path(path)
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        if f is not path:
            h.update(f.relative_to(path).as_posix().encode("utf-8") + b"\0")
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(b"\0")
    return h.hexdigest()[:length]


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


def _unique_key_loader() -> type:
    """PyYAML's safe loader, refusing a mapping that repeats a key (PyYAML keeps the last one)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: Any, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = loader.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: construct_mapping reports it
                continue
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (also at line {first.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return UniqueKeyLoader


_YAML_LOADER: type | None = None


def load_yaml(text: str, *, where: str | Path | None = None) -> Any:
    """YAML text parsed with the safe loader, duplicate keys refused; a problem is a one-line
    :class:`InputError` naming ``where`` (a file, or e.g. ``--set x=...``), line and column."""
    import yaml

    global _YAML_LOADER
    if _YAML_LOADER is None:
        _YAML_LOADER = _unique_key_loader()
    try:
        return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if problem.startswith("duplicate key"):
            raise InputError(f"{at.strip().removeprefix('at ')}: {problem}" if at else problem, path=where) from None
        raise InputError(f"malformed YAML{at}: {problem}", path=where) from None


def read_yaml(path: str | Path) -> Any:
    """A YAML file parsed with the safe loader; malformed YAML and a repeated key are one-line
    errors naming the file, line and column."""
    return load_yaml(read_text(path), where=path)


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

    raw = copy.deepcopy(raw)
    for item in assignments:
        dotted, sep, text = item.partition("=")
        if not sep or not dotted:
            raise CrosstaskError(f"--set {item}: expected key.path=value")
        try:
            value = load_yaml(text)
        except InputError as e:
            raise CrosstaskError(f"--set {item}: the value is not valid YAML ({e})") from None
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
