"""Gather the finished stages' outputs into the ``results.json`` structure the report reads."""

from __future__ import annotations

from typing import Any

from crosstask.document import set_order
from crosstask.io import read_jsonl_tolerant
from crosstask.pipeline.actions import SAMPLES_FILE, loss_curve, pick_samples
from crosstask.pipeline.plan import Plan
from crosstask.pipeline.stage import StageOutput


def _ordered_metrics(metrics: dict[str, Any], tasks: list[str]) -> dict[str, Any]:
    """``{task: {set: cell}}`` in the experiment's task order and the evaluation-set order, whether the
    stage ran now or was read back from its (key-sorted) JSON."""
    order = [t for t in tasks if t in metrics] + sorted(t for t in metrics if t not in tasks)
    return {t: {s: metrics[t][s] for s in set_order(metrics[t])} for t in order}


def collect_results(plan: Plan, outputs: dict[str, StageOutput]) -> dict[str, Any]:
    """The results of a run; the same, key for key and in the same order, whether its stages ran now
    or were found finished."""
    cfg = plan.config
    counts = outputs["testset"].summary.get("counts", {})
    models = []
    for m in plan.models:
        ev = outputs[f"eval/{m.id}"]
        tr = outputs.get(f"train/{m.id}")
        models.append({
            "id": m.id, "label": m.label, "family": m.family, "recipe": m.recipe, "n": m.n,
            "metrics": _ordered_metrics(ev.summary.get("metrics", {}), list(cfg.eval.tasks)),
            "samples": pick_samples(read_jsonl_tolerant(ev.dir / SAMPLES_FILE), cfg.report.samples_per_cell),
            "loss": loss_curve(tr.dir) if tr else None,
            "train": tr.summary if tr else None,
            "stages": {kind: outputs[f"{kind}/{m.id}"].key for kind in ("defense", "train", "eval")
                       if f"{kind}/{m.id}" in outputs},
        })
    return {
        "schema": "crosstask.results/1",
        "experiment": cfg.name, "description": cfg.description, "base_model": cfg.model.name,
        "prompt_format": cfg.model.prompt_format, "seed": cfg.seed,
        "tasks": cfg.eval.tasks, "defense_tasks": cfg.defense.tasks,
        "test_counts": {name: counts[name] for name in set_order(counts)},
        "max_sample_chars": cfg.report.max_sample_chars,
        "models": models,
    }
