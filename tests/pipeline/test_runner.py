"""The runner with stand-in stages: caching by key, resume after an interrupt, reruns of what changed."""

from __future__ import annotations

import io
import json

import pytest
from pipeline_standins import StandIns, base_config
from rich.console import Console

from crosstask.io import read_jsonl_tolerant
from crosstask.pipeline import plan_run, run


@pytest.fixture
def make_config(tmp_path):
    """A fresh experiment config dict for the stand-in stages (output under tmp_path)."""
    return lambda: base_config(tmp_path)


@pytest.fixture
def standins() -> StandIns:
    return StandIns()


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_plan_layout(tmp_path, standins, make_config):
    plan = plan_run(make_config(), actions=standins.actions())
    names = [s.name for s in plan.stages]
    assert names[:2] == ["documents", "testset"]
    assert [m.id for m in plan.models] == [
        "base", "single-summarize-n1", "single-summarize-n2", "single-sentiment-n1", "single-sentiment-n2", "mixed-n2"]
    assert "train/base" not in names and "eval/base" in names
    assert plan.by_name()["eval/mixed-n2"].deps == ("testset", "train/mixed-n2")
    assert len({s.key for s in plan.stages if s.kind == "train"}) == 5
    assert set(plan.statuses.values()) == {"run"}


def test_run_then_rerun_is_all_cached(tmp_path, standins, make_config):
    cfg = make_config()
    first = run(cfg, actions=standins.actions(), console=quiet())
    assert len(first.ran) == len(first.plan.stages) and not first.cached
    assert first.refusal_rate("mixed-n2", "summarize") == 0.9
    assert first.refusal_rate("base", "summarize") == 0.1
    for f in ("report.md", "report.html", "results.json", "config.yaml", "plan.json"):
        assert (first.output_dir / f).exists(), f
    results = json.loads((first.output_dir / "results.json").read_text())
    assert results["models"][-1]["loss"] == [[1, 3.0], [2, 1.5], [3, 1.0]]
    assert len(results["models"][0]["samples"]["summarize"]["malicious"]) == 2
    standins.calls.clear()
    second = run(cfg, actions=standins.actions(), console=quiet())
    assert standins.calls == [] and not second.ran
    assert second.results == first.results


def test_config_change_reruns_only_what_it_touches(tmp_path, standins, make_config):
    cfg = make_config()
    run(cfg, actions=standins.actions(), console=quiet(), report=False)
    standins.calls.clear()
    cfg["train"]["max_steps"] = 4
    again = run(cfg, actions=standins.actions(), console=quiet(), report=False)
    kinds = {n.split("/")[0] for n in again.ran}
    assert kinds == {"train", "eval"}
    assert "eval/base" not in again.ran  # the undefended model does not depend on training
    standins.calls.clear()
    cfg["eval"]["tasks"] = ["summarize"]
    again = run(cfg, actions=standins.actions(), console=quiet(), report=False)
    assert {n.split("/")[0] for n in again.ran} == {"eval"}


def test_interrupted_training_resumes_without_redoing_finished_stages(tmp_path, standins, make_config):
    cfg = make_config()
    cfg["models"] = [{"recipe": "mixed", "n": 2}]
    standins.interrupt_train = True
    with pytest.raises(KeyboardInterrupt):
        run(cfg, actions=standins.actions(), console=quiet(), report=False)
    plan = plan_run(cfg, actions=standins.actions())
    assert plan.statuses == {"documents": "cached", "testset": "cached", "defense/mixed-n2": "cached",
                             "train/mixed-n2": "resume", "eval/mixed-n2": "run"}
    standins.calls.clear()
    result = run(cfg, actions=standins.actions(), console=quiet())
    assert standins.calls == [("train/mixed-n2", True), ("eval/mixed-n2", False)]
    assert result.cached == ["documents", "testset", "defense/mixed-n2"]
    assert result.model("mixed-n2")["train"] == {"steps": 3, "resumed_from": 2}
    events = [(e["event"], e.get("stage")) for e in read_jsonl_tolerant(result.output_dir / "run.log")]
    assert ("skip", "defense/mixed-n2") in events and events.count(("start", "train/mixed-n2")) == 2


def test_eval_stage_key_names_the_judge_version(tmp_path, standins, make_config, monkeypatch):
    """A new judge version changes verdicts: its evaluations are new stages, its trainings are not."""
    from crosstask.judges import get_judge

    before = {s.name: s.key for s in plan_run(make_config(), actions=standins.actions()).stages}
    monkeypatch.setattr(type(get_judge("refusal")), "version", "999")
    after = {s.name: s.key for s in plan_run(make_config(), actions=standins.actions()).stages}
    assert all(after[n] != k for n, k in before.items() if n.startswith("eval/"))
    assert all(after[n] == k for n, k in before.items() if not n.startswith("eval/"))


def test_generated_documents_key_names_the_refusal_filter_version(tmp_path, standins, make_config, monkeypatch):
    """Harvesting drops generations the refusal judge calls refusals, so a new judge version keeps other
    documents: the documents stage (and so everything downstream) is new, not a stale cached one."""
    from crosstask.judges import get_judge

    cfg = make_config()
    cfg["documents"]["sources"].append({"kind": "generated-news", "label": "benign", "options": {"n": 4}})
    before = {s.name: s.key for s in plan_run(cfg, actions=standins.actions()).stages}
    monkeypatch.setattr(type(get_judge("refusal")), "version", "999")
    after = {s.name: s.key for s in plan_run(cfg, actions=standins.actions()).stages}
    assert all(after[n] != k for n, k in before.items())


def test_dry_run_prints_plan_and_writes_nothing(tmp_path, standins, make_config):
    out = io.StringIO()
    result = run(make_config(), dry_run=True, actions=standins.actions(),
                 console=Console(file=out, width=200))
    assert standins.calls == [] and result.dry_run
    assert not (tmp_path / "out").exists()
    text = out.getvalue()
    assert "train/mixed-n2" in text and "to run" in text


def test_output_dir_override(tmp_path, standins, make_config):
    result = run(make_config(), output_dir=tmp_path / "elsewhere", actions=standins.actions(),
                 console=quiet())
    assert result.output_dir == tmp_path / "elsewhere"
    assert (tmp_path / "elsewhere" / "report.html").exists()


def test_a_second_run_on_the_same_stages_is_refused(tmp_path, standins, make_config):
    import fcntl

    from crosstask.errors import CrosstaskError

    stages = tmp_path / "stages"  # the store shared by the runs of tmp_path
    stages.mkdir(parents=True)
    with open(stages / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CrosstaskError, match="another crosstask run is using"):
            run(make_config(), actions=standins.actions(), console=quiet(), report=False)
    assert standins.calls == []


def test_a_failing_stage_is_logged_and_leaves_finished_stages(tmp_path, standins, make_config):
    from crosstask.errors import CrosstaskError

    def broken(ctx):
        raise CrosstaskError("defense builder said no")

    cfg = make_config()
    with pytest.raises(CrosstaskError, match="said no"):
        run(cfg, actions={**standins.actions(), "defense": broken}, console=quiet(), report=False)
    events = read_jsonl_tolerant(tmp_path / "out" / "run.log")
    assert events[-1]["event"] == "failed" and events[-1]["stage"].startswith("defense/")
    assert plan_run(cfg, actions=standins.actions()).statuses["eval/base"] == "cached"
