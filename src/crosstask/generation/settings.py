"""Generation settings: what changes outputs goes into the cache key, what only changes speed does not."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from crosstask.config_model import ConfigModel


class GenerationSettings(ConfigModel):
    """How the engine decodes (built by the stage configs: evaluation, harvesting, references, refusals)."""

    model_config = ConfigDict(frozen=True)
    config_name = "generation setting"

    max_new_tokens: int = Field(128, ge=1, description="Tokens generated per prompt at most.")
    do_sample: bool = Field(False, description="Sample (with temperature, top_p and seed) instead of greedy decoding.")
    temperature: float = Field(1.0, gt=0, description="Sampling temperature (> 0).")
    top_p: float = Field(1.0, gt=0, le=1, description="Nucleus sampling share (0 < top_p <= 1).")
    seed: int = Field(0, ge=0, description="Sampling seed.")
    batch_size: int = Field(16, ge=1, description="Prompts per batch (does not change greedy outputs).")
    token_budget: int = Field(16384, ge=64, description=(
        "Cache positions one batch may hold (rows x padded prompt length + max_new_tokens; does not change greedy "
        "outputs). Bounds generation's memory whatever the documents' lengths: about 46 KB per position for "
        "SmolLM2-135M in fp32, so 16384 is ~0.75 GB per batch, and one batch per worker is in flight. A prompt "
        "longer than the budget runs alone."))
    workers: int | None = Field(None, ge=1, description=(
        "Batches decoded at once, each on one CPU thread of its own (does not change outputs). None: one per torch "
        "thread on CPU (so 2 on 2 free cores), 1 on a GPU. Two one-thread workers beat one two-thread batch on CPU: "
        "one prefills (compute-bound) while the other decodes (memory-bound). Each batch in flight holds up to "
        "token_budget cache positions."))
    dtype: Literal["float32", "bfloat16", "int8"] | None = Field(None, description=(
        "Compute dtype: None = the model's own; int8 runs a copy with dynamically quantized int8 linear "
        "layers (an approximate fast path on CPU: outputs differ from fp32); bfloat16 runs a bf16 copy (about "
        "2-3x faster on CPUs with AVX-512 bf16, but greedy outputs can differ from fp32)."))
    repetition_penalty: float = Field(1.0, gt=0, description=(
        "> 1 discourages tokens the sequence already generated (transformers' repetition penalty, applied to the "
        "new tokens only, not the prompt): small generators otherwise loop."))

    @model_validator(mode="after")
    def _sampling(self) -> GenerationSettings:
        if self.do_sample and (self.temperature <= 0 or not 0 < self.top_p <= 1):
            raise ValueError("sampling needs temperature > 0 and 0 < top_p <= 1")
        return self

    def key(self) -> dict[str, Any]:
        """The fields that change outputs (batch size, token budget and workers do not: greedy outputs do not depend on them)."""
        d = self.model_dump()
        d.pop("batch_size")
        d.pop("token_budget")
        d.pop("workers")
        if d["dtype"] is None:
            d.pop("dtype")
        if d["repetition_penalty"] == 1.0:  # keeps keys of earlier caches valid
            d.pop("repetition_penalty")
        if not self.do_sample:  # greedy ignores the sampling knobs
            for k in ("temperature", "top_p", "seed"):
                d.pop(k)
        return d
