"""The report's tables, as plain rows (header + cells) that both renderers share.

Input is the ``results.json`` structure written by the pipeline::

    {"experiment": ..., "tasks": [...], "models": [
        {"id", "label", "family", "recipe", "n",
         "metrics": {task: {label: {"refusal_rate": float, "count": int, "utility": {metric: float}}}},
         "samples": {task: {label: [{"doc_id", "output", "refused"}]}},
         "loss": [[step, loss], ...]}]}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crosstask.document import set_label, set_order
from crosstask.evaluation.results import model_cell
from crosstask.evaluation.stats import format_rate


@dataclass
class TableData:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""


def pct(x: float | None) -> str:
    return format_rate(x)


def cell(model: dict[str, Any], task: str, label: str, key: str = "refusal_rate") -> Any:
    c = model_cell(model, task, label)
    return None if c is None else getattr(c, key)


def mean_rate(model: dict[str, Any], tasks: list[str], label: str) -> float | None:
    values = [v for t in tasks if (v := cell(model, t, label)) is not None]
    return sum(values) / len(values) if values else None


def sets_present(results: dict[str, Any]) -> list[str]:
    """Evaluation sets with results: those from elsewhere (out of distribution) first, then held-out ones."""
    tasks = results.get("tasks", [])
    names = {s for m in results["models"] for t in tasks for s in ((m.get("metrics") or {}).get(t) or {})}
    return set_order(names)


def k_of_n(model: dict[str, Any], task: str, set_name: str, interval: bool = False) -> str:
    """``"47/50 (94%)"`` (with its 95% interval: ``"47/50 (94%, 84–98)"``), or the bare rate when
    the count is unknown."""
    c = model_cell(model, task, set_name)
    if c is None:
        return format_rate(None)
    ci = c.ci if interval and c.ci and c.count is not None and c.refused is not None else None
    return format_rate(c.refusal_rate, k=c.refused, n=c.count, ci=ci, counts="first", ci_style="comma")


def describe_set(set_name: str) -> str:
    label = set_label(set_name)
    where = (f"{set_name.split(':', 1)[1]}, out of distribution" if ":" in set_name
             else "held out, in distribution")
    what = "refusal (higher is safer)" if label == "malicious" else "over-refusal (lower is more useful)"
    return f"{label} documents ({where}): {what}"


def refusal_table(results: dict[str, Any], set_name: str) -> TableData:
    """Refused k/n per model (rows) and evaluated task (columns) on one evaluation set."""
    tasks = results.get("tasks", [])
    rows = []
    for m in results["models"]:
        rows.append([m["label"], *[k_of_n(m, t, set_name) for t in tasks], pct(mean_rate(m, tasks, set_name))])
    return TableData(f"Refusal on {describe_set(set_name)}", ["model", *tasks, "mean"], rows)


def utility_table(results: dict[str, Any]) -> TableData | None:
    """Task quality on benign documents (the metric each task names), per model and task."""
    tasks = results.get("tasks", [])
    rows = []
    for m in results["models"]:
        cells = []
        for t in tasks:
            util = cell(m, t, "benign", "utility") or {}
            cells.append(", ".join(f"{k} {v:.3f}" for k, v in sorted(util.items()) if isinstance(v, int | float))
                         or "–")
        rows.append([m["label"], *cells])
    if all(c == "–" for r in rows for c in r[1:]):
        return None
    return TableData("Utility on benign documents", ["model", *tasks], rows)


def transfer_matrix(results: dict[str, Any]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Defense (the undefended model, then each family at its largest N) × evaluated task."""
    tasks = results.get("tasks", [])
    best: dict[str, dict[str, Any]] = {}
    for m in results["models"]:
        fam = m["family"]
        if fam not in best or m.get("n", 0) > best[fam].get("n", 0):
            best[fam] = m
    chosen = sorted(best.values(), key=lambda m: (m["family"] != "none", m["family"] == "mixed", m["family"]))
    rows = [m["label"] for m in chosen]
    values = [[cell(m, t, "malicious") for t in tasks] for m in chosen]
    return rows, tasks, values


def cross_task_table(results: dict[str, Any]) -> TableData:
    rows, tasks, values = transfer_matrix(results)
    return TableData(
        "Cross-task transfer: refusal on malicious documents (defense × evaluated task)",
        ["defense", *tasks], [[r, *[pct(v) for v in vals]] for r, vals in zip(rows, values, strict=True)],
        note="Each defense family at its largest N. Off-diagonal cells of single-task defenses show transfer.",
    )


def all_tables(results: dict[str, Any]) -> list[TableData]:
    tables = [refusal_table(results, name) for name in sets_present(results)]
    if any(m["family"] != "none" for m in results["models"]):
        tables.append(cross_task_table(results))
    util = utility_table(results)
    if util is not None:
        tables.append(util)
    return tables
