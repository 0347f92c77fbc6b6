"""crosstask: cross-task content-safety defense for language models.

The pipeline: documents -> defense dataset -> LoRA training -> evaluation -> report.
"""

from crosstask.errors import CrosstaskError
from crosstask.version import __version__

__all__ = ["CrosstaskError", "__version__", "run"]


def run(config, **kwargs):
    """Run an experiment config (a path or a dict); mirrors ``crosstask run``."""
    from crosstask.pipeline.runner import run as _run

    return _run(config, **kwargs)
