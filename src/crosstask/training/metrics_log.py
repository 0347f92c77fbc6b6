"""Per-step metrics (``metrics.jsonl``), the loss plot (``loss.png``) and the progress bar."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.progress import Progress

from crosstask.io import append_jsonl, read_jsonl_tolerant, write_jsonl
from crosstask.progress import progress_bar


def truncate_metrics(path: Path, last_step: int) -> list[dict[str, Any]]:
    """Keep the records up to ``last_step`` (a resumed run rewrites the steps after its checkpoint)."""
    kept = [r for r in read_jsonl_tolerant(path) if r.get("step", math.inf) <= last_step]
    write_jsonl(path, kept)
    return kept


def log_metrics(path: Path, record: dict[str, Any]) -> None:
    append_jsonl(path, record)


def plot_losses(metrics_path: Path, out_png: Path) -> None:
    """Total loss and each per-task component against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from crosstask.io import atomic_path

    recs = read_jsonl_tolerant(metrics_path)
    if not recs:
        return
    fig, ax = plt.subplots(figsize=(7, 4))
    steps = [r["step"] for r in recs]
    ax.plot(steps, [r["loss"] for r in recs], label="loss (total)", color="black", linewidth=2)
    task_keys = sorted({k for r in recs for k in r if k.startswith("loss/") and k.count("/") == 1})
    for key in task_keys:
        pts = [(r["step"], r[key]) for r in recs if key in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key, linewidth=1, alpha=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("token NLL")
    ax.set_title("crosstask training loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def make_progress(enabled: bool) -> Progress:
    return progress_bar("loss {task.fields[loss]}", "{task.fields[tps]} tok/s", enabled=enabled)
