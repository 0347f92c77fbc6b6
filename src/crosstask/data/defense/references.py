"""Reference answers for utility-preserving examples.

Deterministic where the task defines one (``task.prepare(doc).reference``: case -> original
text, cloze -> real next sentence, a given label or reference); otherwise self-distilled: the
base model's own greedy answer, cached under ``cache_subdir("references")`` keyed by
model + prompt + settings, so a rebuild is instant and identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crosstask.data.harvest.cache import ProvenanceCache
from crosstask.data.harvest.clean import clean_generated
from crosstask.data.harvest.models import shared_model
from crosstask.generation import GenerationSettings, generate
from crosstask.io import stable_hash
from crosstask.models import build_prompt, resolve_dtype_name
from crosstask.progress import progress_bar

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

    def key(self, messages: Messages) -> str:
        return stable_hash({"model": self.model, "dtype": resolve_dtype_name(self.dtype), "fmt": self.prompt_format,
                            "messages": messages, "max_new_tokens": self.max_new_tokens, "decoding": "greedy"})

    def answers(self, prompts: Sequence[Messages]) -> list[str]:
        """The model's cleaned answer to each prompt ("" when it produced nothing usable)."""
        cache = ProvenanceCache.named("references")
        keys = [self.key(m) for m in prompts]
        missing = {k: m for k, m in zip(keys, prompts, strict=True) if k not in cache}
        if missing:
            lm = shared_model(self.model, self.dtype)
            items = sorted(missing.items(), key=lambda kv: -len(str(kv[1])))
            with progress_bar(enabled=self.progress) as progress:
                bar = progress.add_task("self-distilling references", total=len(items))
                for start in range(0, len(items), self.batch_size):
                    chunk = items[start : start + self.batch_size]
                    texts = [build_prompt(lm.tokenizer, m, self.prompt_format) for _, m in chunk]
                    outs = generate(lm.model, lm.tokenizer, texts, self.settings())
                    for (k, m), out in zip(chunk, outs, strict=True):
                        cache.put({"key": k, "generation": out, "model": self.model, "messages": m})
                    progress.advance(bar, len(chunk))
        return [clean_generated("", cache.get(k)["generation"]) for k in keys]  # type: ignore[index]
