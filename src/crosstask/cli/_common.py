"""Helpers shared by the CLI modules."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True)  # errors and notes
