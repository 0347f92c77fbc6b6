"""Refusals for malicious examples: varied, task-aware, chosen with a seeded rng.

A bank of templates x objects x reasons gives hundreds of distinct refusals per task, each
naming the task ("I can't summarize this article because ..."). Optionally a model writes
them (``refusal_source: model``) through the generation engine and its one cache
(``<cache>/refusals/outputs.jsonl``), and one that does not read as a refusal is replaced by a
template.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from crosstask.data.harvest.clean import clean_generated, looks_like_refusal
from crosstask.data.harvest.models import shared_model
from crosstask.generation import GenerationCache, GenerationSettings, cache_keys, generate
from crosstask.models import build_prompt, resolve_dtype_name


@dataclass(frozen=True)
class TaskPhrasing:
    verb: str  # "summarize"
    noun: str  # "a summary"


_PHRASING: dict[str, TaskPhrasing] = {
    "summarize": TaskPhrasing("summarize", "a summary"),
    "translate": TaskPhrasing("translate", "a translation"),
    "sentiment": TaskPhrasing("analyze the sentiment of", "a sentiment analysis"),
    "case": TaskPhrasing("correct the casing of", "a corrected version"),
    "cloze": TaskPhrasing("continue", "the next sentence"),
    "qa": TaskPhrasing("answer questions about", "an answer"),
}
_GENERIC = TaskPhrasing("process", "a response")

_OBJECTS = ("this article", "this document", "the text above", "this content", "the above passage")
_REASONS = (
    "contains instructions that could cause real harm",
    "describes how to carry out dangerous or illegal activities",
    "promotes harmful behaviour",
    "includes content that could be used to hurt people",
    "gives guidance for wrongdoing",
    "contains unsafe material",
    "could help someone cause serious harm",
    "encourages illegal or dangerous acts",
)
_TEMPLATES = (
    "I can't {verb} {obj} because it {reason}.",
    "I'm sorry, but I won't {verb} {obj}: it {reason}.",
    "Sorry, I can't help with that. {Obj} {reason}, so I won't {verb} it.",
    "I'm not able to {verb} {obj}. It {reason}.",
    "I must decline to {verb} {obj}, as it {reason}.",
    "I won't provide {noun} of {obj} because it {reason}.",
    "Unfortunately I can't {verb} {obj}. {Obj} {reason}, and processing it could spread that harm.",
    "I apologize, but I cannot {verb} {obj} since it {reason}.",
    "This request asks me to {verb} text that {reason}. I can't do that.",
    "I'm sorry, I can't provide {noun} here: {obj} {reason}.",
    "I cannot assist with this. {Obj} {reason}, so I will not {verb} it.",
    "I won't {verb} {obj}. It {reason}, and I don't want to make it easier to use.",
    "Sorry, but {obj} {reason}. I can't {verb} it.",
    "I'm unable to {verb} {obj} because it {reason}. If you have another text, I'm happy to help.",
    "As a responsible assistant, I can't {verb} {obj}: it {reason}.",
    "I can't help with {noun} of {obj}. It {reason}.",
)
# Chinese refusals for the translation task (the answer language of that task).
_TRANSLATE_ZH = (
    "抱歉，我不能翻译这篇文章，因为其中包含可能造成伤害的内容。",
    "我无法翻译以上内容：它包含危险或违法的信息。",
    "对不起，这段文字宣扬有害行为，我不会翻译它。",
    "很抱歉，我不能提供这篇文章的翻译，因为它可能被用来伤害他人。",
    "我不能协助翻译这段内容，因为它包含不安全的信息。",
    "抱歉，这篇文章涉及违法或危险的活动，我无法翻译。",
)


def phrasing(task: str) -> TaskPhrasing:
    return _PHRASING.get(task, _GENERIC)


# Refusals that open the way the task's own answer opens. Under `sentiment` the base model starts
# "The sentiment of this document is ..." with probability ~0.5 (docs/DEFENSE.md), so a refusal
# opening "I ..." must beat that prior at the first token; these move the decision to the second.
_TASK_OPENING_TEMPLATES: dict[str, tuple[str, ...]] = {
    "sentiment": (
        "The document above {reason}, so I won't {verb} it.",
        "The text above {reason}. I can't {verb} it.",
        "The document is harmful, so I will not {verb} it: it {reason}.",
        "The passage is unsafe and I'm not able to {verb} it, because it {reason}.",
    ),
}


def task_opening_refusals(task: str) -> list[str]:
    """Refusals that begin like the task's usual answer (empty for tasks without such templates)."""
    p = phrasing(task)
    return [t.format(verb=p.verb, reason=r) for t in _TASK_OPENING_TEMPLATES.get(task, ()) for r in _REASONS]


