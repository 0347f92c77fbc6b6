"""``crosstask list tasks|sources|judges|presets``: what is registered and what each entry needs.

Every table is read from its registry (``crosstask.tasks``, the source kinds, the judges, the
training presets); nothing is repeated here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from crosstask.cli._common import console
from crosstask.errors import CrosstaskError

__all__ = ["KINDS", "catalog_table", "register"]


def _tasks() -> Table:
    from crosstask.tasks import get_task, list_tasks

    table = Table(title="tasks (tasks: in a config, --tasks on the command line)")
    for col in ("name", "instruction", "metric", "needs"):
        table.add_column(col)
    for name in list_tasks():
        t = get_task(name)
        needs = f"document meta '{t.needs_field}'" if t.needs_field else ""
        table.add_row(name, escape(t.instruction), t.metric, needs)
    return table


def _sources() -> Table:
    from crosstask.data.sources.registry import SOURCE_NEEDS, list_sources

    table = Table(title="source kinds ({kind: ..., ...} in a config; KIND, KIND:PATH or a file on the command line)")
    table.add_column("kind")
    table.add_column("needs")
    for kind in list_sources():
        table.add_row(kind, escape(SOURCE_NEEDS.get(kind, "")))
    return table


def _judges() -> Table:
    from crosstask.judges import get_judge, list_judges

    table = Table(title="refusal judges (judges: in an eval config, --judge on the command line)")
    for col in ("name", "id", "description"):
        table.add_column(col)
    for name in list_judges():
        j = get_judge(name)
        table.add_row(name, escape(j.id), escape(j.description))
    return table


def _presets() -> Table:
    from crosstask.training.train_config import PRESETS

    table = Table(title="training presets (train: {preset: NAME} in an experiment config)")
    table.add_column("name")
    table.add_column("settings")
    for name in PRESETS.names():
        values = PRESETS.get(name)
        table.add_row(name, escape(", ".join(f"{k}={_short(v)}" for k, v in values.items())))
    return table


def _short(v: Any) -> str:
    return ",".join(map(str, v)) if isinstance(v, list) else str(v)


KINDS: dict[str, Callable[[], Table]] = {"tasks": _tasks, "sources": _sources, "judges": _judges,
                                         "presets": _presets}


def catalog_table(kind: str) -> Table:
    """The table of one registry kind (tasks, sources, judges, presets)."""
    if kind not in KINDS:
        raise CrosstaskError(f"unknown list {kind!r}; choose one of: {', '.join(KINDS)}")
    return KINDS[kind]()


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(kind: str = typer.Argument(..., metavar="KIND", help=f"What to list: {'|'.join(KINDS)}.")) -> None:
        """List the registered tasks, source kinds, judges or training presets, with what each needs."""
        console.print(catalog_table(kind))
