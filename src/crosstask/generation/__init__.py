"""Batched text generation shared by harvesting, self-distillation and evaluation.

Names are imported on first use, so that the settings load without torch.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "GenerationCache": "crosstask.generation.cache",
    "GenerationSettings": "crosstask.generation.settings",
    "cache_keys": "crosstask.generation.engine",
    "generate": "crosstask.generation.engine",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
