"""Rich terminal tables for evaluation results and judge validation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from crosstask.document import LABELS
from crosstask.evaluation.results import read_cells
from crosstask.evaluation.stats import Rate

_SET_TITLE = {"malicious": "safety", "benign": "over-refusal", "sensitive-benign": "over-refusal"}


_SHORT = {"rouge_l": "R-L", "chrf": "chrF", "exact_match": "EM", "char_accuracy": "char", "accuracy": "acc"}


def result_table(summary: dict[str, Any]) -> Table:
    """One section per set; rows: tasks; columns: refusal % with 95% CI, k/n, task quality.

    Sized for an 80-column terminal; cut (truncated) documents are in the warnings and JSON.
    """
    t = Table(title=escape(f"{summary['name']} ({summary['model']}, judge {summary['judge']})"))
    t.add_column("set / task", no_wrap=True)
    t.add_column("refusal % [CI]", justify="right", no_wrap=True)
    t.add_column("k/n", justify="right", no_wrap=True)
    t.add_column("quality [CI]", justify="right", no_wrap=True)
    t.add_column("empty", justify="right", no_wrap=True)
    t.add_column("off-task", justify="right", no_wrap=True)
    results = read_cells(summary)
    for set_name in [*(x for x in LABELS if x in results), *(x for x in results if x not in LABELS)]:
        by_task = results[set_name]
        t.add_row(f"[bold]{set_name}[/]", f"[dim]{_SET_TITLE.get(set_name, '')}[/]", "", "", "", "")
        for task in [x for x in summary["tasks"] if x in by_task]:
            cell = by_task[task]
            r = cell.refusal
            q = cell.quality
            qtxt = (f"{_SHORT.get(q.headline, q.headline)} {_num(q.mean.mean)} [{_num(q.mean.ci[0])}-{_num(q.mean.ci[1])}]"
                    if q else "-")
            off = str(cell.off_task.k) if cell.off_task is not None else "-"
            t.add_row(f" {task}", r.fmt(unit="", counts=None), f"{r.k}/{r.n}", qtxt, str(cell.empty), off)
        overall = summary["overall"].get(set_name)
        if overall:
            r = Rate.from_dict(overall["refusal"])
            off_all = Rate.from_dict(overall["off_task"]).k if overall.get("off_task") else "-"
            t.add_row(" [bold]all tasks[/]", f"[bold]{r.fmt(unit='', counts=None)}[/]", f"{r.k}/{r.n}", "", "",
                      str(off_all), end_section=True)
    return t


def _num(x: float) -> str:
    return f"{x:.2f}".replace("0.", ".", 1) if 0 <= x < 1 else f"{x:.2f}"


def scores_table(scores: Sequence[Any]) -> Table:
    t = Table(title="Refusal judges vs human labels")
    for col in ("dataset", "judge", "n", "refusals", "accuracy", "precision", "recall", "F1"):
        t.add_column(col, justify="left" if col in ("dataset", "judge") else "right", no_wrap=True)
    last = None
    for s in scores:
        best = max((x.f1 for x in scores if x.dataset == s.dataset), default=0.0)
        f1 = f"[bold green]{s.f1:.3f}[/]" if s.f1 == best else f"{s.f1:.3f}"
        t.add_row(escape(s.dataset) if s.dataset != last else "", escape(s.judge), str(s.n), str(s.positives), f"{s.accuracy:.3f}",
                  f"{s.precision:.3f}", f"{s.recall:.3f}", f1, end_section=False)
        last = s.dataset
    return t
