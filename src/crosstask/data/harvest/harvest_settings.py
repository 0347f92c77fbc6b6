"""How documents are harvested: the generator and its decoding, and the filters (a typed config;
``crosstask data harvest`` derives its options from it)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from crosstask.errors import CrosstaskError
from crosstask.fields import config_field
from crosstask.generation.settings import GenerationSettings
from crosstask.models.names import EMBEDDED_MODEL


def _dtype_name(dtype: str) -> str:
    from crosstask.models import resolve_dtype_name

    return resolve_dtype_name(dtype)


@dataclass(frozen=True)
class HarvestSettings:
    """How documents are generated. ``temperature == 0`` means greedy decoding."""

    model: str = config_field(EMBEDDED_MODEL, help="Generator model: name, folder or hub id.")
    max_new_tokens: int = config_field(192, help="Tokens generated per document.")
    batch_size: int = config_field(16, help="Prompts per generation batch.")
    seed: int = config_field(0, help="Sampling seed and topic order.")
    temperature: float = config_field(0.0, help="0 = greedy; above 0 samples with the seed.")
    top_p: float = config_field(1.0, help="Nucleus sampling share (with temperature > 0).")
    dtype: str = config_field("auto", help="dtype of the generator (auto: bf16 only where it is fast).")
    prompt_format: str = config_field("chat", help="Prompt format: chat (the tokenizer's template), alpaca or llama2.")
    repetition_penalty: float = config_field(1.2, help=(
        "Penalty on tokens already generated (> 1): the 135M generator otherwise degenerates into list loops."))
    min_words: int = config_field(20, help="Drop generations shorter than this many words.")
    min_distinct2: float = config_field(0.5, help="Drop generations that repeat themselves more (distinct-2 below).")
    progress: bool = config_field(True, help="Show a progress bar.")
    only_cached: bool = config_field(False, help=(
        "Use only generations already cached (never load a model): missing ones are counted, not made."))

    @classmethod
    def from_mapping(cls, d: dict[str, Any], where: str = "harvest settings") -> HarvestSettings:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CrosstaskError(f"{where}: unknown harvest setting(s) {', '.join(unknown)}; known: "
                                 f"{', '.join(sorted(known))}")
        return cls(**d)

    def generation(self) -> GenerationSettings:
        return GenerationSettings(
            max_new_tokens=self.max_new_tokens,
            do_sample=self.temperature > 0,
            temperature=self.temperature if self.temperature > 0 else 1.0,
            top_p=self.top_p,
            seed=self.seed,
            batch_size=self.batch_size,
            repetition_penalty=self.repetition_penalty,
        )

    def weights(self) -> dict[str, Any]:
        """The generator's identity in the cache key: model, load dtype and prompt format."""
        return {"model": self.model, "dtype": _dtype_name(self.dtype), "prompt_format": self.prompt_format}

    def key(self) -> dict[str, Any]:
        """Everything that changes a generation (not batch size, progress or the filters), as the
        documents' ``meta.settings`` and cache records show it (the cache key itself is the engine's:
        :meth:`HarvestRequest.cache_key`)."""
        return {"model": self.model, "dtype": _dtype_name(self.dtype), "prompt_format": self.prompt_format,
                "max_new_tokens": self.max_new_tokens, "do_sample": self.temperature > 0,
                "temperature": self.temperature if self.temperature > 0 else 1.0, "top_p": self.top_p,
                "seed": self.seed} | (
                    {"repetition_penalty": self.repetition_penalty} if self.repetition_penalty != 1.0 else {})
