"""Batched text generation shared by harvesting, self-distillation and evaluation.

Names are imported on first use, so that the settings load without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "GenerationCache": "crosstask.generation.cache",
    "GenerationSettings": "crosstask.generation.settings",
    "cache_keys": "crosstask.generation.engine",
    "generate": "crosstask.generation.engine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'crosstask.generation' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
