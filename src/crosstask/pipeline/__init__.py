"""``crosstask run``: an experiment config run as content-keyed, resumable stages, then a report."""

from crosstask.pipeline.experiment_config import ExperimentConfig, load_config
from crosstask.pipeline.runner import RunResult, plan_run, run

__all__ = ["ExperimentConfig", "RunResult", "load_config", "plan_run", "run"]
