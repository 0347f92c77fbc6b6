"""The report's figures as PNG files (matplotlib, Agg backend: no display needed).

Rates are drawn in percent with their 95% Wilson intervals as error bars; point labels are
placed where they overlap no other label or point (with a leader line when moved away); the
training loss is smoothed by a moving average, with the per-task components metrics.jsonl logs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402
from matplotlib.transforms import offset_copy  # noqa: E402

from crosstask.document import set_label  # noqa: E402
from crosstask.evaluation.results import model_cell  # noqa: E402
from crosstask.io import atomic_path  # noqa: E402
from crosstask.reporting.report_tables import mean_rate, sets_present, transfer_matrix, transfer_models  # noqa: E402

TICK_SIZE = 9
LABEL_SIZE = 10
MAX_LOSS_PANELS = 12


@dataclass
class Plot:
    name: str  # file stem
    title: str
    path: Path
    caption: str = ""


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")  # tight: no label is clipped
    plt.close(fig)


def _percent_axis(axis: Any) -> None:
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


# --- labels that do not overlap ------------------------------------------------------------

_DIRECTIONS = ((1, 1), (1, -1), (1, 0), (-1, 1), (-1, -1), (-1, 0), (0, 1), (0, -1))
_RADII = (5, 12, 20, 30, 42, 56, 72)


def place_labels(ax: Any, points: Sequence[tuple[float, float]], labels: Sequence[str], *, fontsize: float = 7.5,
                 colors: Sequence[str] | None = None) -> list[Any]:
    """Annotate each point with its label where the label overlaps no other label or point and stays
    inside the axes: the nearest free place of 8 directions × growing distances (a thin leader line
    joins a label moved away). Call after the axes limits are final."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    inside = ax.get_window_extent(renderer)
    px = fig.dpi / 72
    pts = ax.transData.transform(np.asarray(points, dtype=float).reshape(-1, 2))
    dot = 4 * px  # half the size of a marker, in pixels
    obstacles = [(x - dot, y - dot, x + dot, y + dot) for x, y in pts]
    placed: list[tuple[float, float, float, float]] = []
    texts = []

    def free(b: tuple[float, float, float, float]) -> bool:
        if b[0] < inside.x0 or b[2] > inside.x1 or b[1] < inside.y0 or b[3] > inside.y1:
            return False
        return not any(b[0] < o[2] and b[2] > o[0] and b[1] < o[3] and b[3] > o[1] for o in placed + obstacles)

    # Place the most crowded points first (they have the fewest free places).
    order = sorted(range(len(pts)), key=lambda i: -sum(np.hypot(*(pts[i] - p)) < 60 * px for p in pts))
    for i in order:
        xy, colour = points[i], (colors[i] if colors else "black")
        chosen = None
        for r in _RADII:
            for dx, dy in _DIRECTIONS:
                kw: dict[str, Any] = {
                    "xytext": (dx * r, dy * r), "textcoords": "offset points", "fontsize": fontsize,
                    "ha": {1: "left", -1: "right", 0: "center"}[dx], "va": {1: "bottom", -1: "top", 0: "center"}[dy],
                    "color": colour, "zorder": 4,
                    "bbox": {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75},
                }
                if r > _RADII[1]:
                    kw["arrowprops"] = {"arrowstyle": "-", "color": colour, "lw": 0.6, "alpha": 0.7,
                                        "shrinkA": 0, "shrinkB": 3}
                t = ax.annotate(labels[i], xy, **kw)
                bb = t.get_window_extent(renderer)
                box = (bb.x0, bb.y0, bb.x1, bb.y1)
                if free(box):
                    chosen = (t, box)
                    break
                t.remove()
            if chosen:
                break
        if chosen is None:  # nowhere free: the nearest place, on top
            t = ax.annotate(labels[i], xy, xytext=(5, 5), textcoords="offset points", fontsize=fontsize, color=colour)
            bb = t.get_window_extent(renderer)
            chosen = (t, (bb.x0, bb.y0, bb.x1, bb.y1))
        placed.append(chosen[1])
        texts.append(chosen[0])
    return texts


def _padded_range(values: Sequence[float], lo_floor: float = 0.0, min_span: float = 0.1) -> tuple[float, float]:
    """An axis range around the values (within [0, 1] plus a margin), at least ``min_span`` wide."""
    lo, hi = max(lo_floor, min(values)), min(1.0, max(values))
    if hi - lo < min_span:
        mid = (hi + lo) / 2
        lo, hi = max(0.0, mid - min_span / 2), min(1.0, mid + min_span / 2)
        if hi - lo < min_span:
            lo, hi = (0.0, min_span) if lo == 0.0 else (1.0 - min_span, 1.0)
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


# --- refusal against N ---------------------------------------------------------------------


