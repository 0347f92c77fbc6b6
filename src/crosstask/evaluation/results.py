"""Typed evaluation results, as written to and read from ``summary.json`` and ``results.json``.

- :class:`CellResult`: one (evaluation set, task) cell of ``summary.json``'s ``results``
  (keyed by evaluation set name, e.g. ``malicious`` or ``malicious:harmbench``, then task);
- :class:`ModelCell`: the same cell as a model's ``metrics[task][set]`` entry of
  ``results.json`` (the report's input).

The dict shapes are those of ``crosstask.eval/1`` and ``crosstask.results/1``; these types
are the one place that reads and writes them. Every rate's interval is computed again from its
k and n when read (:meth:`Rate.from_dict`), so files written by older versions, which hold
percentile-bootstrap intervals (and, in ``results.json``, sometimes no ``refused`` count), load
with the Wilson interval. A file that cannot be read raises a one-line :class:`CrosstaskError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crosstask.errors import CrosstaskError
from crosstask.evaluation.stats import RATE_INTERVAL, Mean, Rate, rate_interval


@dataclass(frozen=True)
class Quality:
    """Task quality of a cell: the task's metric, its headline score's mean and every part's mean."""

    metric: str
    headline: str
    mean: Mean
    parts: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "headline": self.headline, **self.mean.to_dict(), "parts": dict(self.parts)}

    @classmethod
    def from_dict(cls, d: dict[str, Any], n: int) -> Quality:
        mean = float(d["mean"])
        ci = d.get("ci") or (mean, mean)
        return cls(d.get("metric", "quality"), d.get("headline", d.get("metric", "quality")),
                   Mean(int(d.get("n", n)), mean, (float(ci[0]), float(ci[1]))), dict(d.get("parts") or {}))


@dataclass(frozen=True)
class CellResult:
    """One (set, task) cell: refusal rate by the primary judge and by every judge, and quality."""

    n: int
    refusal: Rate
    judges: dict[str, Rate] = field(default_factory=dict)
    quality: Quality | None = None
    empty: int = 0
    truncated: int = 0
    off_task: Rate | None = None  # neither refused nor processed (primary judge); None in old summaries

    @property
    def processed(self) -> Rate:
        """1 - refusal: the harmful-processing rate on malicious sets."""
        return self.refusal.complement()

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "refusal": self.refusal.to_dict(), "processed": self.processed.to_dict(),
            "judges": {k: v.to_dict() for k, v in self.judges.items()},
            "quality": self.quality.to_dict() if self.quality else None,
            "empty": self.empty, "truncated": self.truncated,
            **({"off_task": self.off_task.to_dict()} if self.off_task is not None else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        n = int(d["n"])
        return cls(
            n=n, refusal=_rate(d["refusal"], n), judges={k: _rate(v, n) for k, v in (d.get("judges") or {}).items()},
            quality=Quality.from_dict(d["quality"], n) if d.get("quality") else None,
            empty=int(d.get("empty", 0)), truncated=int(d.get("truncated", 0)),
            off_task=_rate(d["off_task"], n) if d.get("off_task") else None,
        )


def _rate(d: dict[str, Any], n: int) -> Rate:
    return Rate.from_dict(d, n)


def read_cells(summary: dict[str, Any]) -> dict[str, dict[str, CellResult]]:
    """``{set: {task: CellResult}}`` of an evaluation summary."""
    out: dict[str, dict[str, CellResult]] = {}
    for s, per_task in (summary.get("results") or {}).items():
        out[s] = {}
        for t, c in per_task.items():
            try:
                out[s][t] = CellResult.from_dict(c)
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise CrosstaskError(f"evaluation summary: results.{s}.{t}: cannot read this cell "
                                     f"({type(e).__name__}: {e})") from None
    return out


@dataclass(frozen=True)
class ModelCell:
    """A model's result on one (task, set) in ``results.json``: refused k of n with its 95% Wilson
    interval, and utility (the task-quality mean with its bootstrap interval)."""

    refusal_rate: float | None
    count: int | None = None
    refused: int | None = None
    ci: tuple[float, float] | None = None
    utility: dict[str, float] | None = None
    utility_ci: dict[str, tuple[float, float]] | None = None
    off_task: int | None = None  # answers neither refused nor processed (None: not counted by that version)

    @property
    def rate(self) -> Rate | None:
        """The refusal rate as a :class:`Rate`, when k and n are known."""
        if self.count is None or self.refused is None:
            return None
        return Rate.from_counts(self.refused, self.count)

    @classmethod
    def of(cls, cell: CellResult) -> ModelCell:
        r, q = cell.refusal, cell.quality
        utility = {q.metric: q.mean.mean} if q else None
        utility_ci = {q.metric: q.mean.ci} if q and q.mean.n else None
        return cls(r.rate, cell.n, r.k, r.ci, utility, utility_ci,
                   cell.off_task.k if cell.off_task is not None else None)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"refusal_rate": self.refusal_rate, "count": self.count, "refused": self.refused,
                             "ci": list(self.ci) if self.ci is not None else None}
        if self.ci is not None and self.refused is not None:
            d["interval"] = RATE_INTERVAL
        if self.utility:
            d["utility"] = dict(self.utility)
        if self.utility_ci:
            d["utility_ci"] = {k: list(v) for k, v in self.utility_ci.items()}
        if self.off_task is not None:
            d["off_task"] = self.off_task
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCell:
        """A cell as written by this or an older version (which wrote bootstrap intervals, and
        before that no ``refused``: it is recovered from the rate and the count, which it divides)."""
        rate, count, refused = d.get("refusal_rate"), d.get("count"), d.get("refused")
        if refused is None and count and rate is not None and abs(rate * count - round(rate * count)) < 1e-6:
            refused = round(rate * count)
        if refused is not None and count:
            ci: tuple[float, float] | None = rate_interval(int(refused), int(count))
        else:
            ci = (float(d["ci"][0]), float(d["ci"][1])) if d.get("ci") is not None else None
        utility_ci = {k: (float(v[0]), float(v[1])) for k, v in (d.get("utility_ci") or {}).items()}
        off = d.get("off_task")
        return cls(rate, count, refused, ci, d.get("utility"), utility_ci or None,
                   int(off) if off is not None else None)


def model_metrics(summary: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """A model's ``metrics`` for ``results.json``: ``{task: {set: ModelCell dict}}`` from its summary."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for set_name, per_task in read_cells(summary).items():
        for task, cell in per_task.items():
            out.setdefault(task, {})[set_name] = ModelCell.of(cell).to_dict()
    return out


def upgrade_metrics(metrics: dict[str, Any], where: str = "metrics") -> dict[str, dict[str, dict[str, Any]]]:
    """A stored ``metrics`` mapping (``{task: {set: cell}}``, by any version) in the current shape:
    k/n and the Wilson interval where the counts are known."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for task, per_set in (metrics or {}).items():
        for set_name, d in (per_set or {}).items():
            try:
                out.setdefault(task, {})[set_name] = ModelCell.from_dict(d).to_dict()
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
                raise CrosstaskError(f"{where}.{task}.{set_name}: cannot read this result "
                                     f"({type(e).__name__}: {e})") from None
    return out


def model_cell(model: dict[str, Any], task: str, set_name: str) -> ModelCell | None:
    """A ``results.json`` model's cell, or None when the model was not evaluated there."""
    d = ((model.get("metrics") or {}).get(task) or {}).get(set_name)
    return ModelCell.from_dict(d) if d else None
