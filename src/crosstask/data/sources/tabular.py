"""Generic record files: ``jsonl`` and ``csv`` with a named text field, ``documents``, and ``file``.

``jsonl``/``csv`` options: ``text_field`` (required), ``id_field``, ``label_field``.
Without ``label_field`` the spec's ``label`` applies to every record. Other fields
are kept in ``meta``. ``documents`` reads a JSONL of ``Document.to_dict()`` records
(saved test splits, harvested documents). ``file`` reads a user's own documents, as a bare path
on the command line gives them: a ``.jsonl``, ``.json`` (a list of records), ``.csv`` or ``.txt``
file (one document) or a folder of ``.txt`` files; the text field is the first of
``text``, ``document``, ``content``, ``output`` the records have (or ``text_field``); ids come
from an ``id`` field when every record has one, else from the file name and record number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from crosstask.data.sources._records import (
    check_label,
    read_jsonl_lines,
    require_mapping,
    require_text,
)
from crosstask.data.sources.registry import FILE_SUFFIXES, TEXT_FIELDS, SourceSpec
from crosstask.document import Document
from crosstask.errors import CrosstaskError, InputError
from crosstask.io import read_json, read_text


def records_to_documents(
    records: Iterable[tuple[int | str, Any]],
    *,
    path: str | Path,
    source: str,
    text_field: str,
    id_field: str | None = None,
    label_field: str | None = None,
    label: str | None = None,
    id_prefix: str | None = None,
) -> list[Document]:
    """Turn ``(record number, mapping)`` pairs into documents, validating every field.

    Without ``id_field`` a document's id is ``<id_prefix>-<record number>`` (default
    prefix: the file's stem).
    """
    if label_field is None and label is None:
        raise CrosstaskError(f"{path}: give the source a 'label' or a 'label_field'")
    prefix = id_prefix if id_prefix is not None else Path(str(path)).stem
    docs, seen = [], set()
    for rec_no, rec in records:
        rec = require_mapping(rec, path, rec_no)
        text = require_text(rec, text_field, path, rec_no)
        if id_field is not None:
            if rec.get(id_field) is None or str(rec[id_field]).strip() == "":
                raise InputError("missing", path=path, record=rec_no, field=id_field)
            doc_id = str(rec[id_field])
        else:
            doc_id = f"{prefix}-{rec_no}"
        if doc_id in seen:
            raise InputError(f"duplicate id {doc_id!r}", path=path, record=rec_no, field=id_field or "id")
        seen.add(doc_id)
        doc_label = label
        if label_field is not None:
            if label_field not in rec:
                raise InputError("missing", path=path, record=rec_no, field=label_field)
            doc_label = check_label(rec[label_field], label_field, path, rec_no)
        used = {text_field, id_field, label_field}
        meta = {k: v for k, v in rec.items() if k not in used}
        docs.append(Document(id=doc_id, text=text, label=doc_label, source=source, meta=meta))  # type: ignore[arg-type]
    return docs


def read_csv_rows(path: str | Path) -> list[tuple[int, dict[str, str]]]:
    """CSV rows under a header line, numbered by line."""
    reader = csv.DictReader(io.StringIO(read_text(path), newline=""))
    rows = []
    try:
        for row in reader:
            line = reader.line_num  # the line the row ends on (rows with quoted newlines span several)
            if None in row:
                raise InputError("more values than header columns", path=path, record=line)
            rows.append((line, row))
    except csv.Error as e:
        raise InputError(f"malformed CSV: {e}", path=path, record=reader.line_num) from None
    return rows


def _field_options(spec: SourceSpec) -> dict[str, Any]:
    if not spec.path:
        raise CrosstaskError(f"source kind {spec.kind!r} needs 'path'")
    text_field = spec.options.get("text_field")
    if not text_field:
        raise CrosstaskError(f"source kind {spec.kind!r} needs 'text_field': the field that holds the document")
    return {"text_field": text_field, "id_field": spec.options.get("id_field"),
            "label_field": spec.options.get("label_field"), "label": spec.label}


def load_jsonl(spec: SourceSpec) -> list[Document]:
    opts = _field_options(spec)
    return records_to_documents(read_jsonl_lines(spec.path), path=spec.path, source="jsonl", **opts)  # type: ignore[arg-type]


def load_csv(spec: SourceSpec) -> list[Document]:
    opts = _field_options(spec)
    rows = read_csv_rows(spec.path)  # type: ignore[arg-type]
    if rows:
        columns = list(rows[0][1])
        for key in ("text_field", "id_field", "label_field"):
            if opts[key] is not None and opts[key] not in columns:
                raise InputError(f"no such column; columns: {', '.join(columns)}", path=spec.path, field=opts[key])
    return records_to_documents(rows, path=spec.path, source="csv", **opts)  # type: ignore[arg-type]


def read_documents(path: str | Path) -> list[Document]:
    """A JSONL of ``Document.to_dict()`` records, validated field by field."""
    docs, seen = [], set()
    for lineno, rec in read_jsonl_lines(path):
        rec = require_mapping(rec, path, lineno)
        for key in ("id", "source"):
            if rec.get(key) is None:
                raise InputError("missing", path=path, record=lineno, field=key)
        text = require_text(rec, "text", path, lineno)
        label = check_label(rec.get("label"), "label", path, lineno)
        meta = rec.get("meta") or {}
        if not isinstance(meta, dict):
            raise InputError("expected an object", path=path, record=lineno, field="meta")
        doc = Document(id=str(rec["id"]), text=text, label=label, source=str(rec["source"]), meta=dict(meta))  # type: ignore[arg-type]
        if doc.id in seen:
            raise InputError(f"duplicate id {doc.id!r}", path=path, record=lineno, field="id")
        seen.add(doc.id)
        docs.append(doc)
    return docs


def load_documents(spec: SourceSpec) -> list[Document]:
    """Option ``path``: a JSONL of Document records (e.g. a dataset's test_documents.jsonl)."""
    if not spec.path:
        raise CrosstaskError("source kind 'documents' needs 'path': a JSONL of Document records")
    return read_documents(spec.path)


def _read_records(path: Path) -> list[tuple[int, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl_lines(path)
    if suffix == ".csv":
        return list(read_csv_rows(path))
    if suffix == ".json":
        data = read_json(path)
        if not isinstance(data, list):
            raise InputError(f"expected a JSON list of records, got {type(data).__name__}", path=path)
        return list(enumerate(data))
    if suffix == ".txt":  # one document
        return [(1, {"id": path.stem, "text": read_text(path)})]
    raise CrosstaskError(f"{path}: unsupported file type {suffix or '(none)'!r}; expected one of "
                         f"{', '.join(FILE_SUFFIXES)} or a folder of .txt files")


def _text_field(records: list[tuple[int, Any]], path: Path, given: str | None) -> str:
    first = next((rec for _, rec in records if isinstance(rec, dict)), None)
    fields = list(first) if first is not None else []
    if given:
        return given
    for name in TEXT_FIELDS:
        if name in fields:
            return name
    raise CrosstaskError(f"{path}: no text field ({', '.join(TEXT_FIELDS)}); its records have: "
                         f"{', '.join(fields) or 'no fields'}; set text_field")


def load_file(spec: SourceSpec) -> list[Document]:
    """A user's own documents from one file or a folder of ``.txt`` files (see the module docstring)."""
    if not spec.path:
        raise CrosstaskError("source kind 'file' needs 'path': a .jsonl, .json, .csv or .txt file, or a folder")
    path = Path(spec.path)
    if path.is_dir():
        files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".txt")
        if not files:
            raise InputError("no .txt files in folder", path=path)
        records: list[tuple[int | str, Any]] = [(f.name, {"id": f"{path.name}-{f.stem}", "text": read_text(f)})
                                               for f in files]
        return records_to_documents(records, path=path, source="file", text_field="text", id_field="id",
                                    label=spec.label)
    if not path.is_file():
        raise CrosstaskError(f"{path}: no such file or folder")
    rows = _read_records(path)
    if not rows:
        raise InputError("no records", path=path)
    text_field = _text_field(rows, path, spec.options.get("text_field"))
    dicts = [rec for _, rec in rows if isinstance(rec, dict)]
    id_field = spec.options.get("id_field") or ("id" if dicts and all(rec.get("id") not in (None, "") for rec in dicts)
                                                else None)
    label_field = spec.options.get("label_field")
    if label_field is None and spec.label is None and dicts and "label" in dicts[0]:
        label_field = "label"
    return records_to_documents(rows, path=path, source="file", text_field=text_field, id_field=id_field,
                                label_field=label_field, label=spec.label)
