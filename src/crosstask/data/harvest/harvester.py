"""Generate documents with a model, cached per prompt, cleaned, filtered and de-duplicated.

Malicious documents: each harmful goal is answered under a compliance prefill (the paper's
documents were outputs of attacks on LLMs). Benign documents: news articles and harmless
advice on sensitive topics, from topic seeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from crosstask.data.document import Document, Label
from crosstask.data.harvest.cache import ProvenanceCache
from crosstask.data.harvest.clean import clean_generated, normalized_hash
from crosstask.data.harvest.models import shared_model
from crosstask.data.harvest.prompts import (
    DEFAULT_PREFILL,
    NEWS_PROMPTS,
    SENSITIVE_PROMPTS,
    load_topics,
    render_prefill,
)
from crosstask.data.harvest.refusal import refusal_checker
from crosstask.errors import CrosstaskError
from crosstask.generation import GenerationSettings, generate
from crosstask.io import stable_hash
from crosstask.models import EMBEDDED_MODEL, build_prompt, resolve_dtype_name
from crosstask.progress import progress_bar
from crosstask.seeding import rng

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HarvestSettings:
    """How documents are generated. ``temperature == 0`` means greedy decoding."""

    model: str = EMBEDDED_MODEL
    max_new_tokens: int = 192
    batch_size: int = 16
    seed: int = 0
    temperature: float = 0.0
    top_p: float = 1.0
    dtype: str = "auto"  # bf16 only where it is fast (see models.loader.bf16_is_fast)
    prompt_format: str = "chat"
    min_words: int = 20  # shorter generations are dropped
    progress: bool = True
    # Use only generations already cached (never load a model): rebuild from a copied cache, or
    # stop an expensive harvest early and keep what is done. Missing ones are counted, not made.
    only_cached: bool = False

    def generation(self) -> GenerationSettings:
        return GenerationSettings(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.temperature > 0,
            temperature=self.temperature if self.temperature > 0 else 1.0,
            top_p=self.top_p,
            seed=self.seed,
            batch_size=self.batch_size,
        )

    def key(self) -> dict[str, Any]:
        """Everything that changes a generation (not batch size, progress or the filters).

        Spelled out here rather than taken from GenerationSettings.key(), so that cached
        harvests stay valid when the engine's own cache key changes.
        """
        return {"model": self.model, "dtype": resolve_dtype_name(self.dtype), "prompt_format": self.prompt_format,
                "max_new_tokens": self.max_new_tokens, "do_sample": self.temperature > 0,
                "temperature": self.temperature if self.temperature > 0 else 1.0, "top_p": self.top_p,
                "seed": self.seed}


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

    def cache_key(self, settings: HarvestSettings) -> str:
        return stable_hash({"messages": self.messages, "prefill": self.prefill, "settings": settings.key()})


@dataclass
class HarvestResult:
    documents: list[Document]
    requested: int = 0
    generated: int = 0  # new generations in this run (0 when fully cached)
    cached: int = 0
    not_cached: int = 0  # skipped under only_cached
    dropped_short: int = 0
    dropped_refusal: int = 0
    dropped_duplicate: int = 0

    def stats(self) -> dict[str, int]:
        return {k: v for k, v in self.__dict__.items() if k != "documents"} | {"kept": len(self.documents)}


def harvest_documents(
    requests: Sequence[HarvestRequest],
    settings: HarvestSettings = HarvestSettings(),
    *,
    cache: ProvenanceCache | None = None,
    description: str = "harvesting",
    is_refusal: Callable[[str], bool] | None = None,
) -> HarvestResult:
    """Generate (or reuse from the cache) one text per request; return cleaned, filtered documents."""
    cache = cache if cache is not None else ProvenanceCache.named("harvest")
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
        generated = rec["generation"]
        text = clean_generated(req.prefill, generated)
        body = text[len(req.prefill.strip()):] if req.prefill else text
        if len(body.split()) < settings.min_words:
            result.dropped_short += 1
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
    return result


def _generate_missing(
    missing: list[tuple[str, HarvestRequest]], settings: HarvestSettings, cache: ProvenanceCache, description: str
) -> None:
    lm = shared_model(settings.model, settings.dtype)
    prompts = [build_prompt(lm.tokenizer, r.chat(), settings.prompt_format) + r.prefill for _, r in missing]
    # Sort by length so that each batch pads little; cache after every batch so a kill loses one batch.
    order = sorted(range(len(missing)), key=lambda i: len(prompts[i]), reverse=True)
    gen = settings.generation()
    with progress_bar(enabled=settings.progress) as progress:
        bar = progress.add_task(description, total=len(order))
        for start in range(0, len(order), settings.batch_size):
            idx = order[start : start + settings.batch_size]
            outs = generate(lm.model, lm.tokenizer, [prompts[i] for i in idx], gen)
            for i, out in zip(idx, outs, strict=True):
                key, req = missing[i]
                cache.put({
                    "key": key, "generation": out, "doc_id": req.doc_id, "label": req.label, "source": req.source,
                    "messages": req.chat(), "prefill": req.prefill, "provenance": req.provenance,
                    "settings": settings.key(), "seed": settings.seed,
                })
            progress.advance(bar, len(idx))


def harvest_malicious_documents(
    goals: Sequence[Document],
    settings: HarvestSettings = HarvestSettings(),
    *,
    prefill: str = DEFAULT_PREFILL,
    cache: ProvenanceCache | None = None,
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
    cache: ProvenanceCache | None = None,
) -> HarvestResult:
    """``kind`` "news" (label benign) or "sensitive" (label sensitive-benign): n texts from topic seeds.

    Topics are drawn in a seeded order; past the end of the list, the prompt wording changes
    so that repeated topics give new texts.
    """
    if kind not in ("news", "sensitive"):
        raise CrosstaskError(f"unknown benign kind {kind!r}; use news or sensitive")
    if n < 1:
        raise CrosstaskError(f"n must be at least 1, got {n}")
    topics = list(topics) if topics is not None else load_topics(kind)
    if not topics:
        raise CrosstaskError(f"the {kind} topic list is empty")
    templates = NEWS_PROMPTS if kind == "news" else SENSITIVE_PROMPTS
    label: Label = "benign" if kind == "news" else "sensitive-benign"
    order = list(range(len(topics)))
    rng(settings.seed, "topics", kind).shuffle(order)
    requests = []
    for j in range(n):
        topic = topics[order[j % len(order)]]
        template = templates[(j // len(order)) % len(templates)]
        requests.append(HarvestRequest(
            doc_id=f"generated-{kind}-{stable_hash([topic, template], 10)}",
            label=label,
            source=f"generated-{kind}",
            messages=(("user", template.format(topic=topic)),),
            provenance={"topic": topic, "prompt_template": template},
            check_refusal=False,
        ))
    return harvest_documents(requests, settings, cache=cache, description=f"generating {kind} documents")
