"""Evaluate a model (optionally with a LoRA adapter) over document sets x tasks.

Safety: the refusal rate on malicious documents per task (and its complement, the rate at
which harmful documents were processed). Utility: the over-refusal rate on benign and
sensitive-benign documents per task, and task quality where a reference exists.

Files written to ``output_dir`` (all atomic, except the append-only generation cache):

- ``generations.jsonl``: the engine's append-only :class:`~crosstask.generation.GenerationCache`;
  an interrupted run resumes from it.
- ``samples.jsonl``: one record per (set, task, document)::

    {"id": "benign/summarize/doc-1", "set": "benign", "task": "summarize", "doc_id": "doc-1",
     "prompt_id": "<hash>", "prompt": "<the formatted prompt>", "mode": "full" | "refusal-only", "truncated": false, "empty": false,
     "output": "...", "refusal": true,                      # verdict of the primary judge
     "verdict": "refused" | "processed" | "off-task",      # its three-way verdict
     "judges": {"refusal@4": {"refusal": true, "score": 1.0, "verdict": "refused"}, ...},
     "reference": "..." | null, "metrics": {"rouge_l": 0.41} | {}}

- ``summary.json`` (schema ``crosstask.eval/1``)::

    {"schema": "crosstask.eval/1", "name": "base", "model": "...", "adapter": null,
     "judge": "refusal@4", "judges": ["refusal@4", ...], "tasks": [...], "seed": 0,
     "sets": {"malicious": {"documents": 100, "mode": "refusal-only"}, ...},
     "results": {"<set>": {"<task>": {
         "n": 100,
         "refusal": {"k": 93, "n": 100, "rate": 0.93, "ci": [0.862, 0.966], "interval": "wilson"},
         "processed": {...same shape...},        # 1 - refusal (the harmful-processing rate)
         "judges": {"keyword-gcg13@1": {...rate...}, ...},
         "quality": {"metric": "rouge_l", "n": 100, "mean": 0.31, "ci": [0.28, 0.34],
                     "parts": {"rouge_l": 0.31}} | null,
         "empty": 0, "truncated": 0,
         "off_task": {...rate...}}}},            # neither refused nor processed (degenerate; judges/off_task.py)
     "overall": {"<set>": {"refusal": {...rate...}, "off_task": {...rate...}}},
     "agreement": {"keyword-gcg13@1": {"n": 500, "disagree": 31, "rate": 0.062, "primary_only": 25,
                                       "other_only": 6, "examples": {"primary_only": [ids], "other_only": [ids]}}},
     "truncated_documents": 0, "empty_outputs": 0, "warnings": ["..."], "config": {...}}

For malicious sets ``refusal`` is the safety score; for benign and sensitive-benign sets it
is the over-refusal rate. Every rate carries k/n and its 95% Wilson interval (``"interval":
"wilson"``; summaries of older versions hold bootstrap intervals, which are computed again from
k and n when read); task quality, a mean of per-sample scores, keeps a seeded bootstrap interval.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.document import EVAL_SET_KEY, Document, set_label, set_order
from crosstask.errors import CrosstaskError, InputError
from crosstask.evaluation.eval_config import EvalConfig
from crosstask.evaluation.results import CellResult, Quality, read_cells
from crosstask.evaluation.stats import Mean, Rate
from crosstask.evaluation.task_metrics import get_metric
from crosstask.io import check_writable, content_hash, stable_hash, write_json, write_jsonl
from crosstask.judges import Judge, get_judge
from crosstask.tasks import Task, TaskInput, get_task
from crosstask.tasks.truncation import Shown, fit_text, task_shown

log = logging.getLogger(__name__)
SCHEMA = "crosstask.eval/1"


@dataclass
class Sample:
    id: str
    set: str
    task: str
    doc_id: str
    prompt: str
    mode: str
    truncated: bool
    reference: str | None
    output: str | None = None
    messages: list[dict[str, str]] | None = None  # the chat request (what an endpoint is sent)
    guard_score: float | None = None  # the input guard's score of the user message, when one is used


@dataclass
class EvalResult:
    summary: dict[str, Any]
    samples: list[dict[str, Any]] = field(default_factory=list)
    output_dir: str | None = None

    @property
    def name(self) -> str:
        return self.summary["name"]

    @property
    def cells(self) -> dict[str, dict[str, CellResult]]:
        """``{evaluation set: {task: CellResult}}``."""
        return read_cells(self.summary)

    def rate(self, set_name: str, task: str) -> Rate | None:
        cell = self.cells.get(set_name, {}).get(task)
        return cell.refusal if cell else None


# ---------------------------------------------------------------- documents and prompts


def load_sets(cfg: EvalConfig) -> dict[str, list[Document]]:
    from crosstask.data.sources import load_source

    sets: dict[str, list[Document]] = {}

    def load(spec: Any) -> list[Document]:
        if isinstance(spec, list) and all(isinstance(d, Document) for d in spec):
            return list(spec)
        if isinstance(spec, dict):
            return load_source(spec)
        raise CrosstaskError(f"a document set must be a source spec mapping or a list of documents, got {spec!r}")

    for name, given in cfg.sets.items():
        label = set_label(name)
        # a set is one source spec, a list of documents, or a list of source specs (joined)
        specs = given if isinstance(given, list) and given and all(isinstance(x, dict) for x in given) else [given]
        sets[name] = []
        for spec in specs:
            if isinstance(spec, dict) and spec.get("kind") == "paper-format" and "sets" not in spec:
                spec = {**spec, "sets": [label]}  # a paper-format folder holds all three sets: take this one
            docs = load(spec)
            if _labels_from_data(spec):
                for d in docs:
                    if d.label != label:
                        where = spec.get("path") if isinstance(spec, dict) and spec.get("path") else f"sets.{name}"
                        raise InputError(f"document {d.id!r} is labelled {d.label!r} but was given as the {name!r} "
                                         "set; give it as its own label's set", path=where, field="label")
            sets[name] += [d if d.label == label else Document(d.id, d.text, label, d.source, d.meta) for d in docs]  # type: ignore[arg-type]
    for spec in cfg.documents:
        for d in load(spec):
            sets.setdefault(str(d.meta.get(EVAL_SET_KEY) or d.label), []).append(d)
    for name in list(sets):
        if cfg.limit is not None:
            sets[name] = sets[name][: cfg.limit]
        if not sets[name]:
            raise CrosstaskError(f"document set {name!r} is empty")
    return {k: sets[k] for k in set_order(sets)}


def _labels_from_data(spec: Any) -> bool:
    """True when a set's documents carry labels of their own (saved documents, a label column, a
    paper-format file, hand labels, an explicit ``label``): a document of another label in that set
    is a mistake. Sources whose label is only their kind's default (advbench: malicious) take the set's."""
    if isinstance(spec, list):
        return True
    return isinstance(spec, dict) and (spec.get("kind") in ("documents", "paper-format")
                                       or any(k in spec for k in ("label", "label_field", "hand_labels")))


def _mode(cfg: EvalConfig, set_name: str) -> str:
    """Refusal-only when the set, or its label, is listed in ``refusal_only``."""
    listed = set_name in cfg.refusal_only or set_label(set_name) in cfg.refusal_only
    return "refusal-only" if listed else "full"


def _context_budget(model: Any, cfg: EvalConfig) -> int:
    if cfg.max_input_tokens is not None:
        return cfg.max_input_tokens
    ctx = getattr(getattr(model, "config", None), "max_position_embeddings", None) or 2048
    return max(64, int(ctx) - cfg.max_new_tokens)


def _released_prompt(task: Task, doc: Document, given: str, given_ref: str | None) -> tuple[str, Shown]:
    """A released (paper-format) prompt: the document as is (no case/cloze transform), then the
    instruction. Returns the text that may be cut and how a cut text is shown; only references
    that do not depend on a transform apply, computed from the text as shown."""
    if given.startswith(doc.text):
        text, suffix = doc.text, given[len(doc.text):]
    else:  # a prompt that does not start with its document: cut the prompt as a whole
        text, suffix = given, ""

    def shown(t: str) -> tuple[TaskInput, str]:
        reference = given_ref
        if reference is None and task.reference == "original":
            # the document as the model saw it; a cut whole prompt has no document to compare with
            reference = t if suffix else (doc.text if t == text else None)
        elif reference is None and task.reference == "label":
            reference = doc.meta.get("label_value")
        return TaskInput(text=t, reference=reference), t + suffix

    return text, shown


def build_samples(
    sets: dict[str, list[Document]], tasks: Sequence[Task], tokenizer: Any, cfg: EvalConfig, budget: int
) -> list[Sample]:
    """One sample per (set, task, document); a prompt over ``budget`` tokens has its document
    cut in the middle (:func:`crosstask.tasks.truncation.fit_text`, as in training) and the
    reference computed from the cut text. Without a tokenizer (an endpoint evaluated: it formats
    and limits prompts itself) the prompt is the chat request as JSON and nothing is cut here."""
    import json

    from crosstask.models import build_prompt

    def messages(user: str) -> list[dict[str, str]]:
        m = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
        return [*m, {"role": "user", "content": user}]

    def prompt_of(user: str) -> str:
        if tokenizer is None:
            return json.dumps(messages(user), ensure_ascii=False)
        return build_prompt(tokenizer, messages(user), cfg.prompt_format)

    samples = []
    for set_name, docs in sets.items():
        mode = _mode(cfg, set_name)
        for task in tasks:
            for doc in docs:
                if not task.applies_to(doc):
                    continue
                given = (doc.meta.get("prompts") or {}).get(task.name)
                given_ref = (doc.meta.get("reference") or {}).get(task.name)
                if given is not None and cfg.use_given_prompts is not False:
                    text, shown = _released_prompt(task, doc, given, given_ref)
                else:
                    text, shown = doc.text, task_shown(task, doc)
                if tokenizer is None:
                    (ti, user), truncated = shown(text), False
                else:
                    _text, ti, user, truncated = fit_text(
                        text, shown, tokenizer=tokenizer, max_prompt_tokens=budget, prompt_of=prompt_of,
                        what=f"task {task.name!r} (document {doc.id!r})", budget_key="max_input_tokens",
                    )
                reference = ti.reference if ti.reference is not None else given_ref
                samples.append(
                    Sample(f"{set_name}/{task.name}/{doc.id}", set_name, task.name, doc.id, prompt_of(user), mode,
                           truncated, reference, messages=messages(user))
                )
    return samples


# ---------------------------------------------------------------- generation


def _settings(cfg: EvalConfig) -> Any:
    from crosstask.generation import GenerationSettings

    wanted = {"max_new_tokens": cfg.max_new_tokens, "batch_size": cfg.batch_size, "seed": cfg.seed,
              "dtype": cfg.generation_dtype, "token_budget": cfg.token_budget}
    names = set(GenerationSettings.model_fields)
    optional = ("dtype", "token_budget")  # None: the engine's default
    return GenerationSettings(**{k: v for k, v in wanted.items() if k in names and (k not in optional or v is not None)})


def _weights_identity(cfg: EvalConfig) -> dict[str, Any]:
    """What identifies the weights in the generation cache: the base model's name and dtype, and an
    adapter's content (the hashes of its weights and its config, not its path or file times), so a
    retrained adapter misses the cache and a moved or copied one keeps it."""
    ident: dict[str, Any] = {"model": cfg.model, "dtype": cfg.dtype, "adapter": None}
    if cfg.adapter:
        folder = Path(cfg.adapter)
        ident["adapter"] = {"files": {f.name: content_hash(f) for f in sorted(folder.glob("*.safetensors"))},
                            "config": _adapter_config_identity(folder / "adapter_config.json")}
    return ident


def _adapter_config_identity(path: Path) -> str | None:
    """The adapter config without where its base model was loaded from (an absolute cache path) and
    with ``target_modules`` in one order (peft writes a set)."""
    if not path.is_file():
        return None
    from crosstask.io import read_json

    cfg = read_json(path)
    if not isinstance(cfg, dict):
        return content_hash(path)
    cfg.pop("base_model_name_or_path", None)
    if isinstance(cfg.get("target_modules"), list):
        cfg["target_modules"] = sorted(cfg["target_modules"])
    return stable_hash(cfg)


def _run_generation(samples: list[Sample], loaded: Any, cfg: EvalConfig, primary: Judge, cache_file: Path,
                    progress: bool) -> None:
    """Generate every sample's output through the shared engine (or the configured endpoint) and its
    resumable cache.

    All prompts of a mode go in one call, so the engine can share a document's prefix
    across its tasks; refusal-only samples stop once the primary judge's verdict is final.
    """
    from crosstask.generation import GenerationCache, generate

    cache = GenerationCache(cache_file)
    settings = _settings(cfg)
    if cfg.backend == "openai":
        from crosstask.generation.openai_backend import generate_openai

        endpoint = endpoint_of(cfg)

        def run(group: list[Sample], **kwargs: Any) -> list[str]:  # the chat requests, a bounded pool
            return generate_openai(endpoint, [s.messages or [] for s in group], settings, cache=cache,
                                   progress=progress, **kwargs)
    else:
        def run(group: list[Sample], **kwargs: Any) -> list[str]:
            return generate(loaded.model, loaded.tokenizer, [s.prompt for s in group], settings, cache=cache,
                            cache_key=_weights_identity(cfg), progress=progress, **kwargs)

    by_mode: dict[str, list[Sample]] = {}
    for s in samples:
        by_mode.setdefault(s.mode, []).append(s)
    for mode, group in by_mode.items():
        kwargs: dict[str, Any] = {}
        if mode == "refusal-only":
            kwargs = {"stop_when": primary.is_final, "stop_key": primary.id}
            if cfg.refusal_only_tokens is not None:
                kwargs["stop_window"] = cfg.refusal_only_tokens
        for s, o in zip(group, run(group, **kwargs), strict=True):
            s.output = o


def endpoint_of(cfg: EvalConfig) -> Any:
    """The OpenAI-compatible endpoint of ``backend: openai`` (the key read from ``api_key_env``)."""
    import os

    from crosstask.generation.openai_backend import Endpoint

    assert cfg.base_url is not None
    return Endpoint(base_url=cfg.base_url, model=cfg.model, api_key=os.environ.get(cfg.api_key_env) or None,
                    concurrency=cfg.concurrency, max_retries=cfg.max_retries, timeout=cfg.request_timeout)


def apply_input_guard(samples: list[Sample], cfg: EvalConfig) -> int:
    """The ``input-guard`` defense: score each sample's user message; one at or above the threshold is
    answered with a task-aware refusal from the refusal bank and never reaches the model. Returns how many."""
    from crosstask.data.defense.refusal_bank import stable_refusal
    from crosstask.judges.input_guard import InputGuard

    assert cfg.input_guard is not None
    guard = InputGuard.load(cfg.input_guard, cfg.guard_threshold)
    users = [next(m["content"] for m in reversed(s.messages or []) if m["role"] == "user") for s in samples]
    scores = dict(zip(dict.fromkeys(users), guard.scores(list(dict.fromkeys(users))), strict=True))
    flagged = 0
    for s, user in zip(samples, users, strict=True):
        s.guard_score = scores[user]
        if s.guard_score >= guard.threshold:
            s.output = stable_refusal(s.task, user)
            flagged += 1
    return flagged


# ---------------------------------------------------------------- scoring


def _score_samples(samples: list[Sample], judges: list[Judge], tasks: dict[str, Task]) -> list[dict[str, Any]]:
    records = []
    outputs = [s.output or "" for s in samples]
    all_verdicts = {j.id: j.judge_many(outputs) for j in judges}
    for i, s in enumerate(samples):
        out = outputs[i]
        verdicts = {j.id: all_verdicts[j.id][i] for j in judges}
        metrics: dict[str, float] = {}
        if s.mode == "full" and s.reference:
            metrics = get_metric(tasks[s.task].metric)(out, s.reference)
        records.append({
            "id": s.id, "set": s.set, "task": s.task, "doc_id": s.doc_id, "prompt_id": stable_hash(s.prompt),
            "prompt": s.prompt,
            "mode": s.mode, "truncated": s.truncated, "empty": not out.strip(), "output": out,
            "refusal": verdicts[judges[0].id].refusal, "verdict": verdicts[judges[0].id].label,
            "judges": {k: {"refusal": v.refusal, "score": v.score, "verdict": v.label} for k, v in verdicts.items()},
            "reference": s.reference, "metrics": metrics,
            **({"input_guard": round(s.guard_score, 4)} if s.guard_score is not None else {}),
        })
    return records


def judge_agreement(records: list[dict[str, Any]], judge_ids: list[str], examples: int = 3) -> dict[str, Any]:
    """How often each other judge's refusal verdict differs from the primary judge's, with sample ids.

    ``primary_only``: the primary judge saw a refusal and the other did not; ``other_only``: the reverse.
    """
    out: dict[str, Any] = {}
    primary = judge_ids[0] if judge_ids else None
    for other in judge_ids[1:]:
        p_only = [r["id"] for r in records if r["judges"][primary]["refusal"] and not r["judges"][other]["refusal"]]
        o_only = [r["id"] for r in records if r["judges"][other]["refusal"] and not r["judges"][primary]["refusal"]]
        n = len(records)
        out[other] = {"n": n, "disagree": len(p_only) + len(o_only),
                      "rate": (len(p_only) + len(o_only)) / n if n else 0.0,
                      "primary_only": len(p_only), "other_only": len(o_only),
                      "examples": {"primary_only": p_only[:examples], "other_only": o_only[:examples]}}
    return out


def summarize(records: list[dict[str, Any]], cfg: EvalConfig, judges: list[Judge], tasks: list[Task],
              sets: dict[str, list[Document]]) -> dict[str, Any]:
    seed, nb = cfg.seed, cfg.bootstrap_resamples
    results: dict[str, dict[str, Any]] = {}
    overall: dict[str, Any] = {}
    warnings: list[str] = []
    for set_name in sets:
        results[set_name] = {}
        set_recs = [r for r in records if r["set"] == set_name]
        for task in tasks:
            recs = [r for r in set_recs if r["task"] == task.name]
            if not recs:
                continue
            quality = None
            scored = [r for r in recs if r["metrics"]]
            if scored:
                names = list(scored[0]["metrics"])
                head = Mean.of([r["metrics"][names[0]] for r in scored], seed=seed, n_resamples=nb)
                quality = Quality(task.metric, names[0], head,
                                  {n: sum(r["metrics"][n] for r in scored) / len(scored) for n in names})
            cell = CellResult(
                n=len(recs), refusal=Rate.of([r["refusal"] for r in recs]),
                judges={j.id: Rate.of([r["judges"][j.id]["refusal"] for r in recs]) for j in judges},
                quality=quality, empty=sum(r["empty"] for r in recs), truncated=sum(r["truncated"] for r in recs),
                off_task=Rate.of([r.get("verdict") == "off-task" for r in recs]),
            )
            results[set_name][task.name] = cell.to_dict()
        overall[set_name] = {"refusal": Rate.of([r["refusal"] for r in set_recs]).to_dict(),
                             "off_task": Rate.of([r.get("verdict") == "off-task" for r in set_recs]).to_dict()}
    empty = sum(r["empty"] for r in records)
    truncated_docs = len({(r["set"], r["doc_id"]) for r in records if r["truncated"]})
    if empty:
        warnings.append(f"{empty} of {len(records)} outputs are empty")
    if truncated_docs:
        warnings.append(f"{truncated_docs} documents were longer than the context and cut in the middle")
    return {
        "schema": SCHEMA, "name": cfg.display_name(), "model": cfg.model, "adapter": cfg.adapter,
        "judge": judges[0].id, "judges": [j.id for j in judges], "tasks": [t.name for t in tasks], "seed": cfg.seed,
        "sets": {k: {"documents": len(v), "mode": _mode(cfg, k), "label": set_label(k)} for k, v in sets.items()},
        "results": results, "overall": overall, "truncated_documents": truncated_docs, "empty_outputs": empty,
        "agreement": judge_agreement(records, [j.id for j in judges]),
        "warnings": warnings, "config": cfg.to_dict(),
    }


# ---------------------------------------------------------------- entry point


def _load_model(cfg: EvalConfig) -> Any:
    from crosstask.models import load_model

    if cfg.adapter is not None:
        p = Path(cfg.adapter).expanduser()
        if not p.is_dir():
            raise CrosstaskError(f"{cfg.adapter}: adapter folder not found")
    return load_model(cfg.model, dtype=cfg.dtype, adapter=cfg.adapter)


def evaluate(config: EvalConfig | dict[str, Any], *, loaded: Any = None, progress: bool = True) -> EvalResult:
    """Generate, judge and score; write files when ``output_dir`` is set. See the module docstring.

    ``loaded`` (a :class:`~crosstask.models.LoadedModel`) skips loading the model again.
    """
    cfg = EvalConfig.parse(config)
    if cfg.output_dir:
        check_writable(cfg.output_dir)
    judges = [get_judge(n) for n in cfg.judges]  # unknown judge: fail before loading anything
    tasks = [get_task(t) for t in cfg.tasks]
    sets = load_sets(cfg)
    if cfg.backend == "openai":  # the endpoint formats, limits and runs the prompts
        samples = build_samples(sets, tasks, None, cfg, 0)
    else:
        if loaded is None:
            loaded = _load_model(cfg)
        budget = _context_budget(loaded.model, cfg)
        samples = build_samples(sets, tasks, loaded.tokenizer, cfg, budget)
    if not samples:
        raise CrosstaskError("no (document, task) pairs to evaluate: do the tasks apply to these documents?")
    from crosstask.paths import cache_subdir

    out_dir = Path(cfg.output_dir) if cfg.output_dir else None
    cache_file = (out_dir / "generations.jsonl") if out_dir else cache_subdir("eval") / "generations.jsonl"
    if cfg.input_guard:
        apply_input_guard(samples, cfg)
    todo = [s for s in samples if s.output is None]
    if todo:
        _run_generation(todo, loaded, cfg, judges[0], cache_file, progress)
    records = _score_samples(samples, judges, {t.name: t for t in tasks})
    summary = summarize(records, cfg, judges, tasks, sets)
    for w in summary["warnings"]:
        log.warning(w)
    if out_dir:
        write_jsonl(out_dir / "samples.jsonl", records)
        write_json(out_dir / "summary.json", summary)
    return EvalResult(summary=summary, samples=records, output_dir=str(out_dir) if out_dir else None)


def load_result(path: str | Path) -> EvalResult:
    """Read an evaluation back from its folder (or its ``summary.json``)."""
    from crosstask.io import read_json, read_jsonl

    p = Path(path)
    summary_file = p / "summary.json" if p.is_dir() else p
    summary = read_json(summary_file)
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        raise CrosstaskError(f"{summary_file}: not a crosstask evaluation summary (schema {SCHEMA})")
    try:
        read_cells(summary)
    except CrosstaskError as e:
        raise CrosstaskError(f"{summary_file}: {e}") from None
    samples_file = summary_file.parent / "samples.jsonl"
    samples = read_jsonl(samples_file) if samples_file.exists() else []
    return EvalResult(summary, samples, str(summary_file.parent))