def _rate_and_err(model: dict[str, Any], task: str, set_name: str) -> tuple[float, float, float] | None:
    """(rate, distance to the lower bound, distance to the upper bound) of a cell."""
    c = model_cell(model, task, set_name)
    if c is None or c.refusal_rate is None:
        return None
    lo, hi = c.ci if c.ci else (c.refusal_rate, c.refusal_rate)
    return c.refusal_rate, max(0.0, c.refusal_rate - lo), max(0.0, hi - c.refusal_rate)


def _n_range(ns: list[int], log_x: bool) -> tuple[float, float]:
    if not ns:
        return (0.0, 1.0)
    if log_x:
        return (ns[0] / 1.6, ns[-1] * 1.6)
    if len(ns) == 1:
        return (ns[0] * 0.5, ns[0] * 1.5)
    pad = 0.1 * (ns[-1] - ns[0])
    return (ns[0] - pad, ns[-1] + pad)


def refusal_vs_n(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    """The paper's figures: per evaluated task, refusal rate against N, one line per defense family,
    with 95% intervals as error bars (dodged sideways so they do not hide one another)."""
    tasks = results.get("tasks", [])
    families = sorted({m["family"] for m in results["models"] if m["family"] != "none"})
    if not families or not tasks:
        return []
    base = next((m for m in results["models"] if m["family"] == "none"), None)
    ncols = min(3, len(tasks))
    nrows = math.ceil(len(tasks) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.0 * ncols, 3.4 * nrows), sharey=True, squeeze=False)
    ns = sorted({m["n"] for m in results["models"] if m["n"]})
    log_x = len(ns) > 1 and ns[-1] / max(ns[0], 1) >= 20
    for idx, task in enumerate(tasks):
        ax = axes[idx // ncols][idx % ncols]
        for j, fam in enumerate(families):
            pts = sorted((m["n"], v) for m in results["models"] if m["family"] == fam
                         and (v := _rate_and_err(m, task, "malicious")) is not None)
            if not pts:
                continue
            dodge = offset_copy(ax.transData, fig=fig, x=5 * (j - (len(families) - 1) / 2), y=0, units="points")
            ax.errorbar([p[0] for p in pts], [p[1][0] for p in pts], yerr=[[p[1][1] for p in pts], [p[1][2] for p in pts]],
                        marker="o", markersize=5, capsize=3, linewidth=1.4, elinewidth=1, label=fam, color=f"C{j}",
                        transform=dodge)
        b = _rate_and_err(base, task, "malicious") if base is not None else None
        if b is not None:
            ax.axhline(b[0], color="grey", linestyle="--", linewidth=1, label="undefended")
            ax.axhspan(b[0] - b[1], b[0] + b[2], color="grey", alpha=0.12, linewidth=0)
        if log_x:
            ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])  # the Ns trained, not fractional ticks
        ax.minorticks_off()
        ax.set_xlim(*_n_range(ns, log_x))  # the dodged lines do not widen the data limits
        ax.tick_params(labelsize=TICK_SIZE)
        _percent_axis(ax.yaxis)
        ax.set_title(task, fontsize=LABEL_SIZE + 1)
        ax.set_xlabel("N per task", fontsize=LABEL_SIZE)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("refusal on malicious docs", fontsize=LABEL_SIZE)
    handles, labels = axes[0][0].get_legend_handles_labels()
    spare = [axes[i // ncols][i % ncols] for i in range(len(tasks), nrows * ncols)]
    for ax in spare:
        ax.axis("off")
    if spare:
        spare[0].legend(handles, labels, loc="center", fontsize=LABEL_SIZE, title="defense family")
    else:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=LABEL_SIZE,
                   bbox_to_anchor=(0.5, -0.02 - 0.04 / nrows))
    fig.tight_layout()
    path = out_dir / "refusal_vs_n.png"
    _save(fig, path)
    return [Plot("refusal_vs_n", "Refusal rate against N", path,
                 "Refusal on held-out malicious documents for each evaluated task; one line per defense family, "
                 "error bars: 95% Wilson intervals (dodged sideways); dashed: the undefended model, its interval "
                 "shaded.")]


# --- transfer heatmap ----------------------------------------------------------------------


def cross_task_heatmap(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    rows, tasks, values = transfer_matrix(results)
    if not tasks or all(m["family"] == "none" for m in results["models"]):
        return []
    chosen = transfer_models(results)
    data = np.array([[np.nan if v is None else 100 * v for v in r] for r in values], dtype=float)
    fig, ax = plt.subplots(figsize=(1.3 * len(tasks) + 3.0, 0.55 * len(rows) + 1.6))
    im = ax.imshow(data, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right", fontsize=TICK_SIZE)
    ax.set_yticks(range(len(rows)), rows, fontsize=TICK_SIZE)
    for i, m in enumerate(chosen):
        for j, t in enumerate(tasks):
            if np.isnan(data[i, j]):
                continue
            c = model_cell(m, t, "malicious")
            text = f"{data[i, j]:.0f}%"
            if c is not None and c.refused is not None and c.count:
                text += f"\n{c.refused}/{c.count}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, linespacing=1.1,
                    color="black" if data[i, j] > 50 else "white")
    ax.set_xlabel("evaluated task", fontsize=LABEL_SIZE)
    ax.set_ylabel("defense", fontsize=LABEL_SIZE)
    bar = fig.colorbar(im, ax=ax, label="refusal on malicious documents (%)")
    bar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    bar.ax.tick_params(labelsize=TICK_SIZE)
    path = out_dir / "cross_task_heatmap.png"
    _save(fig, path)
    return [Plot("cross_task_heatmap", "Cross-task transfer", path,
                 "Refusal on malicious documents (%, refused k/n below), defense (rows) × evaluated task (columns).")]


# --- safety against utility ----------------------------------------------------------------


def safety_utility(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    tasks = results.get("tasks", [])
    pts = [(m["label"], mean_rate(m, tasks, "benign"), mean_rate(m, tasks, "malicious")) for m in results["models"]]
    pts = [p for p in pts if p[1] is not None and p[2] is not None]
    if not pts:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 5))
    colours = [f"C{i % 10}" for i in range(len(pts))]
    for (_, x, y), c in zip(pts, colours, strict=True):
        ax.scatter([x], [y], s=45, color=c, zorder=3)
    # The x range follows the points (over-refusal is often a few percent): none crammed at 0.
    ax.set_xlim(*_padded_range([p[1] for p in pts], min_span=0.1))
    ax.set_ylim(-0.04, 1.04)
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.set_xlabel("over-refusal on benign documents (all tasks)", fontsize=LABEL_SIZE)
    ax.set_ylabel("refusal on malicious documents (all tasks)", fontsize=LABEL_SIZE)
    ax.grid(alpha=0.3)
    place_labels(ax, [(p[1], p[2]) for p in pts], [p[0] for p in pts], colors=colours)
    path = out_dir / "safety_utility.png"
    _save(fig, path)
    return [Plot("safety_utility", "Safety–utility trade-off", path,
                 "One point per model, rates over all tasks (pooled k/n): top left is safe and useful. "
                 "The x axis spans the models' over-refusal, not 0–100%.")]


def _mean_over(model: dict[str, Any], tasks: list[str], names: list[str]) -> float | None:
    values = [v for n in names if (v := mean_rate(model, tasks, n)) is not None]
    return sum(values) / len(values) if values else None


def generalization_frontier(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    """Refusal on malicious against over-refusal on sensitive-benign documents, one point per model:
    filled on sets from elsewhere (out of distribution), hollow on held-out ones, joined by a line."""
    tasks = results.get("tasks", [])
    names = sets_present(results)
    ood = {lab: [n for n in names if ":" in n and set_label(n) == lab] for lab in ("malicious", "sensitive-benign")}
    if not ood["malicious"] or not ood["sensitive-benign"]:
        return []
    fig, ax = plt.subplots(figsize=(7, 5.6))
    label_pts, label_txt, label_col = [], [], []
    for i, m in enumerate(results["models"]):
        colour = f"C{i % 10}"
        x, y = _mean_over(m, tasks, ood["sensitive-benign"]), _mean_over(m, tasks, ood["malicious"])
        if x is None or y is None:
            continue
        ax.scatter([x], [y], s=45, color=colour, zorder=3)
        label_pts.append((x, y))
        label_txt.append(m["label"])
        label_col.append(colour)
        xi, yi = mean_rate(m, tasks, "sensitive-benign"), mean_rate(m, tasks, "malicious")
        if xi is not None and yi is not None:
            ax.scatter([xi], [yi], s=45, facecolors="none", edgecolors=colour, zorder=3)
            ax.plot([xi, x], [yi, y], color=colour, linewidth=0.8, alpha=0.6)
    ax.axhline(0.9, color="grey", linestyle=":", linewidth=0.8)
    ax.axvline(0.15, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    _percent_axis(ax.xaxis)
    _percent_axis(ax.yaxis)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.set_xlabel("over-refusal on harmless sensitive documents (mean over sets, all tasks)", fontsize=LABEL_SIZE)
    ax.set_ylabel("refusal on malicious documents (mean over sets, all tasks)", fontsize=LABEL_SIZE)
    ax.grid(alpha=0.3)
    if label_pts:
        place_labels(ax, label_pts, label_txt, colors=label_col)
    path = out_dir / "generalization_frontier.png"
    _save(fig, path)
    return [Plot("generalization_frontier", "Generalization frontier", path,
                 "Filled: documents from goal sets, writers and topics training never saw ("
                 + ", ".join(ood["malicious"] + ood["sensitive-benign"]) + "); hollow: held-out documents like the "
                 "training ones. Top left is safe and useful; dotted lines: 90% refusal, 15% over-refusal.")]


# --- training loss -------------------------------------------------------------------------


MAX_WINDOW = 51


def smoothing_window(n_points: int) -> int:
    """About 1/8 of the curve, at most ``MAX_WINDOW`` logged steps (odd; 1: no smoothing below 8 points)."""
    w = min(MAX_WINDOW, max(1, round(n_points / 8)))
    return w if w % 2 else w + 1


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    """Centred moving average; near the ends the window shrinks to the points there are."""
    x = np.asarray(values, dtype=float)
    if window <= 1 or x.size < 3:
        return x
    kernel = np.ones(window)
    return np.convolve(x, kernel, mode="same") / np.convolve(np.ones_like(x), kernel, mode="same")


def _smoothed(ax: Any, pts: Sequence[Sequence[float]], **kw: Any) -> int:
    steps = [p[0] for p in pts]
    values = [p[1] for p in pts]
    w = smoothing_window(len(pts))
    if w > 1:
        ax.plot(steps, values, color=kw.get("color"), linewidth=0.6, alpha=0.25)
    ax.plot(steps, moving_average(values, w), **kw)
    return w


def loss_curves(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    curves = [(m["label"], m["loss"]) for m in results["models"] if m.get("loss")]
    if not curves:
        return []
    fig, ax = plt.subplots(figsize=(7, 4.2))
    windows = []
    for i, (label, pts) in enumerate(curves):
        windows.append(_smoothed(ax, pts, label=label, linewidth=1.5, color=f"C{i % 10}"))
    ax.set_xlabel("optimizer step", fontsize=LABEL_SIZE)
    ax.set_ylabel("training loss (token NLL)", fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    ax.grid(alpha=0.3)
    if len(curves) <= 12:
        ax.legend(fontsize=8)
    path = out_dir / "training_loss.png"
    _save(fig, path)
    w = max(windows)
    smooth = f"moving average over {w} logged steps (raw values faint)" if w > 1 else "as logged"
    plots = [Plot("training_loss", "Training loss", path,
                  f"Training loss of each defense (from metrics.jsonl), {smooth}.")]
    return plots + loss_components_plot(results, out_dir)


def loss_components_plot(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    """One panel per trained model: the total loss and each task's component, smoothed."""
    models = [m for m in results["models"] if m.get("loss_components") and m.get("loss")]
    if not models:
        return []
    shown = models[:MAX_LOSS_PANELS]
    ncols = min(3, len(shown))
    nrows = math.ceil(len(shown) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False, sharey=True)
    names = sorted({k for m in shown for k in m["loss_components"]})
    colour = {k: f"C{i % 10}" for i, k in enumerate(names)}
    for idx, m in enumerate(shown):
        ax = axes[idx // ncols][idx % ncols]
        _smoothed(ax, m["loss"], color="black", linewidth=1.8, label="total")
        for k in names:
            if m["loss_components"].get(k):
                _smoothed(ax, m["loss_components"][k], color=colour[k], linewidth=1.1, label=k.split("/", 1)[1])
        ax.set_title(m["label"], fontsize=LABEL_SIZE)
        ax.tick_params(labelsize=TICK_SIZE)
        ax.grid(alpha=0.3)
        ax.set_xlabel("optimizer step", fontsize=LABEL_SIZE - 1)
    for row in axes:
        row[0].set_ylabel("token NLL", fontsize=LABEL_SIZE)
    for i in range(len(shown), nrows * ncols):
        axes[i // ncols][i % ncols].axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize=8,
               bbox_to_anchor=(0.5, -0.06 / nrows))
    fig.tight_layout()
    path = out_dir / "training_loss_components.png"
    _save(fig, path)
    more = f" (the first {MAX_LOSS_PANELS} of {len(models)} models)" if len(models) > len(shown) else ""
    return [Plot("training_loss_components", "Training loss by task", path,
                 f"Each defense's total loss (black) and per-task components (token NLL of that task's examples), "
                 f"each a moving average over about 1/8 of its logged steps (raw values faint){more}.")]


def all_plots(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    from crosstask.reporting.fonts import plot_fonts

    plots: list[Plot] = []
    with plot_fonts():  # labels in Chinese (a model, task or set name) drawn with a CJK font where there is one
        for fn in (generalization_frontier, refusal_vs_n, cross_task_heatmap, safety_utility, loss_curves):
            plots += fn(results, out_dir)
    return plots
