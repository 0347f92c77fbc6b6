"""Gather the finished stages' outputs into the ``results.json`` structure the report reads."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from crosstask.document import set_order
from crosstask.evaluation.results import upgrade_metrics
from crosstask.io import read_json, read_jsonl_tolerant
from crosstask.pipeline.actions import SAMPLES_FILE, TEST_FILE, loss_components, loss_curve, pick_samples
from crosstask.pipeline.plan import Plan
from crosstask.pipeline.provenance import file_sha256, provenance
from crosstask.pipeline.stage import DONE_FILE, StageOutput

EVAL_SUMMARY = "summary.json"  # written by the evaluator into the eval stage's folder
DEFENSE_FILES = ("manifest.json", "train.jsonl")


def _eval_summary(ev: StageOutput) -> dict[str, Any]:
    """The evaluator's summary.json of an eval stage ({} for stand-in stages that wrote none)."""
    path = ev.dir / EVAL_SUMMARY
    try:
        data = read_json(path) if path.exists() else {}
    except Exception:  # a damaged summary must not stop the report; the metrics come from the stage
        data = {}
    return data if isinstance(data, dict) else {}


def _judge(ev: StageOutput, summary: dict[str, Any]) -> tuple[str | None, list[str]]:
    """The primary judge (``name@version``) and every judge of an evaluation."""
    primary = ev.summary.get("judge") or summary.get("judge")
    judges = ev.summary.get("judges") or summary.get("judges") or ([primary] if primary else [])
    return primary, list(judges)


def _relative(path: Path, root: Path) -> str:
    """A path inside the run folder relative to it, so a moved run folder reports the same results."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _agreement(agreement: Any, samples: list[dict[str, Any]], max_chars: int) -> dict[str, Any] | None:
    """The evaluation's judge agreement, its example ids joined with their outputs (clipped)."""
    if not isinstance(agreement, dict) or not agreement:
        return None
    by_id = {s.get("id"): s for s in samples if isinstance(s, dict)}
    out: dict[str, Any] = {}
    for other, a in agreement.items():
        if not isinstance(a, dict):
            continue
        examples = {}
        for side, ids in (a.get("examples") or {}).items():
            examples[side] = [{"id": i, "output": str((by_id.get(i) or {}).get("output", ""))[:max_chars]}
                              for i in ids or []]
        out[other] = {**a, "examples": examples}
    return out or None


def _dataset(name: str, folder: Path, files: tuple[str, ...], root: Path) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "path": _relative(folder, root)}
    for f in files:
        if (folder / f).exists():
            entry[f] = file_sha256(folder / f)
    manifest = folder / "manifest.json"
    if manifest.exists():
        try:
            m = read_json(manifest)
        except Exception:
            m = {}
        if isinstance(m, dict):
            entry.update({k: m[k] for k in ("config_hash", "total", "recipe") if k in m})
    return entry


def _finished_at(outputs: dict[str, StageOutput]) -> str | None:
    """When the newest stage finished (UTC): the date of the results, the same on every rerun."""
    times = [p.stat().st_mtime for o in outputs.values() if (p := o.dir / DONE_FILE).exists()]
    if not times:
        return None
    return _dt.datetime.fromtimestamp(max(times), _dt.UTC).replace(microsecond=0).isoformat()


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
    root = cfg.output_path()
    models = []
    all_judges: list[str] = []
    datasets: list[dict[str, Any]] = []
    if "testset" in outputs:
        datasets.append(_dataset("test documents", outputs["testset"].dir, (TEST_FILE,), root))
    for m in plan.models:
        ev = outputs[f"eval/{m.id}"]
        tr = outputs.get(f"train/{m.id}")
        de = outputs.get(f"defense/{m.id}")
        summary = _eval_summary(ev)
        judge, judges = _judge(ev, summary)
        all_judges += [j for j in judges if j not in all_judges]
        if de is not None and not any(d["path"] == _relative(de.dir, root) for d in datasets):
            datasets.append(_dataset(f"defense dataset {de.name.split('/', 1)[-1]}", de.dir, DEFENSE_FILES, root))
        models.append({
            "id": m.id, "label": m.label, "family": m.family, "recipe": m.recipe, "n": m.n,
            "metrics": _ordered_metrics(upgrade_metrics(ev.summary.get("metrics", {}), where=f"stage eval/{m.id}: metrics"),
                                        list(cfg.eval.tasks)),
            "judge": judge,
            "adapter": _relative(tr.dir, root) if tr else None,
            "samples": pick_samples(samples := read_jsonl_tolerant(ev.dir / SAMPLES_FILE), cfg.report.samples_per_cell),
            "agreement": _agreement(summary.get("agreement"), samples, cfg.report.max_sample_chars),
            "loss": loss_curve(tr.dir) if tr else None,
            "loss_components": (loss_components(tr.dir) or None) if tr else None,
            "train": tr.summary if tr else None,
            "guards": list(m.guards) or None,
            "stages": {kind: outputs[f"{kind}/{m.id}"].key for kind in ("defense", "train", "guard", "eval")
                       if f"{kind}/{m.id}" in outputs},
        })
    primaries = list(dict.fromkeys(m["judge"] for m in models if m["judge"]))
    prov = provenance(cfg.model_dump(mode="json"), seed=cfg.seed, judges=all_judges, datasets=datasets)
    prov["date"] = _finished_at(outputs) or prov["date"]
    return {
        "schema": "crosstask.results/1",
        "experiment": cfg.name, "description": cfg.description, "base_model": cfg.model.name,
        "prompt_format": cfg.model.prompt_format, "seed": cfg.seed,
        "judge": primaries[0] if primaries else None, "judges": all_judges,
        "tasks": cfg.eval.tasks, "defense_tasks": cfg.defense.tasks,
        "test_counts": {name: counts[name] for name in set_order(counts)},
        "max_sample_chars": cfg.report.max_sample_chars,
        "provenance": prov,
        "models": models,
    }
