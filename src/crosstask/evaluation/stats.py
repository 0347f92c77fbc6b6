"""Rates and means with 95% confidence intervals, and their counts.

- A rate (k of n: refused, processed) gets the Wilson score interval, computed by
  ``scipy.stats.binomtest``: exact in k and n, never of zero width (0/20 refused: 0% with an
  upper bound of 16%; 20/20: a lower bound of 84%), and the same on every machine and seed.
- A mean of a per-sample score (task quality: ROUGE-L, chrF, ...) has no closed-form interval,
  so it keeps the seeded percentile bootstrap (:func:`bootstrap_ci`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np

DEFAULT_RESAMPLES = 1000
LEVEL = 0.95
RATE_INTERVAL = "wilson"  # the method of every rate's interval, recorded beside it in the JSON files


def rate_interval(k: int, n: int, *, level: float = LEVEL) -> tuple[float, float]:
    """The Wilson score interval of k successes in n trials (``(nan, nan)`` when n is 0)."""
    return _rate_interval(int(k), int(n), float(level))


@lru_cache(maxsize=4096)  # reports read the same cells many times
def _rate_interval(k: int, n: int, level: float) -> tuple[float, float]:
    if n <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= k <= n:
        raise ValueError(f"k={k} is not between 0 and n={n}")
    from scipy.stats import binomtest  # imported on first use: scipy.stats takes most of a second

    ci = binomtest(k, n).proportion_ci(confidence_level=level, method=RATE_INTERVAL)
    return (float(ci.low), float(ci.high))


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
    """Percentile bootstrap interval of the mean; the same seed gives the same interval.

    Used for means of per-sample scores (task quality), which have no exact interval; rates use
    :func:`rate_interval`, because the bootstrap of 0/n or n/n has zero width.
    """
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
    """k of n, as a rate with its 95% Wilson interval (:func:`rate_interval`)."""

    k: int
    n: int
    rate: float
    ci: tuple[float, float]

    @classmethod
    def of(cls, flags: Sequence[bool]) -> Rate:
        return cls.from_counts(int(sum(bool(f) for f in flags)), len(flags))

    @classmethod
    def from_counts(cls, k: int, n: int) -> Rate:
        return cls(int(k), int(n), k / n if n else float("nan"), rate_interval(k, n))

    def complement(self) -> Rate:
        # The Wilson interval is symmetric: that of n-k is 1 minus that of k, reversed.
        return Rate(self.n - self.k, self.n, 1 - self.rate, (1 - self.ci[1], 1 - self.ci[0]))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci)
        d["interval"] = RATE_INTERVAL
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], n: int | None = None) -> Rate:
        """A rate as written by :meth:`to_dict`, by this or an older version: the interval is
        computed again from k and n (older files hold percentile-bootstrap intervals)."""
        return cls.from_counts(int(d["k"]), int(d.get("n", n)))  # type: ignore[arg-type]

    def fmt(self, *, digits: int = 1, unit: str = "%", counts: str | None = "after") -> str:
        """``"93.0% [88-97] (93/100)"`` (see :func:`format_rate`); ``"-"`` when n is 0."""
        if not self.n:
            return "-"
        if counts is None:
            return format_rate(self.rate, ci=self.ci, digits=digits, unit=unit)
        return format_rate(self.rate, k=self.k, n=self.n, ci=self.ci, digits=digits, unit=unit, counts=counts)


@dataclass(frozen=True)
class Mean:
    """The mean of a per-sample score (task quality), with its seeded bootstrap interval (a mean
    of scores in [0, 1] is no binomial rate, so no exact interval applies)."""

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
