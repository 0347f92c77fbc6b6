"""Typed evaluation results, as written to and read from ``summary.json`` and ``results.json``.

- :class:`CellResult`: one (evaluation set, task) cell of ``summary.json``'s ``results``
  (keyed by evaluation set name, e.g. ``malicious`` or ``malicious:harmbench``, then task);
- :class:`ModelCell`: the same cell as a model's ``metrics[task][set]`` entry of
  ``results.json`` (the report's input).

The dict shapes are unchanged (``crosstask.eval/1``, ``crosstask.results/1``); these types
are the one place that reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crosstask.evaluation.stats import Mean, Rate


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
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        n = int(d["n"])
        return cls(
            n=n, refusal=_rate(d["refusal"], n), judges={k: _rate(v, n) for k, v in (d.get("judges") or {}).items()},
            quality=Quality.from_dict(d["quality"], n) if d.get("quality") else None,
            empty=int(d.get("empty", 0)), truncated=int(d.get("truncated", 0)),
        )


def _rate(d: dict[str, Any], n: int) -> Rate:
    ci = d.get("ci") or (d["rate"], d["rate"])
    return Rate(int(d["k"]), int(d.get("n", n)), float(d["rate"]), (float(ci[0]), float(ci[1])))


def read_cells(summary: dict[str, Any]) -> dict[str, dict[str, CellResult]]:
    """``{set: {task: CellResult}}`` of an evaluation summary."""
    return {s: {t: CellResult.from_dict(c) for t, c in per_task.items()}
            for s, per_task in (summary.get("results") or {}).items()}


@dataclass(frozen=True)
class ModelCell:
    """A model's result on one (task, set) in ``results.json``: refused k of n and utility."""

    refusal_rate: float | None
    count: int | None = None
    refused: int | None = None
    ci: tuple[float, float] | None = None
    utility: dict[str, float] | None = None

    @classmethod
    def of(cls, cell: CellResult) -> ModelCell:
        r = cell.refusal
        utility = {cell.quality.metric: cell.quality.mean.mean} if cell.quality else None
        return cls(r.rate, cell.n, r.k, r.ci, utility)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"refusal_rate": self.refusal_rate, "count": self.count, "refused": self.refused,
                             "ci": list(self.ci) if self.ci is not None else None}
        if self.utility:
            d["utility"] = dict(self.utility)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelCell:
        ci = d.get("ci")
        return cls(d.get("refusal_rate"), d.get("count"), d.get("refused"),
                   (float(ci[0]), float(ci[1])) if ci is not None else None, d.get("utility"))


def model_metrics(summary: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """A model's ``metrics`` for ``results.json``: ``{task: {set: ModelCell dict}}`` from its summary."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for set_name, per_task in read_cells(summary).items():
        for task, cell in per_task.items():
            out.setdefault(task, {})[set_name] = ModelCell.of(cell).to_dict()
    return out


def model_cell(model: dict[str, Any], task: str, set_name: str) -> ModelCell | None:
    """A ``results.json`` model's cell, or None when the model was not evaluated there."""
    d = ((model.get("metrics") or {}).get(task) or {}).get(set_name)
    return ModelCell.from_dict(d) if d else None
