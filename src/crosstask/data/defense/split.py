"""Split documents into train and held-out test BEFORE any example is built, so none leaks."""

from __future__ import annotations

from collections.abc import Sequence

from crosstask.data.harvest.clean import normalized_hash
from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.seeding import rng


def doc_key(doc: Document) -> str:
    return f"{doc.source}:{doc.id}"


def dedupe(docs: Sequence[Document], seen_keys: set[str], seen_texts: set[str]) -> tuple[list[Document], int]:
    """Drop documents whose (source, id) or normalised text was already seen; returns (kept, dropped)."""
    kept, dropped = [], 0
    for d in docs:
        k, h = doc_key(d), normalized_hash(d.text)
        if k in seen_keys or h in seen_texts:
            dropped += 1
            continue
        seen_keys.add(k)
        seen_texts.add(h)
        kept.append(d)
    return kept, dropped


def test_count(n_docs: int, test_size: float) -> int:
    """``test_size`` >= 1 is a count, below 1 a fraction (rounded)."""
    n = int(test_size) if test_size >= 1 else round(n_docs * test_size)
    if test_size >= 1 and test_size != int(test_size):
        raise CrosstaskError(f"test_size {test_size} must be a whole count (>= 1) or a fraction (< 1)")
    return min(n, n_docs)


def split_documents(
    docs: Sequence[Document], test_size: float, seed: int, label: str
) -> tuple[list[Document], list[Document]]:
    """A seeded split per label: (train, test). Independent of the order the source returned."""
    order = sorted(docs, key=doc_key)
    rng(seed, "split", label).shuffle(order)
    n_test = test_count(len(order), test_size)
    return order[n_test:], order[:n_test]
