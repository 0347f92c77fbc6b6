"""Document quality and surface statistics: loops, length, opening lines.

A defense learns whatever separates its malicious documents from its benign ones. If only
malicious documents open with a compliance line ("Sure, here is ...") or degenerate into
list loops, that surface tell is what gets learned. These measures find such tells: the
harvester uses them to reject loops, and manifests report them per label so that a user
sees whether the labels differ in anything but content.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

# The opening of a compliant answer, as written by a prefill or by a model on its own.
OPENING_LINE = re.compile(
    r"^\s*(?:sure|certainly|absolutely|of course|okay|ok)\b[,.!]?\s*(?:here(?:'s| is| are)\b)?[^\n]*(?:\n|$)",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def distinct_n(text: str, n: int = 2) -> float:
    """Distinct n-grams / all n-grams of the words (1.0: no repeats; loops fall far below)."""
    w = words(text)
    grams = list(zip(*(w[i:] for i in range(n)), strict=False))
    return len(set(grams)) / len(grams) if grams else 1.0


def opens_with_prefill(text: str) -> bool:
    """True when the first line is a compliance opening ("Sure, here is ...")."""
    return bool(OPENING_LINE.match(text))


def strip_opening(text: str) -> str:
    """The text without a compliance opening line; unchanged when there is none (or nothing after it)."""
    m = OPENING_LINE.match(text)
    if not m:
        return text
    rest = text[m.end():].strip()
    return rest or text


_REWORDINGS = ("{What}:", "Here is {what}:", "Below is {what}.", "{What}")
_OPENING_PARTS = re.compile(
    r"^\s*(?:sure|certainly|absolutely|of course|okay|ok)\b[,.!]?\s*here(?:'s| is| are)\s+(?P<what>[^\n]*?)[:.]?\s*$",
    re.IGNORECASE,
)


def reword_opening(text: str, variant: int) -> str:
    """Replace a "Sure, here is X:" opening with a neutral line about X (one of four wordings).

    Unchanged when the first line is not such an opening.
    """
    first, sep, rest = text.partition("\n")
    m = _OPENING_PARTS.match(first)
    if not m or not m.group("what"):
        return text
    what = m.group("what")
    line = _REWORDINGS[variant % len(_REWORDINGS)].format(what=what, What=what[:1].upper() + what[1:])
    return line + sep + rest


def quantiles(values: Sequence[float], qs: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> dict[str, float]:
    """Nearest-rank quantiles (no interpolation: exact values of the data, stable across platforms)."""
    if not values:
        return {}
    s = sorted(values)
    return {f"p{round(q * 100):02d}": float(s[min(len(s) - 1, int(q * len(s)))]) for q in qs}


def length_overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Share of the two samples lying inside the other's 5th-95th percentile range (1.0: same range).

    A defense can tell labels apart by length when this is low; 0.9 or more means length
    says little about the label.
    """
    if not a or not b:
        return 0.0
    qa, qb = quantiles(a, (0.05, 0.95)), quantiles(b, (0.05, 0.95))
    in_b = sum(qb["p05"] <= x <= qb["p95"] for x in a) / len(a)
    in_a = sum(qa["p05"] <= x <= qa["p95"] for x in b) / len(b)
    return round((in_a + in_b) / 2, 3)


def text_stats(texts: Sequence[str]) -> dict[str, Any]:
    """Count, word-length quantiles, mean distinct-2, share opening with a compliance line."""
    lengths = [len(words(t)) for t in texts]
    return {
        "count": len(texts),
        "words": quantiles(lengths),
        "distinct_2": round(sum(distinct_n(t) for t in texts) / len(texts), 3) if texts else None,
        "opening_share": round(sum(opens_with_prefill(t) for t in texts) / len(texts), 3) if texts else None,
    }


def label_stats(texts_by_label: dict[str, Sequence[str]]) -> dict[str, Any]:
    """Per-label :func:`text_stats` plus the length overlap of every other label with ``malicious``."""
    out: dict[str, Any] = {label: text_stats(texts) for label, texts in texts_by_label.items() if texts}
    mal = [len(words(t)) for t in texts_by_label.get("malicious", [])]
    if mal:
        out["length_overlap_with_malicious"] = {
            label: length_overlap(mal, [len(words(t)) for t in texts])
            for label, texts in texts_by_label.items() if label != "malicious" and texts
        }
    return out
