"""A registry of document sources, selected by ``kind`` in a config.

A source spec is a mapping: ``{"kind": "advbench", "label": "malicious", "limit": 100, ...}``.
Each kind is a loader ``fn(spec: SourceSpec) -> list[Document]`` in :data:`SOURCES`; the
built-in kinds are lazy ``"module:attr"`` targets, imported when a spec names them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.document import LABELS, Document
from crosstask.errors import CrosstaskError
from crosstask.registry import Registry

SourceLoader = Callable[["SourceSpec"], list[Document]]
SOURCES: Registry[SourceLoader] = Registry("source kind")
for _kind, _target in {
    "advbench": "crosstask.data.sources.harmful_goals:load_advbench",
    "harmbench": "crosstask.data.sources.harmful_goals:load_harmbench",
    "donotanswer": "crosstask.data.sources.harmful_goals:load_donotanswer",
    "paper-format": "crosstask.data.sources.paper_format:load_paper_format",
    "beavertails": "crosstask.data.sources.beavertails:load_beavertails",
    "alpaca": "crosstask.data.sources.alpaca:load_alpaca_source",
    "jsonl": "crosstask.data.sources.tabular:load_jsonl",
    "csv": "crosstask.data.sources.tabular:load_csv",
    "documents": "crosstask.data.sources.tabular:load_documents",
    "hf": "crosstask.data.sources.hub:load_hf",
    "harvest": "crosstask.data.harvest.source:load_harvest",
    "harvest-counterparts": "crosstask.data.harvest.source:load_counterparts",
    "generated-news": "crosstask.data.harvest.source:load_generated_news",
    "generated-sensitive": "crosstask.data.harvest.source:load_generated_sensitive",
}.items():
    SOURCES.register(_kind, _target)


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


def register_source(kind: str) -> Callable[[SourceLoader], SourceLoader]:
    """A decorator registering a loader for ``kind`` (replacing any earlier one)."""
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
    of documents (``.jsonl``), a bare registered kind, or ``KIND:PATH``. ``label`` names the set the
    documents go into (a ``paper-format`` folder then reads only that set)."""
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
        spec = {"kind": "documents", "path": value}
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
