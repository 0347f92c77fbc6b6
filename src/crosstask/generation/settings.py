"""Generation settings: what changes outputs goes into the cache key, what only changes speed does not."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from crosstask.errors import CrosstaskError

_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 128
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    batch_size: int = 16
    # Compute dtype for generation: None = the model's own dtype; "bfloat16" runs a bf16 copy
    # (about 2-3x faster on CPUs with AVX-512 bf16, but greedy outputs can differ from fp32).
    dtype: str | None = None
    # > 1 discourages tokens the sequence already generated (transformers' repetition penalty,
    # applied to the new tokens only, not the prompt): small generators otherwise loop.
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise CrosstaskError(f"max_new_tokens must be at least 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise CrosstaskError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.do_sample and (self.temperature <= 0 or not 0 < self.top_p <= 1):
            raise CrosstaskError("sampling needs temperature > 0 and 0 < top_p <= 1")
        if not self.repetition_penalty > 0:
            raise CrosstaskError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.dtype is not None and self.dtype not in _DTYPES:
            raise CrosstaskError(f"generation dtype must be one of {', '.join(_DTYPES)} or None, got {self.dtype!r}")

    def key(self) -> dict[str, Any]:
        """The fields that change outputs (batch size does not: the engine's greedy outputs do not depend on it)."""
        d = asdict(self)
        d.pop("batch_size")
        if d["dtype"] is None:
            d.pop("dtype")
        if d["repetition_penalty"] == 1.0:  # keeps keys of earlier caches valid
            d.pop("repetition_penalty")
        if not self.do_sample:  # greedy ignores the sampling knobs
            for k in ("temperature", "top_p", "seed"):
                d.pop(k)
        return d
