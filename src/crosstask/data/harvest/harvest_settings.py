"""How documents are harvested: the generator and its decoding, and the filters (a typed config;
``crosstask data harvest`` derives its options from it)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from crosstask.config_model import ConfigModel
from crosstask.generation.settings import GenerationSettings
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name


def _dtype_name(dtype: str) -> str:
    from crosstask.models import resolve_dtype_name

    return resolve_dtype_name(dtype)


class HarvestSettings(ConfigModel):
    """How documents are generated. ``temperature == 0`` means greedy decoding."""

    model_config = ConfigDict(frozen=True)
    config_name = "harvest setting"

    model: str = Field(EMBEDDED_MODEL, description="Generator model: name, folder or hub id.")
    max_new_tokens: int = Field(192, ge=1, description="Tokens generated per document.")
    batch_size: int = Field(16, ge=1, description="Prompts per generation batch.")
    seed: int = Field(0, ge=0, description="Sampling seed and topic order.")
    temperature: float = Field(0.0, ge=0, description="0 = greedy; above 0 samples with the seed.")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling share (with temperature > 0; 0 < top_p <= 1).")
    dtype: str = Field("auto", description="dtype of the generator (auto: bf16 only where it is fast).")
    prompt_format: str = Field(DEFAULT_PROMPT_FORMAT, description=(
        "Prompt format: chat (the tokenizer's template), alpaca or llama2."))
    repetition_penalty: float = Field(1.2, gt=0, description=(
        "Penalty on tokens already generated (> 1): the 135M generator otherwise degenerates into list loops."))
    min_words: int = Field(20, ge=0, description="Drop generations shorter than this many words.")
    min_distinct2: float = Field(0.5, ge=0, le=1, description="Drop generations that repeat themselves more (distinct-2 below).")
    progress: bool = Field(True, description="Show a progress bar.")
    only_cached: bool = Field(False, description=(
        "Use only generations already cached (never load a model): missing ones are counted, not made."))

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        return check_dtype_name(v)  # type: ignore[return-value]

    @field_validator("prompt_format")
    @classmethod
    def _prompt_format(cls, v: str) -> str:
        from crosstask.models.prompt_formats import PROMPT_FORMATS

        return PROMPT_FORMATS.check(v)

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
