"""What each stage does: thin calls into the library (sources, defense builder, trainer, evaluator).

Each action reads its config slice from ``ctx.stage.inputs`` and its upstream outputs from
``ctx.deps``, writes into ``ctx.work_dir`` and returns a small JSON summary. Heavy imports
happen inside the actions, so planning (and ``--dry-run``) loads no model code.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from crosstask.document import EVAL_SET_KEY, LABELS, Document, set_label, set_order
from crosstask.errors import CrosstaskError
from crosstask.io import read_json, read_jsonl, write_jsonl
from crosstask.pipeline.stage import StageContext

HELDOUT_FILE = "heldout.jsonl"
TEST_FILE = "documents.jsonl"
SAMPLES_FILE = "samples.jsonl"  # written by the evaluator: one record per (set, task, document)


def train_file(label: str) -> str:
    return f"train-{label}.jsonl"


def _load_all(specs: list[dict[str, Any]], sets: list[str | None] | None = None) -> list[Document]:
    """Documents of every source; ids must be unique across sources (they key caches and reports).

    ``sets`` names the evaluation set of each source's documents (None: their label)."""
    from crosstask.data.sources import load_source

    docs: list[Document] = []
    origin: dict[str, int] = {}
    for i, spec in enumerate(specs):
        set_name = sets[i] if sets else None
        for d in load_source(spec):
            if set_name:
                d = Document(d.id, d.text, set_label(set_name), d.source, d.meta | {EVAL_SET_KEY: set_name})  # type: ignore[arg-type]
            if d.id in origin:
                raise CrosstaskError(f"document id {d.id!r} appears in source {origin[d.id]} and source {i} "
                                     f"({spec['kind']}); give one of them a distinct id prefix")
            origin[d.id] = i
            docs.append(d)
    return docs


def documents(ctx: StageContext) -> dict[str, Any]:
    """Load (or harvest) the documents and hold out a seeded test split per label."""
    from crosstask.data.defense.split import split_documents

    inputs = ctx.stage.inputs
    docs = _load_all(inputs["sources"])
    heldout: list[Document] = []
    counts: dict[str, dict[str, int]] = {}
    for label in LABELS:
        of_label = [d for d in docs if d.label == label]
        want = inputs["heldout"][label.replace("-", "_")]
        if want > len(of_label):
            raise CrosstaskError(f"documents.heldout.{label.replace('-', '_')}: {want} held out, but the sources "
                                 f"gave only {len(of_label)} {label} documents")
        train, test = split_documents(of_label, want, inputs["seed"], label) if want else (of_label, [])
        heldout += test
        counts[label] = {"train": len(train), "heldout": len(test)}
        write_jsonl(ctx.work_dir / train_file(label), [d.to_dict() for d in train])
    write_jsonl(ctx.work_dir / HELDOUT_FILE, [d.to_dict() for d in heldout])
    return {"counts": counts}


def testset(ctx: StageContext) -> dict[str, Any]:
    """The evaluation documents: the held-out split and any evaluation-only sources."""
    inputs = ctx.stage.inputs
    docs: list[Document] = []
    if inputs["evaluate_heldout"]:
        docs += [Document.from_dict(r) for r in read_jsonl(ctx.dep("documents").dir / HELDOUT_FILE)]
    seen = {d.id for d in docs}
    entries = inputs["test_sources"]
    for d in _load_all([e["spec"] for e in entries], [e["set"] for e in entries]):
        if d.id in seen:
            raise CrosstaskError(f"documents.test_sources: document id {d.id!r} is also a held-out document")
        docs.append(d)
    if not docs:
        raise CrosstaskError("no documents to evaluate: set documents.heldout or documents.test_sources")
    write_jsonl(ctx.work_dir / TEST_FILE, [d.to_dict() for d in docs])
    counts = Counter(str(d.meta.get(EVAL_SET_KEY) or d.label) for d in docs)
    return {"counts": {name: counts[name] for name in set_order(counts)}}


def defense(ctx: StageContext) -> dict[str, Any]:
    """Build one defense dataset (recipe, N) from the training split."""
    from crosstask.data.defense import build_defense_dataset
    from crosstask.data.defense.defense_config import parse_defense_config
    from crosstask.pipeline.experiment_config import defense_fields

    inputs = ctx.stage.inputs
    docs_dir = ctx.dep("documents").dir
    pools = {}
    for label, key in (("malicious", "malicious"), ("benign", "benign"), ("sensitive-benign", "sensitive")):
        path = docs_dir / train_file(label)
        pools[key] = [{"kind": "documents", "path": str(path)}] if read_jsonl(path) else []
    config = parse_defense_config({
        **inputs["builder"], **pools, "recipe": inputs["recipe"], "n": inputs["n"], "tasks": inputs["tasks"],
        "test_size": 0, **defense_fields(inputs["model"], inputs["seed"]),
    }, where=f"stage {ctx.stage.name}")
    build_defense_dataset(config, ctx.work_dir, overwrite=True)  # the work folder is this stage's own
    manifest = ctx.work_dir / "manifest.json"
    return {"manifest": read_json(manifest) if manifest.exists() else {}}


