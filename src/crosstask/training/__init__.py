"""LoRA / full instruction tuning on a defense dataset, with single-task and mixed-task losses.

Names are imported on first use, so that the configuration (``train_config``: the CLI derives
``crosstask train``'s options from it) loads without torch.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "MergeConfig": "crosstask.training.merge",
    "merge_adapter": "crosstask.training.merge",
    "PRESETS": "crosstask.training.train_config",
    "TrainConfig": "crosstask.training.train_config",
    "TrainOptions": "crosstask.training.train_config",
    "TrainSection": "crosstask.training.train_config",
    "load_train_config": "crosstask.training.train_config",
    "train_config_from": "crosstask.training.train_config",
    "preset": "crosstask.training.train_config",
    "TrainingDiverged": "crosstask.training.trainer",
    "TrainRecipe": "crosstask.training.trainer",
    "TrainResult": "crosstask.training.trainer",
    "train": "crosstask.training.trainer",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
