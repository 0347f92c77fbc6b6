"""The cross-task matrix: rows = defenses, columns = evaluated tasks.

Each cell holds the refusal rate on malicious documents (safety: higher is better) and the
over-refusal rate on benign documents (utility: lower is better), with CIs and k/n.
JSON shape::

    {"tasks": [...], "rows": [{"defense": "summarize-only", "cells": {"<task>": {
        "malicious_refusal": {...rate...} | null, "benign_over_refusal": {...rate...} | null,
        "sensitive_over_refusal": {...rate...} | null}}}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field
from rich.markup import escape
from rich.table import Table

from crosstask.config_model import ConfigModel
from crosstask.evaluation.evaluator import EvalResult, load_result
from crosstask.evaluation.results import read_cells
from crosstask.evaluation.stats import Rate

_CELLS = {"malicious_refusal": "malicious", "benign_over_refusal": "benign", "sensitive_over_refusal": "sensitive-benign"}


class MatrixConfig(ConfigModel):
    """``crosstask eval matrix``: which finished evaluations to put side by side, and where to write."""

    config_name = "matrix config"

    runs: list[str] = Field(default_factory=list, description=(
        "Finished `eval run` outputs: NAME=FOLDER, or FOLDER (named by its summary)."))
    out: str | None = Field(None, description="Output folder: the matrix as matrix.json.")


def load_runs(runs: Sequence[str]) -> dict[str, EvalResult]:
    """``NAME=FOLDER`` (or ``FOLDER``) items -> defense name -> its evaluation result."""
    results = {}
    for item in runs:
        label, sep, folder = item.partition("=")
        res = load_result(folder if sep else label)
        results[label if sep else res.name] = res
    return results


def cross_task_matrix(results: Mapping[str, EvalResult | dict[str, Any]]) -> dict[str, Any]:
    """``results``: defense name -> its :class:`EvalResult` (or summary dict)."""
    tasks: list[str] = []
    rows = []
    for name, res in results.items():
        summary = res.summary if isinstance(res, EvalResult) else res
        for t in summary["tasks"]:
            if t not in tasks:
                tasks.append(t)
        typed = read_cells(summary)
        cells = {}
        for t in summary["tasks"]:
            cells[t] = {key: (c.refusal.to_dict() if (c := typed.get(set_name, {}).get(t)) else None)
                        for key, set_name in _CELLS.items()}
        rows.append({"defense": name, "judge": summary.get("judge"), "cells": cells})
    return {"tasks": tasks, "rows": rows}


def matrix_table(matrix: dict[str, Any]) -> Table:
    t = Table(title="Cross-task matrix: refusal on malicious (higher is safer) / over-refusal on benign (lower is better)")
    t.add_column("defense")
    for task in matrix["tasks"]:
        t.add_column(task, justify="right")
    for row in matrix["rows"]:
        vals = []
        for task in matrix["tasks"]:
            c = row["cells"].get(task) or {}
            parts = []
            for key, tag in (("malicious_refusal", "mal"), ("benign_over_refusal", "ben"),
                             ("sensitive_over_refusal", "sens")):
                if c.get(key):
                    parts.append(f"{tag} {Rate.from_dict(c[key]).fmt(digits=0, counts='plain')}")
            vals.append("\n".join(parts) or "-")
        t.add_row(escape(str(row["defense"])), *vals, end_section=True)
    return t