def train_stage(ctx: StageContext) -> dict[str, Any]:
    """LoRA-tune the base model on the defense dataset; resumes from checkpoints in the work folder."""
    from crosstask.pipeline.experiment_config import train_fields
    from crosstask.training import TrainSection
    from crosstask.training import train as run_training

    inputs = ctx.stage.inputs
    where = f"stage {ctx.stage.name}"
    config = TrainSection.parse(inputs["train"], where=where).to_config(
        where=where, **train_fields(inputs["model"], inputs["seed"]))
    result = run_training(config, ctx.dep("defense").dir, ctx.work_dir, resume=True)
    return {"steps": result.steps, "final_loss": result.final_loss, "train_seconds": round(result.train_seconds, 2),
            "n_examples": result.n_examples, "n_dropped": result.n_dropped, "resumed_from": result.resumed_from}


def guard_stage(ctx: StageContext) -> dict[str, Any]:
    """Train the input guard on the defense dataset's malicious vs benign and sensitive-benign documents."""
    from crosstask.judges.input_guard import train_input_guard

    guard = train_input_guard(ctx.dep("defense").dir, ctx.work_dir, {"seed": ctx.stage.inputs["seed"]})
    return {"n": guard.meta["n"], "malicious": guard.meta["malicious"], "threshold": guard.threshold}


def eval_stage(ctx: StageContext) -> dict[str, Any]:
    """Evaluate the base model or a trained adapter on the test documents × tasks."""
    from crosstask.evaluation import evaluate as run_evaluation
    from crosstask.evaluation.results import model_metrics
    from crosstask.pipeline.experiment_config import eval_model_fields

    inputs = ctx.stage.inputs
    from crosstask.models.prompt_formats import SAFETY_SYSTEM_PROMPT

    trained = [d for d in ctx.deps.values() if d.kind == "train"]
    guard = [d for d in ctx.deps.values() if d.kind == "guard"]
    spec = ctx.stage.meta.get("model")
    guards = inputs.get("guards", [])
    config = {
        **inputs["eval"]["options"], **eval_model_fields(inputs["model"], inputs["seed"]),
        **({"system_prompt": SAFETY_SYSTEM_PROMPT} if "system-prompt" in guards else {}),
        "input_guard": str(guard[0].dir) if guard else None,
        "adapter": str(trained[0].dir) if trained else None, "name": spec.id if spec else None,
        "documents": [{"kind": "documents", "path": str(ctx.dep("testset").dir / TEST_FILE)}],
        "tasks": inputs["eval"]["tasks"], "output_dir": str(ctx.work_dir),
    }
    result = run_evaluation(config)
    return {"metrics": model_metrics(result.summary), "judge": result.summary.get("judge"),
            "judges": result.summary.get("judges", [])}


def pick_samples(records: list[dict[str, Any]], per_cell: int) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The first ``per_cell`` outputs (by document id) of each task and document set, for the report."""
    cells: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in sorted(records, key=lambda r: (r["task"], r["set"], str(r["doc_id"]))):
        bucket = cells.setdefault(r["task"], {}).setdefault(r["set"], [])
        if len(bucket) < per_cell:
            bucket.append({"doc_id": r["doc_id"], "output": r.get("output", ""), "refused": bool(r.get("refusal"))})
    return cells


def loss_curve(train_dir: Path) -> list[list[float]]:
    """``[[step, loss], ...]`` from a training run's metrics.jsonl (empty when absent)."""
    return loss_components(train_dir, keys=("loss",)).get("loss", [])


def loss_components(train_dir: Path, keys: tuple[str, ...] | None = None) -> dict[str, list[list[float]]]:
    """``{"loss/<task>": [[step, value], ...]}``: the per-task loss components the trainer logs in
    metrics.jsonl (``keys`` picks others, e.g. ``("loss",)``); {} when absent."""
    from crosstask.io import read_jsonl_tolerant

    out: dict[str, list[list[float]]] = {}
    for rec in read_jsonl_tolerant(train_dir / "metrics.jsonl"):
        if not isinstance(rec.get("step"), int | float):
            continue
        for k, v in rec.items():
            wanted = k in keys if keys is not None else (k.startswith("loss/") and k.count("/") == 1)
            if wanted and isinstance(v, int | float):
                out.setdefault(k, []).append([rec["step"], v])
    return out
