"""``manifest.json`` of a defense dataset: counts per task and kind, seed, config and its hash, sources.

No timestamps or absolute build paths: the same config and seed give a byte-identical file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crosstask.data.defense.defense_config import DefenseConfig
from crosstask.data.defense.schema import DefenseExample
from crosstask.document import Document
from crosstask.errors import InputError
from crosstask.io import read_json, read_jsonl

TRAIN_NAME = "train.jsonl"
TEST_NAME = "test_documents.jsonl"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    counts: dict[str, dict[str, int]]  # task -> kind -> examples
    by_kind: dict[str, int]
    total: int
    test_documents: dict[str, int]  # label -> held-out documents
    seed: int
    recipe: str
    config: dict[str, Any]
    config_hash: str
    sources: dict[str, Any]
    stats: dict[str, int]
    distinct_refusals: int
    crosstask_version: str
    # Per label of the documents behind the examples: count, length quantiles, distinct-2, share
    # opening with a compliance line, and length overlap with the malicious ones (surface tells).
    document_stats: dict[str, Any] = field(default_factory=dict)
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def create(cls, config: DefenseConfig, examples: Sequence[DefenseExample], test_docs: Sequence[Document],
               sources: dict[str, Any], stats: Mapping[str, int], version: str,
               document_stats: dict[str, Any] | None = None) -> Manifest:
        counts: dict[str, dict[str, int]] = {}
        for e in examples:
            counts.setdefault(e.task, {}).setdefault(e.kind, 0)
            counts[e.task][e.kind] += 1
        return cls(
            counts={t: dict(sorted(k.items())) for t, k in sorted(counts.items())},
            by_kind=dict(sorted(Counter(e.kind for e in examples).items())),
            total=len(examples),
            test_documents=dict(sorted(Counter(d.label for d in test_docs).items())),
            seed=config.seed,
            recipe=config.recipe,
            config=config.model_dump(mode="json", exclude={"progress"}),
            config_hash=config.config_hash(),
            sources=sources,
            stats=dict(sorted((k, int(v)) for k, v in stats.items() if v)),
            distinct_refusals=len({e.response for e in examples if e.kind == "malicious"}),
            crosstask_version=version,
            document_stats=document_stats or {},
        )

    def at(self, path: Path) -> Manifest:
        return replace(self, path=path)

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "path"}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: Path | None = None) -> Manifest:
        try:
            return cls(**d, path=path)
        except TypeError as e:
            raise InputError(f"not a crosstask manifest ({e})", path=path) from None


def read_manifest(folder: str | Path) -> Manifest:
    folder = Path(folder)
    data = read_json(folder / MANIFEST_NAME)
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", path=folder / MANIFEST_NAME)
    return Manifest.from_dict(data, path=folder)


def read_examples(folder: str | Path) -> list[DefenseExample]:
    path = Path(folder) / TRAIN_NAME
    out = []
    for i, rec in enumerate(read_jsonl(path), start=1):
        try:
            out.append(DefenseExample.from_dict(rec))
        except (KeyError, TypeError) as e:
            raise InputError(f"not a defense example ({e})", path=path, record=i) from None
    return out


def read_test_documents(folder: str | Path) -> list[Document]:
    """The held-out documents, read (and validated) by the ``documents`` source."""
    from crosstask.data.sources.tabular import read_documents

    return read_documents(Path(folder) / TEST_NAME)
