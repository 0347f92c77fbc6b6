"""The shared stage store: readable folder names, reuse across experiments, the old layout found."""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from pipeline_standins import StandIns, base_config
from rich.console import Console

from crosstask.io import read_json
from crosstask.pipeline import plan_run, run
from crosstask.pipeline.stage import DONE_FILE, Stage, StageStore, slugify


def quiet() -> Console:
    return Console(file=io.StringIO(), width=250)


@pytest.fixture
def standins() -> StandIns:
    return StandIns()


def _config(tmp_path, name="standin"):
    cfg = base_config(tmp_path)
    cfg["name"] = name
    cfg["output_dir"] = str(tmp_path / "runs" / name)
    cfg["models"] = [{"recipe": "none"}, {"recipe": "mixed", "n": 2}]
    return cfg


def test_folders_are_readable_and_hold_the_full_key(tmp_path, standins):
    result = run(_config(tmp_path), actions=standins.actions(), console=quiet())
    store = tmp_path / "runs" / "stages"
    assert result.plan.store.root == store  # next to the run folder, shared by its siblings
    train = result.plan.by_name()["train/mixed-n2"]
    folder = store / "train" / f"mixed-n2-tiny-random-{train.key[:8]}"
    assert folder.is_dir() and read_json(folder / DONE_FILE)["key"] == train.key
    names = sorted(p.name for p in store.glob("*/*") if p.is_dir())
    assert all(re.fullmatch(r"[a-z0-9.-]+-[0-9a-f]{8}", n) for n in names), names
    assert any(n.startswith("base-tiny-random-") for n in names)
    assert any(n.startswith("placeholder-") for n in names)  # documents: the source kinds
    assert not (result.output_dir / "stages").exists()
    manifest = read_json(result.output_dir / "stages.json")
    assert manifest["train/mixed-n2"] == {"kind": "train", "key": train.key, "dir": str(folder)}
    adapter = result.model("mixed-n2")["adapter"]
    assert adapter.endswith(folder.name)


def test_a_variant_experiment_reuses_the_stages_it_shares(tmp_path, standins):
    run(_config(tmp_path, "demo"), actions=standins.actions(), console=quiet())
    variant = _config(tmp_path, "demo-variant")
    variant["models"].append({"recipe": "mixed", "n": 1})
    out = quiet()
    run(variant, dry_run=True, actions=standins.actions(), console=out)
    text = out.file.getvalue()
    assert "reused from demo" in text and "6 reused from other experiments" in text and "3 to run" in text
    assert re.search(r"train/mixed-n1-tiny-random-[0-9a-f]{8}", text)  # readable names in the plan
    standins.calls.clear()
    second = run(variant, actions=standins.actions(), console=quiet())
    assert standins.names() == ["defense/mixed-n1", "train/mixed-n1", "eval/mixed-n1"]
    assert set(second.cached) == {"documents", "testset", "eval/base", "defense/mixed-n2", "train/mixed-n2",
                                  "eval/mixed-n2"}
    assert (tmp_path / "runs" / "demo-variant" / "report.html").exists()


def _to_old_layout(tmp_path, out):
    """Move every finished stage into the old layout: ``<run>/stages/<kind>/<key>``."""
    store = tmp_path / "runs" / "stages"
    for folder in store.glob("*/*"):
        if (folder / DONE_FILE).exists():
            key = read_json(folder / DONE_FILE)["key"]
            (out / "stages" / folder.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.move(str(folder), str(out / "stages" / folder.parent.name / key))
    assert not list(store.glob("*/*-*"))


def test_a_run_in_the_old_layout_is_found_and_moved_not_recomputed(tmp_path, standins):
    cfg = _config(tmp_path)
    first = run(cfg, actions=standins.actions(), console=quiet())
    _to_old_layout(tmp_path, first.output_dir)
    (first.output_dir / "stages.json").unlink()  # a run of the old version had no manifest
    out = quiet()
    run(cfg, dry_run=True, actions=standins.actions(), console=out)
    assert "old layout" in out.file.getvalue() and "0 to run" in out.file.getvalue()
    standins.calls.clear()
    second = run(cfg, actions=standins.actions(), console=quiet())
    assert standins.calls == [] and not second.ran
    assert json.dumps(second.results["models"][1]["metrics"]) == json.dumps(first.results["models"][1]["metrics"])
    train = second.plan.by_name()["train/mixed-n2"]
    assert (tmp_path / "runs" / "stages" / "train" / train.folder_name / DONE_FILE).exists()  # moved into the store
    assert not (first.output_dir / "stages" / "train" / train.key).exists()


def test_an_interrupted_stage_of_the_old_layout_resumes(tmp_path, standins):
    cfg = _config(tmp_path)
    cfg["models"] = [{"recipe": "mixed", "n": 2}]
    standins.interrupt_train = True
    with pytest.raises(KeyboardInterrupt):
        run(cfg, actions=standins.actions(), console=quiet(), report=False)
    plan = plan_run(cfg, actions=standins.actions())
    train = plan.by_name()["train/mixed-n2"]
    old = tmp_path / "runs" / "standin" / "stages" / "train"
    old.mkdir(parents=True)
    shutil.move(str(plan.store.partial_dir(train)), str(old / f".{train.key}.partial"))
    assert plan_run(cfg, actions=standins.actions()).statuses["train/mixed-n2"] == "resume"
    standins.calls.clear()
    result = run(cfg, actions=standins.actions(), console=quiet())
    assert standins.calls == [("train/mixed-n2", True), ("eval/mixed-n2", False)]
    assert result.model("mixed-n2")["train"] == {"steps": 3, "resumed_from": 2}


def test_a_short_key_taken_by_another_stage_falls_back_to_the_full_key(tmp_path):
    store = StageStore(tmp_path)
    a = Stage(kind="eval", name="eval/a", inputs={"x": 1}, action=lambda ctx: {}, slug="a")
    a.compute_key([])
    b = Stage(kind="eval", name="eval/b", inputs={"x": 2}, action=lambda ctx: {}, slug="a")
    b.compute_key([])
    b.key = a.key[:8] + b.key[8:]  # the same short key, another full key
    store.execute(a, {})
    assert store.new_dir(b).name == f"a-{b.key}"
    assert store.status(b) == "run"
    out = store.execute(b, {})
    assert out.dir.name == f"a-{b.key}" and store.find(a).dir.name == f"a-{a.key[:8]}"
    assert store.find(b).dir == out.dir


def test_slugify():
    assert slugify("single:summarize", "N10", "meta-llama/Llama-2") == "single-summarize-n10-meta-llama-llama-2"
    assert slugify("", None, "x") == "x"


def test_the_run_folder_cannot_be_the_stages_folder(tmp_path, standins):
    from crosstask.errors import CrosstaskError

    cfg = _config(tmp_path, "stages")
    with pytest.raises(CrosstaskError, match="is the stages folder"):
        plan_run(cfg, actions=standins.actions())


def test_a_variant_finds_a_sibling_run_in_the_old_layout(tmp_path, standins):
    first = run(_config(tmp_path, "demo"), actions=standins.actions(), console=quiet())
    _to_old_layout(tmp_path, first.output_dir)
    standins.calls.clear()
    second = run(_config(tmp_path, "demo-variant"), actions=standins.actions(), console=quiet())
    assert standins.calls == [] and len(second.cached) == len(second.plan.stages)
