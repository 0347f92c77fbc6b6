"""Plots: error bars from the intervals, a colourbar in %, labels that neither overlap nor leave the
axes, axis ranges that follow the points, a smoothed loss with its per-task components."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.container import ErrorbarContainer
from report_fixtures import make_results

from crosstask.reporting import plots


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, kept open instead of saved."""
    kept = []

    def keep(fig, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        kept.append(fig)

    monkeypatch.setattr(plots, "_save", keep)
    yield kept
    for f in kept:
        plt.close(f)


def _with_counts(results: dict) -> dict:
    for m in results["models"]:
        for t in results["tasks"]:
            c = m["metrics"][t]["malicious"]
            c["refused"] = round(c["refusal_rate"] * c["count"])
    return results


def test_refusal_against_n_has_error_bars_from_the_intervals(figures, tmp_path):
    plots.refusal_vs_n(_with_counts(make_results()), tmp_path)
    ax = figures[0].axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # one per family
    segments = [seg for c in bars for coll in c.lines[2] for seg in coll.get_segments()]
    heights = [abs(s[1][1] - s[0][1]) for s in segments]
    assert all(h > 0.05 for h in heights)  # no zero-width interval, not even at 20/20
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "50", "200"]
    assert ax.get_xticklabels()[0].get_fontsize() >= 9
    assert ax.get_yticklabels()[-1].get_text().endswith("%")


def test_heatmap_colourbar_is_in_percent_like_its_cells(figures, tmp_path):
    plots.cross_task_heatmap(_with_counts(make_results()), tmp_path)
    fig = figures[0]
    heat, bar = fig.axes
    assert bar.get_ylim() == (0.0, 100.0)
    fig.canvas.draw()
    assert all(t.get_text().endswith("%") for t in bar.get_yticklabels() if t.get_text())
    cells = [t.get_text() for t in heat.texts]
    assert "100%\n20/20" in cells


def test_safety_utility_spreads_points_near_zero_and_keeps_labels_inside(figures, tmp_path):
    plots.safety_utility(make_results(), tmp_path)  # over-refusal between 0% and 4%
    fig = figures[0]
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    assert lo < 0 and hi < 0.2  # not 0..100%: the points are not crammed at the left edge
    _assert_labels_apart_and_inside(fig, ax)


def _assert_labels_apart_and_inside(fig, ax):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(r) for t in ax.texts]
    assert boxes
    inside = ax.get_window_extent(r)
    for b in boxes:
        assert inside.x0 - 1 <= b.x0 and b.x1 <= inside.x1 + 1 and inside.y0 - 1 <= b.y0 and b.y1 <= inside.y1 + 1
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)


def test_labels_of_crowded_points_do_not_overlap():
    fig, ax = plt.subplots(figsize=(6, 4.8))
    pts = [(0.45 + 0.01 * (i % 3), 0.42 + 0.012 * i) for i in range(7)]
    ax.scatter(*zip(*pts, strict=True))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    plots.place_labels(ax, pts, [f"mixed N=10 (variant {i})" for i in range(7)])
    _assert_labels_apart_and_inside(fig, ax)
    plt.close(fig)


def test_loss_is_smoothed_with_per_task_components(figures, tmp_path):
    results = make_results()
    noisy = [[s, 2.0 + (0.8 if s % 2 else -0.8)] for s in range(1, 81)]
    for m in results["models"]:
        if m["loss"]:
            m["loss"] = noisy
            m["loss_components"] = {"loss/summarize": noisy, "loss/case": [[s, v + 1] for s, v in noisy]}
    made = plots.loss_curves(results, tmp_path)
    assert [p.name for p in made] == ["training_loss", "training_loss_components"]
    ax = figures[0].axes[0]
    smooth = [line for line in ax.get_lines() if line.get_linewidth() > 1][0].get_ydata()
    assert np.ptp(smooth[5:-5]) < 0.2  # the ±0.8 alternation averaged out
    labels = figures[1].legends[0].get_texts()
    assert {t.get_text() for t in labels} == {"total", "summarize", "case"}


def test_moving_average_keeps_the_ends():
    assert plots.moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 3).tolist() == [1.5, 2.0, 3.0, 4.0, 4.5]
    assert plots.smoothing_window(5) == 1 and plots.smoothing_window(80) == 11 and plots.smoothing_window(10**5) == 51
