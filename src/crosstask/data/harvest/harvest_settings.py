"""How documents are harvested: the generator and its decoding, and the filters (a typed config;
``crosstask data harvest`` derives its options from it)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator

from crosstask.config_model import ConfigModel
from crosstask.generation.settings import GenerationSettings
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name
from crosstask.models.prompt_formats import PromptFormatName


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
    prompt_format: PromptFormatName = Field(DEFAULT_PROMPT_FORMAT, description=(
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


# The options each generating source kind takes besides the HarvestSettings fields.
_BENIGN_OPTIONS = frozenset({"n", "topics", "topics_file", "topics_part", "heldout_topics", "prefill_share"})
SOURCE_EXTRA_OPTIONS: dict[str, frozenset[str]] = {
    "harvest": frozenset({"goals", "prefill", "opening"}),
    "harvest-counterparts": frozenset({"goals", "framings", "per_goal"}),
    "generated-news": _BENIGN_OPTIONS,
    "generated-sensitive": _BENIGN_OPTIONS,
}


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_share(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1


_EXTRA_CHECKS: dict[str, tuple[Any, str]] = {
    "n": (lambda v: _is_int(v) and v >= 1, "expected a whole number >= 1"),
    "per_goal": (lambda v: _is_int(v) and v >= 1, "expected a whole number >= 1"),
    "prefill_share": (_is_share, "expected a number between 0 and 1"),
    "heldout_topics": (_is_share, "expected a number between 0 and 1"),
    "topics_part": (lambda v: v in ("all", "train", "heldout"), "expected all, train or heldout"),
    "opening": (lambda v: v in ("keep", "remove"), "expected keep or remove"),
    "prefill": (lambda v: isinstance(v, str), "expected a string"),
    "topics_file": (lambda v: isinstance(v, str) and v != "", "expected a file name"),
    "topics": (lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v), "expected a list of strings"),
    "framings": (lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v), "expected a list of strings"),
    "goals": (lambda v: isinstance(v, str | dict), "expected a source kind or a source spec mapping"),
}


def check_source_options(kind: str, options: dict[str, Any]) -> HarvestSettings:
    """The HarvestSettings of a generating source's options, every option checked (no model is loaded):
    a problem is a ``ValueError`` naming the key (``options.max_new_tokens: ...``)."""
    fields = set(HarvestSettings.model_fields)
    extra = SOURCE_EXTRA_OPTIONS[kind]
    unknown = set(options) - fields - extra
    if unknown:
        known = ", ".join(sorted(fields | extra | {"limit", "label"}))
        raise ValueError(f"options: unknown option(s) {', '.join(sorted(unknown))}; known: {known}")
    for key in sorted(extra & set(options)):
        ok, expected = _EXTRA_CHECKS[key]
        if not ok(options[key]):
            raise ValueError(f"options.{key}: {expected}, got {options[key]!r}")
    goals = options.get("goals")
    if isinstance(goals, dict):
        from crosstask.data.sources.registry import SourceSpec
        from crosstask.errors import CrosstaskError

        try:
            SourceSpec.from_mapping(goals)
        except CrosstaskError as e:
            raise ValueError(f"options.goals: {e}") from None
    try:
        return HarvestSettings.model_validate({k: v for k, v in options.items() if k in fields})
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"options.{loc}: {first['msg'].removeprefix('Value error, ')}") from None
