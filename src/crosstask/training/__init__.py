"""LoRA / full instruction tuning on a defense dataset, with single-task and mixed-task losses.

Names are imported on first use, so that the configuration (``train_config``: the CLI derives
``crosstask train``'s options from it) loads without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "merge_adapter": "crosstask.training.merge",
    "PRESETS": "crosstask.training.train_config",
    "TrainConfig": "crosstask.training.train_config",
    "load_train_config": "crosstask.training.train_config",
    "preset": "crosstask.training.train_config",
    "TrainingDiverged": "crosstask.training.trainer",
    "TrainRecipe": "crosstask.training.trainer",
    "TrainResult": "crosstask.training.trainer",
    "train": "crosstask.training.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'crosstask.training' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
