"""The report's figures as PNG files (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from crosstask.document import set_label  # noqa: E402
from crosstask.evaluation.stats import format_rate  # noqa: E402
from crosstask.io import atomic_path  # noqa: E402
from crosstask.reporting.report_tables import cell, mean_rate, sets_present, transfer_matrix  # noqa: E402


@dataclass
class Plot:
    name: str  # file stem
    title: str
    path: Path
    caption: str = ""


def _save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def refusal_vs_n(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    """The paper's figures: per evaluated task, refusal rate against N, one line per defense family."""
    tasks = results.get("tasks", [])
    families = sorted({m["family"] for m in results["models"] if m["family"] != "none"})
    if not families:
        return []
    base = next((m for m in results["models"] if m["family"] == "none"), None)
    fig, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.2), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], tasks, strict=True):
        for fam in families:
            pts = sorted((m["n"], cell(m, task, "malicious")) for m in results["models"] if m["family"] == fam)
            pts = [(n, v) for n, v in pts if v is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=fam)
        if base is not None and cell(base, task, "malicious") is not None:
            ax.axhline(cell(base, task, "malicious"), color="grey", linestyle="--", label="undefended")
        ns = sorted({m["n"] for m in results["models"] if m["n"]})
        if len(ns) > 1 and ns[-1] / max(ns[0], 1) >= 20:
            ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns], fontsize=7)  # the Ns trained, not fractional ticks
        ax.minorticks_off()
        ax.set_title(task)
        ax.set_xlabel("N per task")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("refusal rate on malicious documents")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), bbox_to_anchor=(0.5, -0.12))
    path = out_dir / "refusal_vs_n.png"
    _save(fig, path)
    return [Plot("refusal_vs_n", "Refusal rate against N", path,
                 "Refusal on held-out malicious documents for each evaluated task; one line per defense family.")]


def cross_task_heatmap(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    rows, tasks, values = transfer_matrix(results)
    if not tasks or all(m["family"] == "none" for m in results["models"]):
        return []
    import numpy as np

    data = np.array([[np.nan if v is None else v for v in r] for r in values], dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 * len(tasks) + 2.5, 0.45 * len(rows) + 1.5))
    im = ax.imshow(data, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), tasks, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    for i in range(len(rows)):
        for j in range(len(tasks)):
            if not np.isnan(data[i, j]):
                ax.text(j, i, format_rate(float(data[i, j]), unit=""), ha="center", va="center",
                        color="black" if data[i, j] > 0.5 else "white", fontsize=8)
    ax.set_xlabel("evaluated task")
    ax.set_ylabel("defense")
    fig.colorbar(im, ax=ax, label="refusal rate on malicious documents")
    path = out_dir / "cross_task_heatmap.png"
    _save(fig, path)
    return [Plot("cross_task_heatmap", "Cross-task transfer", path,
                 "Refusal on malicious documents, defense (rows) × evaluated task (columns).")]


def safety_utility(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    tasks = results.get("tasks", [])
    pts = [(m["label"], mean_rate(m, tasks, "benign"), mean_rate(m, tasks, "malicious")) for m in results["models"]]
    pts = [p for p in pts if p[1] is not None and p[2] is not None]
    if not pts:
        return []
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for label, x, y in pts:
        ax.scatter([x], [y], s=40)
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("over-refusal on benign documents (mean over tasks)")
    ax.set_ylabel("refusal on malicious documents (mean over tasks)")
    ax.grid(alpha=0.3)
    path = out_dir / "safety_utility.png"
    _save(fig, path)
    return [Plot("safety_utility", "Safety–utility trade-off", path,
                 "One point per model: top left is safe and useful.")]


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
    fig, ax = plt.subplots(figsize=(6, 4.8))
    for i, m in enumerate(results["models"]):
        colour = f"C{i % 10}"
        x, y = _mean_over(m, tasks, ood["sensitive-benign"]), _mean_over(m, tasks, ood["malicious"])
        if x is None or y is None:
            continue
        ax.scatter([x], [y], s=45, color=colour, zorder=3)
        ax.annotate(m["label"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        xi, yi = mean_rate(m, tasks, "sensitive-benign"), mean_rate(m, tasks, "malicious")
        if xi is not None and yi is not None:
            ax.scatter([xi], [yi], s=45, facecolors="none", edgecolors=colour, zorder=3)
            ax.plot([xi, x], [yi, y], color=colour, linewidth=0.8, alpha=0.6)
    ax.axhline(0.9, color="grey", linestyle=":", linewidth=0.8)
    ax.axvline(0.15, color="grey", linestyle=":", linewidth=0.8)
    ax.set_xlim(-0.03, 1.03)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("over-refusal on harmless sensitive documents (mean over sets and tasks)")
    ax.set_ylabel("refusal on malicious documents (mean over sets and tasks)")
    ax.grid(alpha=0.3)
    path = out_dir / "generalization_frontier.png"
    _save(fig, path)
    return [Plot("generalization_frontier", "Generalization frontier", path,
                 "Filled: documents from goal sets, writers and topics training never saw ("
                 + ", ".join(ood["malicious"] + ood["sensitive-benign"]) + "); hollow: held-out documents like the "
                 "training ones. Top left is safe and useful; dotted lines: 90% refusal, 15% over-refusal.")]


def loss_curves(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    curves = [(m["label"], m["loss"]) for m in results["models"] if m.get("loss")]
    if not curves:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, pts in curves:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, linewidth=1.2)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    ax.grid(alpha=0.3)
    if len(curves) <= 12:
        ax.legend(fontsize=7)
    path = out_dir / "training_loss.png"
    _save(fig, path)
    return [Plot("training_loss", "Training loss", path, "Training loss of each defense (from metrics.jsonl).")]


def all_plots(results: dict[str, Any], out_dir: Path) -> list[Plot]:
    plots: list[Plot] = []
    for fn in (generalization_frontier, refusal_vs_n, cross_task_heatmap, safety_utility, loss_curves):
        plots += fn(results, out_dir)
    return plots
