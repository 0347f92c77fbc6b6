"""Rate intervals: Wilson (scipy), never of zero width; stored results of older versions still load."""

from __future__ import annotations

import json
import math

import pytest

from crosstask.errors import CrosstaskError
from crosstask.evaluation.results import ModelCell, read_cells, upgrade_metrics
from crosstask.evaluation.stats import Rate, format_rate, rate_interval


def test_zero_of_twenty_has_a_positive_upper_bound():
    lo, hi = rate_interval(0, 20)
    assert lo == 0.0 and 0.15 < hi < 0.17  # Wilson: 16.1% (Clopper-Pearson: 16.8%)
    assert Rate.of([False] * 20).fmt(digits=0) == "0% [0-16] (0/20)"


def test_twenty_of_twenty_has_a_lower_bound_below_one():
    r = Rate.of([True] * 20)
    assert r.ci[1] == 1.0 and 0.83 < r.ci[0] < 0.85
    assert format_rate(r.rate, k=r.k, n=r.n, ci=r.ci, counts="first", ci_style="comma") == "20/20 (100%, 84–100)"


def test_known_wilson_values_and_the_complement():
    assert rate_interval(7, 10) == pytest.approx((0.39677815, 0.89220873))
    assert rate_interval(93, 100) == pytest.approx((0.86250485, 0.96568074))
    r = Rate.from_counts(7, 10)
    c = r.complement()
    assert (c.k, c.n) == (3, 10) and c.ci == pytest.approx(Rate.from_counts(3, 10).ci)
    assert all(math.isnan(x) for x in rate_interval(0, 0))
    with pytest.raises(ValueError):
        rate_interval(5, 4)


def test_rates_record_their_interval_method():
    d = Rate.from_counts(1, 4).to_dict()
    assert d["interval"] == "wilson" and d["k"] == 1 and d["n"] == 4
    assert Rate.from_dict(d) == Rate.from_counts(1, 4)


def test_an_older_summary_with_bootstrap_intervals_loads_with_wilson_ones():
    old = {"results": {"malicious": {"case": {
        "n": 20, "refusal": {"k": 20, "n": 20, "rate": 1.0, "ci": [1.0, 1.0]},
        "processed": {"k": 0, "n": 20, "rate": 0.0, "ci": [0.0, 0.0]},
        "judges": {"refusal@2": {"k": 20, "n": 20, "rate": 1.0, "ci": [1.0, 1.0]}},
        "quality": None, "empty": 0, "truncated": 0}}}}
    cell = read_cells(json.loads(json.dumps(old)))["malicious"]["case"]
    assert cell.refusal.ci[0] < 0.85 and cell.processed.ci[1] > 0.15
    bad = {"results": {"malicious": {"case": {"n": 20, "refusal": {"rate": 1.0}}}}}
    with pytest.raises(CrosstaskError, match=r"results\.malicious\.case"):
        read_cells(bad)


def test_older_results_json_cells_get_counts_and_intervals():
    # Before "refused" was written: the rate and the count (the rate is k/n, so k is recovered).
    cell = ModelCell.from_dict({"refusal_rate": 0.0, "count": 20, "ci": [0.0, 0.0]})
    assert cell.refused == 0 and cell.ci is not None and cell.ci[1] > 0.15
    assert ModelCell.from_dict({"refusal_rate": 0.5}).ci is None
    up = upgrade_metrics({"case": {"malicious": {"refusal_rate": 0.95, "count": 20, "refused": 19, "ci": [0.85, 1.0]}}})
    assert up["case"]["malicious"]["interval"] == "wilson" and up["case"]["malicious"]["ci"][1] < 1.0
    with pytest.raises(CrosstaskError, match="case.malicious"):
        upgrade_metrics({"case": {"malicious": {"refusal_rate": 0.5, "count": 20, "refused": 10, "ci": None,
                                                "utility_ci": {"rouge_l": [1]}}}})
