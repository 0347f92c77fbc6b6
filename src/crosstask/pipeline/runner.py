"""``crosstask run``: plan the stages, skip the finished ones, run the rest, write the report."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crosstask.errors import CrosstaskError
from crosstask.io import append_jsonl, check_writable, file_lock, write_json, write_text
from crosstask.pipeline.experiment_config import ExperimentConfig, load_config
from crosstask.pipeline.plan import Plan, build_plan, check_counts, check_sources
from crosstask.pipeline.stage import Action, StageOutput, StageStore

RUN_LOG = "run.log"  # JSONL: one event per stage (skip/start/done), appended as they happen
OUTPUT_LOCK = ".crosstask-run.lock"  # held in the output folder while a run writes there
STAGES_LOCK = ".lock"  # held in the stages folder (which several experiments may share)
STAGES_MANIFEST = "stages.json"  # in the run folder: the stages it used, by name (kind, key, folder)


@dataclass
class RunResult:
    """What a run produced: the output folder, the per-model results and the report files."""

    output_dir: Path
    config: ExperimentConfig
    plan: Plan
    results: dict[str, Any] = field(default_factory=dict)  # the content of results.json
    ran: list[str] = field(default_factory=list)  # stages executed by this call
    cached: list[str] = field(default_factory=list)  # stages found finished
    dry_run: bool = False

    @property
    def report_html(self) -> Path:
        return self.output_dir / "report.html"

    @property
    def report_md(self) -> Path:
        return self.output_dir / "report.md"

    def model(self, model_id: str) -> dict[str, Any]:
        for m in self.results.get("models", []):
            if m["id"] == model_id:
                return m
        raise KeyError(f"no model {model_id!r}; models: {[m['id'] for m in self.results.get('models', [])]}")

    def refusal_rate(self, model_id: str, task: str, label: str = "malicious") -> float | None:
        """Share of ``label`` documents the model refused on ``task`` (None when not evaluated)."""
        from crosstask.evaluation.results import model_cell

        cell = model_cell(self.model(model_id), task, label)
        return None if cell is None else cell.refusal_rate


def default_actions() -> dict[str, Action]:
    from crosstask.pipeline import actions

    return {
        "documents": actions.documents, "testset": actions.testset, "defense": actions.defense,
        "train": actions.train_stage, "guard": actions.guard_stage, "eval": actions.eval_stage,
    }


def plan_run(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    *,
    output_dir: str | Path | None = None,
    actions: Mapping[str, Action] | None = None,
    overrides: list[str] | None = None,
) -> Plan:
    cfg = load_config(config, overrides)
    if output_dir is not None:
        cfg = cfg.model_copy(update={"output_dir": str(Path(output_dir).resolve())})
    where = str(config) if isinstance(config, str | Path) else "config"
    if "documents" not in (actions or {}):  # what the built-in documents (and testset) stages will load
        check_sources(cfg, where, test_sources="testset" not in (actions or {}))
        check_counts(cfg, where)
    acts = {**default_actions(), **(actions or {})}
    out, stages = cfg.output_path(), cfg.stages_path()
    if out.resolve() == stages.resolve():
        raise CrosstaskError(f"{where}: the run folder {out} is the stages folder; rename the experiment or set "
                             "output_dir or stages_dir")
    # the old layout kept each experiment's stages in its run folder: this one's and its siblings'
    old = [cfg.old_stages_path(), *sorted(p for p in out.parent.glob("*/stages") if p.is_dir())]
    store = StageStore(stages, old_roots=list(dict.fromkeys(old)), manifest=out / STAGES_MANIFEST,
                       experiment=cfg.name)
    return build_plan(cfg, store, acts)


def status_word(row: dict[str, Any], experiment: str) -> str:
    """A plan row's status in words: cached, reused from another experiment, resumable or to run."""
    if row["status"] == "cached":
        if row["old_layout"]:
            return "cached (old layout; moved into the store on run)"
        made_by = row["made_by"]
        return f"reused from {made_by}" if made_by and made_by != experiment else "cached"
    return {"resume": "resume (partial)", "run": "to run"}[row["status"]]


def plan_table(plan: Plan, rows: list[dict[str, Any]] | None = None) -> Table:
    style = {"cached": "green", "resume": "yellow", "run": "cyan"}
    table = Table(title=escape(f"Plan of {plan.config.name} ({plan.config.output_path()}; stages in "
                               f"{plan.store.root})"))
    for col in ("#", "stage", "folder", "status", "depends on"):
        table.add_column(col)
    for i, row in enumerate(rows if rows is not None else plan.rows(), start=1):
        word = escape(status_word(row, plan.config.name))
        table.add_row(str(i), row["stage"], escape(row["folder"]), f"[{style[row['status']]}]{word}[/]",
                      ", ".join(row["depends_on"]))
    return table


def plan_counts(rows: list[dict[str, Any]], experiment: str) -> str:
    """``3 cached, 2 reused from other experiments, 0 to resume, 4 to run``."""
    words = [status_word(r, experiment) for r in rows]
    reused = sum(w.startswith("reused") for w in words)
    cached = sum(r["status"] == "cached" for r in rows) - reused
    return (f"{cached} cached, {reused} reused from other experiments, "
            f"{words.count('resume (partial)')} to resume, {words.count('to run')} to run")


def _log(path: Path, event: str, **fields: Any) -> None:
    append_jsonl(path, {"event": event, "time": round(time.time(), 3), **fields})


def _eta(durations: dict[str, list[float]], remaining: list[str]) -> float | None:
    """Seconds left, from the mean duration of finished stages of each remaining kind."""
    total = 0.0
    for kind in remaining:
        if not durations.get(kind):
            return None
        total += sum(durations[kind]) / len(durations[kind])
    return total


