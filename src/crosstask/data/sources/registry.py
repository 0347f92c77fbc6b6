"""A registry of document sources, selected by ``kind`` in a config.

A source spec is a mapping: ``{"kind": "advbench", "label": "malicious", "limit": 100, ...}``.
Each kind registers a loader ``fn(spec: SourceSpec) -> list[Document]``; modules that
define kinds are imported lazily by :func:`_load_builtin_kinds`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crosstask.document import Document
from crosstask.errors import CrosstaskError

SourceLoader = Callable[["SourceSpec"], list[Document]]
_REGISTRY: dict[str, SourceLoader] = {}
# Modules whose import registers source kinds.
_BUILTIN_MODULES: tuple[str, ...] = (
    "crosstask.data.sources.harmful_goals",
    "crosstask.data.sources.paper_format",
    "crosstask.data.sources.beavertails",
    "crosstask.data.sources.alpaca",
    "crosstask.data.sources.tabular",
    "crosstask.data.sources.hub",
    "crosstask.data.harvest.source",
)


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
        return cls(
            kind=d["kind"], label=d.get("label"), path=d.get("path"), limit=d.get("limit"),
            options={k: v for k, v in d.items() if k not in known},
        )


def register_source(kind: str) -> Callable[[SourceLoader], SourceLoader]:
    def deco(fn: SourceLoader) -> SourceLoader:
        _REGISTRY[kind] = fn
        return fn

    return deco


def _load_builtin_kinds() -> None:
    for mod in _BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:  # a real missing dependency inside the module
                raise


def list_sources() -> list[str]:
    _load_builtin_kinds()
    return sorted(_REGISTRY)


def load_source(spec: dict[str, Any] | SourceSpec) -> list[Document]:
    spec = SourceSpec.from_mapping(spec)
    _load_builtin_kinds()
    try:
        fn = _REGISTRY[spec.kind]
    except KeyError:
        raise CrosstaskError(f"unknown source kind {spec.kind!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    docs = fn(spec)
    if spec.label is not None:
        docs = [Document(d.id, d.text, spec.label, d.source, d.meta) for d in docs]  # type: ignore[arg-type]
    if spec.limit is not None:
        docs = docs[: spec.limit]
    return docs
