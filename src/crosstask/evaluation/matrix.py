"""The cross-task matrix: rows = defenses, columns = evaluated tasks.

Each cell holds the refusal rate on malicious documents (safety: higher is better) and the
over-refusal rate on benign documents (utility: lower is better), with CIs and k/n.
JSON shape::

    {"tasks": [...], "rows": [{"defense": "summarize-only", "cells": {"<task>": {
        "malicious_refusal": {...rate...} | null, "benign_over_refusal": {...rate...} | null,
        "sensitive_over_refusal": {...rate...} | null}}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from crosstask.evaluation.evaluator import EvalResult
from crosstask.evaluation.results import read_cells
from crosstask.evaluation.stats import Rate

_CELLS = {"malicious_refusal": "malicious", "benign_over_refusal": "benign", "sensitive_over_refusal": "sensitive-benign"}


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
        t.add_row(row["defense"], *vals, end_section=True)
    return t