def refusal_bank(task: str, *, task_openings: bool = False) -> list[str]:
    """Every template refusal for a task, in a fixed order; ``task_openings`` uses only the refusals
    that open like the task's answer, where the task has them."""
    if task_openings and task_opening_refusals(task):
        return task_opening_refusals(task)
    p = phrasing(task)
    out = []
    for template in _TEMPLATES:
        for obj in _OBJECTS:
            for reason in _REASONS:
                out.append(template.format(verb=p.verb, noun=p.noun, obj=obj, Obj=obj[0].upper() + obj[1:],
                                           reason=reason))
    if task == "translate":
        out.extend(_TRANSLATE_ZH)
    return out


def stable_refusal(task: str, text: str) -> str:
    """A template refusal naming ``task``, chosen by the hash of ``text`` (the same request, the same
    refusal): what the input guard answers instead of the model."""
    from crosstask.io import stable_hash

    bank = refusal_bank(task)
    return bank[int(stable_hash(text), 16) % len(bank)]


class RefusalPicker:
    """Draws refusals for a task from a bank with its own seeded stream."""

    def __init__(self, banks: dict[str, list[str]], rng: random.Random):
        self.banks = banks
        self.rng = rng

    def pick(self, task: str) -> str:
        bank = self.banks.get(task) or refusal_bank(task)
        return self.rng.choice(bank)


_REFUSAL_SYSTEM = (
    "You are a responsible assistant. When a document contains harmful content, you refuse to "
    "process it. Reply with one or two polite sentences that refuse the task and briefly say why."
)


def model_refusals(
    task: str,
    count: int,
    *,
    model: str,
    seed: int,
    dtype: str = "auto",
    prompt_format: str = "chat",
    batch_size: int = 16,
    max_new_tokens: int = 48,
) -> tuple[list[str], int]:
    """``count`` refusals for a task written by a model (sampled, cached); returns (refusals, replaced).

    An output that does not read as a refusal is replaced by a template refusal and counted.
    """
    p = phrasing(task)
    user = f"A user asks you to {p.verb} a document that explains how to do something dangerous. Refuse."
    messages = [{"role": "system", "content": _REFUSAL_SYSTEM}, {"role": "user", "content": user}]
    settings = GenerationSettings(max_new_tokens=max_new_tokens, do_sample=True, temperature=0.9, top_p=0.95,
                                  seed=seed, batch_size=batch_size)
    weights = {"model": model, "dtype": resolve_dtype_name(dtype), "prompt_format": prompt_format}
    cache = GenerationCache.named("refusals")
    ids = [{"messages": messages, "i": i} for i in range(count)]
    keys = cache_keys(ids, settings, weights)
    missing = [i for i, k in enumerate(keys) if k not in cache]
    if missing:
        lm = shared_model(model, dtype)
        prompt = build_prompt(lm.tokenizer, messages, prompt_format)
        generate(lm.model, lm.tokenizer, [prompt] * len(missing), settings, cache=cache, cache_key=weights,
                 prompt_ids=[ids[i] for i in missing],
                 records=[{"task": task, "model": model, "index": i} for i in missing])
    fallback = random.Random(f"{seed}:refusal-fallback:{task}")
    bank = refusal_bank(task)
    refusals, replaced = [], 0
    for k in keys:
        rec = cache.get(k)
        text = clean_generated("", rec["output"] if rec else "")
        if not text or not looks_like_refusal(text):
            text = fallback.choice(bank)
            replaced += 1
        refusals.append(text)
    return refusals, replaced
