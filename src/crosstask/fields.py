"""Config dataclass fields that carry their help text (shown by the CLI options derived from them)."""

from __future__ import annotations

import dataclasses
from typing import Any


def config_field(default: Any = dataclasses.MISSING, *, help: str, factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with ``metadata["help"]`` (``crosstask.cli.config_options`` shows it)."""
    return dataclasses.field(default=default, default_factory=factory, metadata={"help": help})
