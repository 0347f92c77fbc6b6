"""The typed result schema: summary.json cells and results.json entries round-trip; one rate formatter."""

from __future__ import annotations

from crosstask.evaluation.results import CellResult, ModelCell, Quality, model_cell, model_metrics, read_cells
from crosstask.evaluation.stats import Mean, Rate, format_rate


def _cell() -> CellResult:
    r = Rate.of([True, True, False, True])
    return CellResult(n=4, refusal=r, judges={"refusal@2": r}, empty=1, truncated=2,
                      quality=Quality("case_match", "exact_match", Mean.of([0.5, 1.0, 0.0, 0.5]), {"exact_match": 0.5}))


def test_cells_round_trip_through_the_summary_shape():
    cell = _cell()
    d = cell.to_dict()
    assert list(d) == ["n", "refusal", "processed", "judges", "quality", "empty", "truncated"]
    assert d["processed"]["k"] == 1 and d["quality"]["metric"] == "case_match"
    summary = {"results": {"malicious:harmbench": {"case": d}}}
    assert read_cells(summary) == {"malicious:harmbench": {"case": cell}}


def test_results_json_entries_are_keyed_by_task_then_evaluation_set():
    summary = {"results": {"malicious": {"case": _cell().to_dict()}}}
    metrics = model_metrics(summary)
    entry = metrics["case"]["malicious"]
    assert entry["refused"] == 3 and entry["count"] == 4 and entry["utility"] == {"case_match": 0.5}
    assert model_cell({"metrics": metrics}, "case", "malicious") == ModelCell.from_dict(entry)
    assert model_cell({"metrics": metrics}, "case", "benign") is None


def test_one_rate_formatter():
    r = Rate(93, 100, 0.93, (0.88, 0.97))
    assert r.fmt() == "93.0% [88-97] (93/100)"
    assert r.fmt(digits=0, counts="plain") == "93% [88-97] 93/100"
    assert r.fmt(unit="", counts=None) == "93.0 [88-97]"
    assert format_rate(0.94, k=47, n=50, counts="first") == "47/50 (94%)"
    assert format_rate(0.94, k=47, n=50, ci=(0.84, 0.98), counts="first", ci_style="comma") == "47/50 (94%, 84–98)"
    assert format_rate(None) == "–" and format_rate(0.5) == "50%" and Rate(0, 0, 0.0, (0, 0)).fmt() == "-"
