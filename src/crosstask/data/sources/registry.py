"""A registry of document sources, selected by ``kind`` in a config.

A source spec is a mapping: ``{"kind": "advbench", "label": "malicious", "limit": 100, ...}``.
Each kind is a loader ``fn(spec: SourceSpec) -> list[Document]`` in :data:`SOURCES`; the
built-in kinds are lazy ``"module:attr"`` targets, imported when a spec names them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.document import LABELS, Document
from crosstask.errors import CrosstaskError
from crosstask.registry import Registry

SourceLoader = Callable[["SourceSpec"], list[Document]]
SOURCES: Registry[SourceLoader] = Registry("source kind")
# Kind -> (lazy target, what a spec of that kind needs: shown by `crosstask list sources`).
_BUILTIN: dict[str, tuple[str, str]] = {
    "advbench": ("crosstask.data.sources.harmful_goals:load_advbench",
                 "optional: path (default: the bundled copy), categories; label malicious"),
    "harmbench": ("crosstask.data.sources.harmful_goals:load_harmbench",
                  "optional: path (default: the bundled copy), categories; label malicious"),
    "donotanswer": ("crosstask.data.sources.harmful_goals:load_donotanswer",
                    "optional: path (default: the bundled copy), categories; label malicious"),
    "paper-format": ("crosstask.data.sources.paper_format:load_paper_format",
                     "path (folder of test_<task>*.json); optional: sets"),
    "beavertails": ("crosstask.data.sources.beavertails:load_beavertails",
                    "path (JSON of parallel lists); optional: hand_labels (harmful|harmless), label"),
    "alpaca": ("crosstask.data.sources.alpaca:load_alpaca_source",
               "path (JSON list or JSONL of {instruction, input, output}), label"),
    "file": ("crosstask.data.sources.tabular:load_file",
             "path (.jsonl, .json, .csv, .txt or a folder of .txt), label; optional: text_field "
             "(default: text, document, content or output), id_field"),
    "jsonl": ("crosstask.data.sources.tabular:load_jsonl",
              "path, text_field, label or label_field; optional: id_field"),
    "csv": ("crosstask.data.sources.tabular:load_csv",
            "path, text_field, label or label_field; optional: id_field"),
    "documents": ("crosstask.data.sources.tabular:load_documents",
                  "path (JSONL of Document records: id, text, label, source)"),
    "hf": ("crosstask.data.sources.hub:load_hf",
           "name (hub id or local dataset folder), text_field, label or label_field; optional: split, config, "
           "revision, id_field"),
    "harvest": ("crosstask.data.harvest.source:load_harvest",
                "goals (a source spec); optional: model, prefill, opening (keep|remove), decoding options"),
    "harvest-counterparts": ("crosstask.data.harvest.source:load_counterparts",
                             "goals (a source spec); optional: framings, per_goal, model, decoding options"),
    "generated-news": ("crosstask.data.harvest.source:load_generated_news",
                       "n; optional: model, topics or topics_file, topics_part, prefill_share"),
    "generated-sensitive": ("crosstask.data.harvest.source:load_generated_sensitive",
                            "n; optional: model, topics or topics_file, topics_part, prefill_share"),
}
SOURCE_NEEDS: dict[str, str] = {}
for _kind, (_target, _needs) in _BUILTIN.items():
    SOURCES.register(_kind, _target)
    SOURCE_NEEDS[_kind] = _needs

# The text fields a bare file is searched for, in order (``file`` kind).
TEXT_FIELDS: tuple[str, ...] = ("text", "document", "content", "output")
FILE_SUFFIXES: tuple[str, ...] = (".jsonl", ".json", ".csv", ".txt")


@dataclass
class SourceSpec:
    kind: str
    label: str | None = None  # overrides the source's default label
    path: str | None = None
    limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # kind-specific keys

    @classmethod
    def from_mapping(cls, d: dict[str, Any] | SourceSpec) -> SourceSpec:
        if isinstance(d, SourceSpec):
            return d
        if "kind" not in d:
            raise CrosstaskError(f"source spec {d!r} has no 'kind'")
        known = {"kind", "label", "path", "limit"}
        kind = d["kind"]
        label, limit = d.get("label"), d.get("limit")
        if label is not None and label not in LABELS:
            raise CrosstaskError(f"source {kind!r}: label: unknown label {label!r}; expected one of {', '.join(LABELS)}")
        if isinstance(limit, str) and limit.strip().isdigit():
            limit = int(limit)
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
            raise CrosstaskError(f"source {kind!r}: limit: expected a whole number >= 0, got {limit!r}")
        return cls(kind=kind, label=label, path=d.get("path"), limit=limit,
                   options={k: v for k, v in d.items() if k not in known})


def register_source(kind: str, needs: str = "") -> Callable[[SourceLoader], SourceLoader]:
    """A decorator registering a loader for ``kind`` (replacing any earlier one); ``needs``: the
    keys a spec of that kind needs, shown by ``crosstask list sources``."""
    SOURCE_NEEDS[kind] = needs
    return SOURCES.register(kind, overwrite=True)


def list_sources() -> list[str]:
    return SOURCES.names(sort=True)


def load_source(spec: dict[str, Any] | SourceSpec) -> list[Document]:
    spec = SourceSpec.from_mapping(spec)
    docs = SOURCES.get(spec.kind)(spec)
    if spec.label is not None:
        docs = [Document(d.id, d.text, spec.label, d.source, d.meta) for d in docs]  # type: ignore[arg-type]
    if spec.limit is not None:
        docs = docs[: spec.limit]
    return docs


def parse_source(value: str, label: str | None = None) -> dict[str, Any]:
    """A source spec written on the command line: a YAML/JSON mapping (``{kind: advbench}``), a file
    (``.jsonl``, ``.json``, ``.csv``, ``.txt``) or folder of ``.txt`` files, a bare registered kind, or
    ``KIND:PATH``. ``label`` names the set the documents go into (a ``paper-format`` folder then reads
    only that set; a file's documents take it, unless it is a JSONL of saved Document records)."""
    from crosstask.io import load_yaml

    value = value.strip()
    if value.startswith("{"):
        try:
            spec = load_yaml(value)
        except CrosstaskError as e:
            raise CrosstaskError(f"source spec {value!r} is not a valid mapping ({e})") from None
        if not isinstance(spec, dict) or "kind" not in spec:
            raise CrosstaskError(f"source spec {value!r} needs a 'kind'")
    elif Path(value).exists():
        spec = _file_spec(Path(value), label)
    elif value in SOURCES:
        spec = {"kind": value}
    else:
        kind, sep, path = value.partition(":")
        if not (sep and kind in SOURCES):
            raise CrosstaskError(f"source {value!r}: not a file, a known kind ({', '.join(list_sources())}) "
                                 "or KIND:PATH")
        spec = {"kind": kind, "path": path} if path else {"kind": kind}
    if label and spec.get("kind") == "paper-format":
        spec.setdefault("sets", [label])
    return spec


def _is_document_records(path: Path) -> bool:
    """True when a JSONL file's first record is a saved :class:`Document` (id, text, label, source)."""
    from crosstask.io import read_text

    for line in read_text(path).splitlines():
        if line.strip():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                return False
            return isinstance(rec, dict) and {"id", "text", "label", "source"} <= set(rec)
    return False


def _file_spec(path: Path, label: str | None) -> dict[str, Any]:
    """A bare file or folder on the command line: saved Document records keep their labels (kind
    ``documents``); any other file is read by kind ``file`` with the set's label."""
    if path.is_file() and path.suffix.lower() == ".jsonl" and _is_document_records(path):
        return {"kind": "documents", "path": str(path)}
    spec: dict[str, Any] = {"kind": "file", "path": str(path)}
    if label:
        spec["label"] = label.split(":", 1)[0]  # a set name "malicious:x" -> its label
    return spec
