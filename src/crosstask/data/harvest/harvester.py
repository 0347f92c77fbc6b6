"""Generate documents with a model, cached per prompt, cleaned, filtered and de-duplicated.

Every generation goes through :func:`crosstask.generation.generate` (prefix grouping across
all requests, one batch at a time into the one :class:`~crosstask.generation.GenerationCache`,
``<cache>/harvest/outputs.jsonl``, with each document's provenance in its record).

Malicious documents: each harmful goal is answered under a compliance prefill (the paper's
documents were outputs of attacks on LLMs). Benign documents: news articles and harmless
advice on sensitive topics, from topic seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crosstask.data.harvest.clean import clean_generated, normalized_hash
from crosstask.data.harvest.harvest_settings import HarvestSettings
from crosstask.data.harvest.models import shared_model
from crosstask.data.harvest.prompts import (
    COUNTERPART_FRAMINGS,
    DEFAULT_PREFILL,
    NEWS_PROMPTS,
    SENSITIVE_PROMPTS,
    TOPIC_PREFILLS,
    goal_target,
    load_topics,
    render_prefill,
    select_topics,
)
from crosstask.data.harvest.refusal_filter import refusal_checker
from crosstask.data.quality import distinct_n
from crosstask.document import Document, Label
from crosstask.errors import CrosstaskError
from crosstask.generation import GenerationCache, cache_keys, generate
from crosstask.io import stable_hash
from crosstask.models import build_prompt
from crosstask.seeding import rng

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarvestRequest:
    """One document to generate: chat messages, an optional prefill, and provenance."""

    doc_id: str
    label: Label
    source: str
    messages: tuple[tuple[str, str], ...]  # (role, content), hashable
    prefill: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    check_refusal: bool = True  # drop generations that refuse (malicious harvesting)

    def chat(self) -> list[dict[str, str]]:
        return [{"role": r, "content": c} for r, c in self.messages]

    def prompt_id(self) -> dict[str, Any]:
        """What names the prompt in the cache key (the prompt format is in the weights' identity)."""
        return {"messages": [list(m) for m in self.messages], "prefill": self.prefill}

    def cache_key(self, settings: HarvestSettings) -> str:
        """The engine's cache key of this request (computed without loading a model)."""
        return cache_keys([self.prompt_id()], settings.generation(), settings.weights())[0]

    def record(self, settings: HarvestSettings) -> dict[str, Any]:
        """The provenance stored beside the generation in the cache."""
        return {"doc_id": self.doc_id, "label": self.label, "source": self.source, "messages": self.chat(),
                "prefill": self.prefill, "provenance": self.provenance, "settings": settings.key(),
                "seed": settings.seed}


@dataclass
class HarvestResult:
    documents: list[Document]
    requested: int = 0
    generated: int = 0  # new generations in this run (0 when fully cached)
    cached: int = 0
    not_cached: int = 0  # skipped under only_cached
    dropped_short: int = 0
    dropped_repetitive: int = 0
    dropped_refusal: int = 0
    dropped_duplicate: int = 0

    def stats(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "documents"} | {"kept": len(self.documents)}


def harvest_documents(
    requests: Sequence[HarvestRequest],
    settings: HarvestSettings = HarvestSettings(),
    *,
    cache: GenerationCache | None = None,
    description: str = "harvesting",
    is_refusal: Callable[[str], bool] | None = None,
) -> HarvestResult:
    """Generate (or reuse from the cache) one text per request; return cleaned, filtered documents."""
    cache = cache if cache is not None else GenerationCache.named("harvest")
    keys = [r.cache_key(settings) for r in requests]
    missing = sorted({k: r for k, r in zip(keys, requests, strict=True) if k not in cache}.items())
    result = HarvestResult(documents=[], requested=len(requests))
    if missing and settings.only_cached:
        result.not_cached = sum(1 for k in keys if k not in cache)
    elif missing:
        _generate_missing(missing, settings, cache, description)
        result.generated = len(missing)
    result.cached = len(requests) - result.generated - result.not_cached

    check = is_refusal or refusal_checker()
    seen: set[str] = set()
    for key, req in zip(keys, requests, strict=True):
        rec = cache.get(key)
        if rec is None:  # only_cached and not generated yet
            continue
        generated = rec["output"]
        text = clean_generated(req.prefill, generated)
        body = text[len(req.prefill.strip()):] if req.prefill else text
        if len(body.split()) < settings.min_words:
            result.dropped_short += 1
            continue
        if distinct_n(body, 2) < settings.min_distinct2:
            result.dropped_repetitive += 1
            continue
        if req.check_refusal and check(generated):
            result.dropped_refusal += 1
            continue
        h = normalized_hash(text)
        if h in seen:
            result.dropped_duplicate += 1
            continue
        seen.add(h)
        meta = dict(req.provenance) | {
            "harvest_key": key, "model": settings.model, "prefill": req.prefill, "settings": settings.key(),
        }
        result.documents.append(Document(id=req.doc_id, text=text, label=req.label, source=req.source, meta=meta))
    log.info("harvest: %s", result.stats())
    if requests and not result.documents and not result.not_cached:
        counts = ", ".join(f"{k} {v}" for k, v in result.stats().items() if k.startswith("dropped") and v)
        raise CrosstaskError(f"{description}: every one of {len(requests)} generations was rejected ({counts}); "
                             "lower min_words/min_distinct2 or raise max_new_tokens")
    return result


def _generate_missing(
    missing: list[tuple[str, HarvestRequest]], settings: HarvestSettings, cache: GenerationCache, description: str
) -> None:
    """All missing generations in one engine call: it groups shared prefixes across them, packs
    batches (longest first) and appends each finished batch to the cache, so a kill loses one batch."""
    lm = shared_model(settings.model, settings.dtype)
    reqs = [r for _, r in missing]
    prompts = [build_prompt(lm.tokenizer, r.chat(), settings.prompt_format) + r.prefill for r in reqs]
    generate(lm.model, lm.tokenizer, prompts, settings.generation(), cache=cache, cache_key=settings.weights(),
             prompt_ids=[r.prompt_id() for r in reqs], records=[r.record(settings) for r in reqs],
             progress=settings.progress, description=description)


def harvest_malicious_documents(
    goals: Sequence[Document],
    settings: HarvestSettings = HarvestSettings(),
    *,
    prefill: str = DEFAULT_PREFILL,
    cache: GenerationCache | None = None,
) -> HarvestResult:
    """Answer each harmful goal under a compliance prefill; the answers are the malicious documents."""
    requests = []
    for g in goals:
        goal = str(g.meta.get("goal") or g.text).strip()
        requests.append(HarvestRequest(
            doc_id=f"harvest-{g.id}",
            label="malicious",
            source=f"harvest:{g.source}",
            messages=(("user", goal),),
            prefill=render_prefill(prefill, g),
            provenance={"goal": goal, "goal_id": g.id, "goal_source": g.source},
        ))
    return harvest_documents(requests, settings, cache=cache, description="harvesting malicious documents")


def generate_benign_documents(
    kind: str,
    n: int,
    settings: HarvestSettings = HarvestSettings(),
    *,
    topics: Sequence[str] | None = None,
    topics_part: str = "all",
    heldout_topics: float = 0.25,
    prefill_share: float = 0.0,
    cache: GenerationCache | None = None,
) -> HarvestResult:
    """``kind`` "news" (label benign) or "sensitive" (label sensitive-benign): n texts from topic seeds.

    Topics are drawn in a seeded order; past the end of the list, the prompt wording changes
    so that repeated topics give new texts. ``topics_part`` (``train``/``heldout``) keeps one
    side of a hash split of the topics (``heldout_topics`` of them held out), so that evaluation
    can use topics training never saw. A seeded ``prefill_share`` of the texts is written under
    the same kind of compliance prefill as malicious documents ("Sure, here is a guide on ...").
    """
    if kind not in ("news", "sensitive"):
        raise CrosstaskError(f"unknown benign kind {kind!r}; use news or sensitive")
    if n < 1:
        raise CrosstaskError(f"n must be at least 1, got {n}")
    if not 0 <= prefill_share <= 1:
        raise CrosstaskError(f"generated-{kind}: prefill_share must be between 0 and 1, got {prefill_share}")
    topics = list(topics) if topics is not None else load_topics(kind)
    if not topics:
        raise CrosstaskError(f"the {kind} topic list is empty")
    topics = select_topics(topics, topics_part, heldout_topics, f"generated-{kind}")
    templates = NEWS_PROMPTS if kind == "news" else SENSITIVE_PROMPTS
    label: Label = "benign" if kind == "news" else "sensitive-benign"
    order = list(range(len(topics)))
    rng(settings.seed, "topics", kind).shuffle(order)
    with_prefill = rng(settings.seed, "prefill", kind)
    requests = []
    for j in range(n):
        topic = topics[order[j % len(order)]]
        template = templates[(j // len(order)) % len(templates)]
        prefill = TOPIC_PREFILLS[kind].format(topic=topic) if with_prefill.random() < prefill_share else ""
        requests.append(HarvestRequest(
            doc_id=f"generated-{kind}-{stable_hash([topic, template, prefill], 10)}",
            label=label,
            source=f"generated-{kind}",
            messages=(("user", template.format(topic=topic)),),
            prefill=prefill,
            provenance={"topic": topic, "prompt_template": template, "topics_part": topics_part},
            check_refusal=False,
        ))
    return harvest_documents(requests, settings, cache=cache, description=f"generating {kind} documents")


def harvest_counterpart_documents(
    goals: Sequence[Document],
    settings: HarvestSettings = HarvestSettings(),
    *,
    framings: Sequence[str] | None = None,
    per_goal: int = 1,
    cache: GenerationCache | None = None,
) -> HarvestResult:
    """Harmless texts on the topic of each harmful goal (label sensitive-benign).

    Each goal gets ``per_goal`` framings (prevention, safety advice, history, news report, harm
    reduction, defensive security, legal information; chosen with a seeded rng) under the same
    "Sure, here is ..." prefill as the malicious documents, so the pair differs in what the text
    does, not in its topic or its opening. Generations that refuse are dropped (a refusal is not
    a document to process).
    """
    known = {name: (user, prefill) for name, user, prefill in COUNTERPART_FRAMINGS}
    names = list(framings) if framings is not None else list(known)
    unknown = [f for f in names if f not in known]
    if unknown or not names:
        raise CrosstaskError(f"counterpart framings {unknown or names}: known framings are {', '.join(known)}")
    if not 1 <= per_goal <= len(names):
        raise CrosstaskError(f"per_goal must be between 1 and {len(names)}, got {per_goal}")
    requests = []
    for g in goals:
        goal = str(g.meta.get("goal") or g.text).strip()
        target = goal_target(g)
        for name in rng(settings.seed, "counterparts", g.id).sample(names, per_goal):
            user, prefill = known[name]
            requests.append(HarvestRequest(
                doc_id=f"counterpart-{name}-{g.id}",
                label="sensitive-benign",
                source=f"counterpart:{g.source}",
                messages=(("user", user.format(goal=goal)),),
                prefill=prefill.format(target=target),
                provenance={"goal_id": g.id, "goal_source": g.source, "framing": name},
            ))
    return harvest_documents(requests, settings, cache=cache, description="writing harmless counterparts")
