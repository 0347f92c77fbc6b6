"""Harmless placeholder documents whose token lengths follow real evaluation sets (for eval_throughput.py).

A released cross-task evaluation set has malicious documents of ~300 tokens, news articles of ~800 tokens
(up to ~2,000) and harmless answers of ~200 tokens. The profile here: 150-2,000 tokens, a third of the
documents 600-2,000 and the rest 150-600 (uniform within each range, shuffled, deterministic for a seed).
Every text is benign local news written from templates; none is harmful. ``--documents FILE`` reads texts
instead (one JSON string or ``{"text": ...}`` per line) and keeps their own lengths.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SHORT, LONG = (150, 600), (600, 2000)

TOWNS = ["Ashford", "Brookvale", "Cedar Falls", "Dunmore", "Elmstead", "Fairhaven", "Glenwood", "Harrowgate",
         "Kingsbridge", "Lowmoor", "Millbrook", "Northam"]
TOPICS = [
    ("library", "the new public library", "readers", "books and study rooms"),
    ("market", "the weekly farmers market", "shoppers", "fresh vegetables, bread and honey"),
    ("bridge", "the repaired river bridge", "commuters", "a wider cycle lane and new lighting"),
    ("school", "the primary school's science fair", "pupils", "models of volcanoes and solar cars"),
    ("park", "the restored city park", "families", "a playground, a pond and shaded benches"),
    ("orchestra", "the youth orchestra's spring concert", "listeners", "pieces by Mozart and Dvorak"),
    ("bakery", "a family bakery's fiftieth anniversary", "customers", "free pastries and a baking class"),
    ("marathon", "the annual charity marathon", "runners", "a route along the old canal"),
    ("museum", "the museum's new local history wing", "visitors", "old maps, tools and photographs"),
    ("garden", "the community garden's harvest day", "neighbours", "pumpkins, apples and herb cuttings"),
]
SENTENCES = [
    "Officials in {town} said on {day} that {what} had drawn more {who} than expected.",
    "Organisers counted about {n} visitors during the first weekend, up from {m} last year.",
    "Local volunteers spent several months preparing {what}, which now offers {offer}.",
    "The mayor of {town} thanked the staff and said the project was finished on budget.",
    "Several residents told reporters that they enjoyed {offer} and planned to return soon.",
    "A spokesperson explained that the cost of {n} thousand pounds was shared by the council and donors.",
    "Weather forecasters expect mild temperatures, which should help attendance in the coming weeks.",
    "Shops near the site reported busier afternoons, and a cafe extended its opening hours.",
    "The council plans to publish a short report on the {topic} later this year.",
    "Next spring, organisers hope to add guided tours and activities for older residents.",
    "Public transport will run extra buses on {day}s to reduce traffic near the {topic}.",
    "Photos shared online showed {who} smiling beside colourful banners and flower beds.",
    "A teacher from {town} said the {topic} had become a favourite place for school trips.",
    "Volunteers still need help on {day} mornings, and anyone interested can sign up at the town hall.",
    "The local newspaper will print a special page about the {topic} in its weekend edition.",
    "Some {who} asked for more benches and a covered area in case of rain.",
    "According to the organisers, about {m} people volunteered at least once during the year.",
    "A small exhibition explains how {what} was planned, built and paid for.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def target_lengths(n: int, seed: int = 0) -> list[int]:
    """Token lengths of ``n`` documents: a third in 600-2,000, the rest in 150-600, shuffled."""
    rnd = random.Random(seed)
    n_long = round(n / 3)
    lengths = [rnd.randint(*LONG) for _ in range(n_long)] + [rnd.randint(SHORT[0], SHORT[1] - 1)
                                                             for _ in range(n - n_long)]
    rnd.shuffle(lengths)
    return lengths


def _paragraph(rnd: random.Random, i: int) -> str:
    topic, what, who, offer = TOPICS[i % len(TOPICS)]
    fill = dict(town=rnd.choice(TOWNS), day=rnd.choice(DAYS), what=what, who=who, offer=offer, topic=topic,
                n=rnd.randint(200, 900), m=rnd.randint(100, 199))
    return " ".join(s.format(**fill) for s in rnd.sample(SENTENCES, 9))


def profile_documents(tokenizer, n: int, seed: int = 0) -> list[str]:
    """``n`` benign documents cut (at a word) to the profile's token lengths (within a few tokens)."""
    rnd = random.Random(seed + 1)
    docs = []
    for i, want in enumerate(target_lengths(n, seed)):
        paragraphs: list[str] = []
        while len(tokenizer("\n\n".join(paragraphs), add_special_tokens=False)["input_ids"]) < want:
            paragraphs.append(_paragraph(rnd, i + len(paragraphs)))
        words = "\n\n".join(paragraphs).split(" ")
        lo, hi = 1, len(words)  # the fewest words that reach the wanted length
        while lo < hi:
            mid = (lo + hi) // 2
            if len(tokenizer(" ".join(words[:mid]), add_special_tokens=False)["input_ids"]) >= want:
                hi = mid
            else:
                lo = mid + 1
        docs.append(" ".join(words[:lo]))
    return docs


def read_documents(path: str | Path) -> list[str]:
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            value = json.loads(line)
            out.append(value["text"] if isinstance(value, dict) else str(value))
    return out


def quantiles(values: list[int], qs: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)) -> dict[str, int]:
    ordered = sorted(values)
    return {f"p{int(q * 100)}": ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))] for q in qs}
