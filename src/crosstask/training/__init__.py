"""LoRA / full instruction tuning on a defense dataset, with single-task and mixed-task losses."""

from crosstask.training.merge import merge_adapter
from crosstask.training.train_config import PRESETS, TrainConfig, load_config, preset
from crosstask.training.trainer import TrainingDiverged, TrainRecipe, TrainResult, train

__all__ = [
    "PRESETS",
    "TrainConfig",
    "TrainRecipe",
    "TrainResult",
    "TrainingDiverged",
    "load_config",
    "merge_adapter",
    "preset",
    "train",
]
