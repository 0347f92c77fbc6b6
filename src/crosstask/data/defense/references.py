"""Reference answers for utility-preserving examples.

Deterministic where the task defines one (``task.prepare(doc).reference``: case -> original
text, cloze -> real next sentence, a given label or reference); otherwise self-distilled: the
base model's own greedy answer through the generation engine, in its one cache
(``<cache>/references/outputs.jsonl``, keyed by model, prompt, settings and engine version),
so a rebuild is instant and identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crosstask.data.harvest.clean import clean_generated
from crosstask.data.harvest.models import shared_model
from crosstask.generation import GenerationCache, GenerationSettings, cache_keys, generate
from crosstask.models import build_prompt, resolve_dtype_name

Messages = list[dict[str, str]]


@dataclass(frozen=True)
class SelfDistiller:
    model: str
    dtype: str = "auto"
    prompt_format: str = "chat"
    max_new_tokens: int = 128
    batch_size: int = 16
    progress: bool = True

    def settings(self) -> GenerationSettings:
        return GenerationSettings(max_new_tokens=self.max_new_tokens, do_sample=False, batch_size=self.batch_size)

    def weights(self) -> dict[str, Any]:
        return {"model": self.model, "dtype": resolve_dtype_name(self.dtype), "prompt_format": self.prompt_format}

    def key(self, messages: Messages) -> str:
        """The engine's cache key of one prompt (computed without loading the model)."""
        return cache_keys([{"messages": messages}], self.settings(), self.weights())[0]

    def answers(self, prompts: Sequence[Messages]) -> list[str]:
        """The model's cleaned answer to each prompt ("" when it produced nothing usable)."""
        cache = GenerationCache.named("references")
        keys = [self.key(m) for m in prompts]
        missing = list({k: m for k, m in zip(keys, prompts, strict=True) if k not in cache}.values())
        if missing:
            lm = shared_model(self.model, self.dtype)
            texts = [build_prompt(lm.tokenizer, m, self.prompt_format) for m in missing]
            generate(lm.model, lm.tokenizer, texts, self.settings(), cache=cache, cache_key=self.weights(),
                     prompt_ids=[{"messages": m} for m in missing],
                     records=[{"model": self.model, "messages": m} for m in missing],
                     progress=self.progress, description="self-distilling references")
        return [clean_generated("", cache.output(k)) for k in keys]  # type: ignore[arg-type]
