"""Rates and means with seeded 95% bootstrap confidence intervals, and their counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 1000


def format_rate(
    rate: float | None,
    *,
    k: int | None = None,
    n: int | None = None,
    ci: Sequence[float] | None = None,
    digits: int = 0,
    unit: str = "%",
    counts: str = "after",
    missing: str = "–",
    ci_style: str = "brackets",
) -> str:
    """The one formatter of rates: ``"93%"``, ``"93.0% [88-97] (93/100)"``, ``"93/100 (93%)"``,
    ``"93/100 (93%, 88–97)"``.

    ``counts``: where k/n go when given: ``"after"`` in parentheses, ``"plain"`` after a space,
    ``"first"`` before the rate (in parentheses). ``ci_style``: the interval as ``" [88-97]"``
    (``"brackets"``) or ``", 88–97"`` (``"comma"``). ``missing`` stands for an unknown rate.
    """
    if rate is None:
        return missing
    s = f"{100 * rate:.{digits}f}{unit}"
    if ci is not None:
        lo, hi = f"{100 * ci[0]:.0f}", f"{100 * ci[1]:.0f}"
        s += {"brackets": f" [{lo}-{hi}]", "comma": f", {lo}–{hi}"}[ci_style]
    if k is None or n is None:
        return s
    return {"after": f"{s} ({k}/{n})", "plain": f"{s} {k}/{n}", "first": f"{k}/{n} ({s})"}[counts]


def bootstrap_ci(
    values: Sequence[float], *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; the same seed gives the same interval."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return (float("nan"), float("nan"))
    if x.size == 1 or np.all(x == x[0]):
        return (float(x.mean()), float(x.mean()))
    gen = np.random.default_rng(seed)
    means = x[gen.integers(0, x.size, size=(n_resamples, x.size))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return (float(lo), float(hi))


@dataclass(frozen=True)
class Rate:
    """k of n, as a rate with its interval."""

    k: int
    n: int
    rate: float
    ci: tuple[float, float]

    @classmethod
    def of(cls, flags: Sequence[bool], *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES) -> Rate:
        k, n = int(sum(bool(f) for f in flags)), len(flags)
        rate = k / n if n else float("nan")
        return cls(k, n, rate, bootstrap_ci([float(f) for f in flags], seed=seed, n_resamples=n_resamples))

    def complement(self) -> Rate:
        return Rate(self.n - self.k, self.n, 1 - self.rate, (1 - self.ci[1], 1 - self.ci[0]))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rate:
        return cls(int(d["k"]), int(d["n"]), float(d["rate"]), (float(d["ci"][0]), float(d["ci"][1])))

    def fmt(self, *, digits: int = 1, unit: str = "%", counts: str | None = "after") -> str:
        """``"93.0% [88-97] (93/100)"`` (see :func:`format_rate`); ``"-"`` when n is 0."""
        if not self.n:
            return "-"
        if counts is None:
            return format_rate(self.rate, ci=self.ci, digits=digits, unit=unit)
        return format_rate(self.rate, k=self.k, n=self.n, ci=self.ci, digits=digits, unit=unit, counts=counts)


@dataclass(frozen=True)
class Mean:
    """The mean of a per-sample score (task quality), with its interval."""

    n: int
    mean: float
    ci: tuple[float, float]

    @classmethod
    def of(cls, values: Sequence[float], *, seed: int = 0, n_resamples: int = DEFAULT_RESAMPLES) -> Mean:
        n = len(values)
        m = float(np.mean(values)) if n else float("nan")
        return cls(n, m, bootstrap_ci(values, seed=seed, n_resamples=n_resamples))

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "ci": list(self.ci)}

    def fmt(self) -> str:
        if not self.n:
            return "-"
        return f"{self.mean:.3f} [{self.ci[0]:.2f}-{self.ci[1]:.2f}] (n={self.n})"
