"""Task-quality metrics, keyed by the names tasks give in ``Task.metric``.

Each metric scores one output against one reference and returns named scores in [0, 1];
the first is the headline. Chinese text is scored on characters: rouge-score's default
tokenizer drops non-ASCII text, so CJK is split into characters before ROUGE, and chrF
(sacrebleu) already works on characters.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from functools import lru_cache

from crosstask.registry import Registry

Metric = Callable[[str, str], dict[str, float]]
METRICS: Registry[Metric] = Registry("metric")

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def register_metric(name: str) -> Callable[[Metric], Metric]:
    """A decorator registering a metric under ``name`` (replacing any earlier one)."""
    return METRICS.register(name, overwrite=True)


def get_metric(name: str) -> Metric:
    return METRICS.get(name)


def list_metrics() -> list[str]:
    return METRICS.names(sort=True)


class _CjkAwareTokenizer:
    """Words for Latin text, single characters for CJK (rouge-score drops non-ASCII)."""

    _TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")

    def tokenize(self, text: str) -> list[str]:
        return self._TOKEN.findall(text.lower())


@lru_cache(maxsize=2)
def _rouge_scorer(cjk: bool):
    from rouge_score import rouge_scorer

    if cjk:
        return rouge_scorer.RougeScorer(["rougeL"], tokenizer=_CjkAwareTokenizer())
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


@register_metric("rouge_l")
def rouge_l(output: str, reference: str) -> dict[str, float]:
    cjk = bool(_CJK.search(output) or _CJK.search(reference))
    return {"rouge_l": float(_rouge_scorer(cjk).score(reference, output)["rougeL"].fmeasure)}


@lru_cache(maxsize=1)
def _chrf():
    from sacrebleu.metrics import CHRF

    return CHRF()


@register_metric("chrf_zh")
def chrf_zh(output: str, reference: str) -> dict[str, float]:
    """chrF (character n-gram F-score) in [0, 1]; whitespace-insensitive, so fine for Chinese."""
    return {"chrf": float(_chrf().sentence_score(output.strip(), [reference.strip()]).score) / 100.0}


@register_metric("case_match")
def case_match(output: str, reference: str) -> dict[str, float]:
    """Exact match of the re-cased text, and character accuracy (difflib ratio, case-sensitive)."""
    out, ref = output.strip(), reference.strip()
    return {
        "exact_match": float(out == ref),
        "char_accuracy": difflib.SequenceMatcher(None, out, ref, autojunk=False).ratio(),
    }


_SENTIMENTS: dict[str, tuple[str, ...]] = {
    "positive": ("positive", "optimistic", "upbeat", "favorable", "favourable", "happy", "hopeful", "joyful"),
    "negative": ("negative", "pessimistic", "critical", "unfavorable", "unfavourable", "sad", "angry", "hostile",
                 "somber", "grim"),
    "neutral": ("neutral", "objective", "factual", "informative", "balanced", "impartial"),
}


def sentiment_label(output: str) -> str | None:
    """The first sentiment word the answer names (free-form answers, as in the paper)."""
    text = output.lower()
    best: tuple[int, str] | None = None
    for label, words in _SENTIMENTS.items():
        for w in words:
            m = re.search(rf"\b{w}\b", text)
            if m and (best is None or m.start() < best[0]):
                best = (m.start(), label)
    return best[1] if best else None


@register_metric("sentiment_accuracy")
def sentiment_accuracy(output: str, reference: str) -> dict[str, float]:
    ref = reference.strip().lower()
    ref = next((k for k, ws in _SENTIMENTS.items() if ref == k or ref in ws), ref)
    return {"accuracy": float(sentiment_label(output) == ref)}
