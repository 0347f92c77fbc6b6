"""The one generation cache: append-only, so an interrupted run resumes without regenerating.

Every model call that goes through :func:`crosstask.generation.generate` with a cache (the
evaluation's generations, harvested documents, self-distilled references, model-written
refusals) is appended (and fsynced) as one JSON line ``{"key", "output", **provenance}`` as soon
as its batch finishes. The key is :func:`generation_key`: a hash of everything that changes the
output (the prompt, or what names it; the weights' identity; the generation settings; the stop
rule; the backend; the engine version). A changed key simply misses.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crosstask.io import append_jsonl, read_jsonl_tolerant, stable_hash
from crosstask.paths import cache_subdir

# Bump when a change to the engine changes outputs, so cached generations are not reused.
ENGINE_VERSION = 2


def generation_key(prompt: Any, identity: Mapping[str, Any]) -> str:
    """The cache key of one prompt (its text, or a JSON value that names it) under ``identity``."""
    return stable_hash({"prompt": prompt, **identity}, length=32)


class GenerationCache:
    """Records by key in a JSONL file; later lines win (a regenerated key overrides an older one)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._records: dict[str, dict[str, Any]] | None = None

    @classmethod
    def named(cls, subdir: str, name: str = "outputs.jsonl") -> GenerationCache:
        """The cache of one purpose under the cache folder (``harvest``, ``references``, ``refusals``)."""
        return cls(cache_subdir(subdir) / name)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._records is None:
            self._records = {}
            for rec in read_jsonl_tolerant(self.path):
                if isinstance(rec, dict) and isinstance(rec.get("key"), str) and isinstance(rec.get("output"), str):
                    self._records[rec["key"]] = rec
        return self._records

    def get(self, key: str) -> dict[str, Any] | None:
        """The whole record (output and provenance), or None."""
        return self._load().get(key)

    def output(self, key: str) -> str | None:
        rec = self._load().get(key)
        return None if rec is None else rec["output"]

    def __contains__(self, key: str) -> bool:
        return key in self._load()

    def __len__(self) -> int:
        return len(self._load())

    def put(self, record: dict[str, Any]) -> None:
        """Append a record: ``key`` and ``output`` (str), and any provenance fields."""
        append_jsonl(self.path, record)
        self._load()[record["key"]] = record

    def put_many(self, records: list[dict[str, Any]]) -> None:
        for rec in records:
            self.put(rec)