def run(
    config: str | Path | dict[str, Any] | ExperimentConfig,
    *,
    output_dir: str | Path | None = None,
    dry_run: bool = False,
    actions: Mapping[str, Action] | None = None,
    console: Console | None = None,
    report: bool = True,
    overrides: list[str] | None = None,
) -> RunResult:
    """Run an experiment: a path to a YAML config, a dict, or an :class:`ExperimentConfig`.

    Finished stages are skipped, an interrupted stage resumes, and the report is rewritten.
    ``overrides`` are ``key.path=value`` strings (the CLI's ``--set``); ``actions`` replaces stage
    implementations by kind (documents, testset, defense, train, eval).
    """
    console = console or Console()
    plan = plan_run(config, output_dir=output_dir, actions=actions, overrides=overrides)
    out = plan.config.output_path()
    check_writable(out)
    check_writable(plan.store.root, what="stages folder")
    result = RunResult(out, plan.config, plan, dry_run=dry_run)
    if dry_run:
        rows = plan.rows()
        console.print(plan_table(plan, rows))
        console.print(plan_counts(rows, plan.config.name))
        return result

    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out, OUTPUT_LOCK, "output folder"), _exclusive(plan.store.root, STAGES_LOCK, "stages folder"):
        return _execute(plan, result, console, report)


@contextlib.contextmanager
def _exclusive(folder: Path, lock_name: str, what: str) -> Iterator[None]:
    """One run at a time per output folder and per stages folder (the OS drops a lock when its
    process dies, so a killed run leaves none behind)."""
    with file_lock(folder / lock_name, wait=False,
                   busy=f"{folder}: another crosstask run is using this {what}; wait for it or choose another"):
        yield


def _execute(plan: Plan, result: RunResult, console: Console, report: bool) -> RunResult:
    out = result.output_dir
    write_text(out / "config.yaml", _dump_yaml(plan.config.model_dump(mode="json")))
    write_json(out / "plan.json", plan.rows())
    log_path = out / RUN_LOG
    _log(log_path, "run-start", config=plan.config.name)
    outputs: dict[str, StageOutput] = {}
    durations: dict[str, list[float]] = {}
    total = len(plan.stages)
    for i, stage in enumerate(plan.stages, start=1):
        status = plan.store.status(stage)
        if status == "cached":
            outputs[stage.name] = plan.store.load(stage)
            result.cached.append(stage.name)
            _log(log_path, "skip", stage=stage.name, key=stage.key)
            _write_manifest(out, outputs)
            where = outputs[stage.name].dir.relative_to(plan.store.root) if outputs[stage.name].dir.is_relative_to(
                plan.store.root) else outputs[stage.name].dir
            console.print(f"[dim]\\[{i}/{total}] {escape(stage.name)}: cached ({escape(str(where))})[/]")
            continue
        verb = "resuming" if status == "resume" else "running"
        console.rule(escape(f"[{i}/{total}] {verb} {stage.name} ({stage.kind}/{stage.folder_name})"), style="cyan")
        _log(log_path, "start", stage=stage.name, key=stage.key, resume=status == "resume")
        started = time.time()
        try:
            outputs[stage.name] = plan.store.execute(stage, {d: outputs[d] for d in stage.deps})
        except BaseException as e:
            _log(log_path, "interrupted" if isinstance(e, KeyboardInterrupt) else "failed", stage=stage.name,
                 key=stage.key, error=str(e)[:500])
            raise
        _write_manifest(out, outputs)
        took = time.time() - started
        durations.setdefault(stage.kind, []).append(took)
        result.ran.append(stage.name)
        _log(log_path, "done", stage=stage.name, key=stage.key, seconds=round(took, 3))
        left = [s.kind for s in plan.stages[i:] if plan.store.status(s) != "cached"]
        eta = _eta(durations, left)
        eta_text = f", about {_fmt_seconds(eta)} left" if eta is not None and left else ""
        console.print(f"[green]{escape(stage.name)} done in {_fmt_seconds(took)}[/]{eta_text}")

    if report:
        from crosstask.pipeline.collect import collect_results
        from crosstask.reporting import write_report

        result.results = collect_results(plan, outputs)
        write_report(result.results, out)
        console.print(summary_table(result.results))
        console.print(escape(f"report: {out / 'report.html'}"))
    _log(log_path, "run-done", ran=len(result.ran), cached=len(result.cached))
    return result


def _write_manifest(out: Path, outputs: dict[str, StageOutput]) -> None:
    """The run folder's record of the stages it used (they live in the shared store)."""
    write_json(out / STAGES_MANIFEST, {name: {"kind": o.kind, "key": o.key, "dir": str(o.dir)}
                                       for name, o in outputs.items()})


def summary_table(results: dict[str, Any]) -> Table:
    """Refused k/n per model, evaluation set (out of distribution first) and task."""
    from crosstask.reporting.report_tables import k_of_n, sets_present

    tasks = results.get("tasks", [])
    table = Table(title="Refused k/n (rate, 95% interval): malicious sets (want high), benign and "
                        "sensitive-benign sets (want low); sets with ':' come from elsewhere (out of distribution)")
    table.add_column("model")
    table.add_column("set")
    for t in tasks:
        table.add_column(t, justify="right")
    for m in results.get("models", []):
        for set_name in sets_present(results):
            table.add_row(escape(m["label"]), set_name, *[k_of_n(m, t, set_name, interval=True) for t in tasks])
    return table


def _fmt_seconds(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _dump_yaml(obj: Any) -> str:
    import yaml

    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True)
