"""``crosstask run``: one run per output folder, a moved run folder keeps its cache, the report
reads the same whether stages ran or were cached, impossible N is refused before any stage."""

from __future__ import annotations

import io
import json
import shutil
import threading

import pytest
from pipeline_standins import StandIns, base_config
from placeholders import placeholder_docs
from rich.console import Console

from crosstask.errors import CrosstaskError
from crosstask.io import write_jsonl
from crosstask.pipeline import run


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_second_run_into_one_output_folder_gets_a_lock_error(tmp_path):
    """Two runs with one output folder but different stages folders: the second is refused while
    the first runs, and the first finishes untouched."""
    started, release = threading.Event(), threading.Event()
    first_standins = StandIns()
    original = first_standins.documents

    def slow_documents(ctx):
        started.set()
        assert release.wait(30)
        return original(ctx)

    first_standins.documents = slow_documents  # type: ignore[method-assign]
    cfg_a = base_config(tmp_path) | {"stages_dir": str(tmp_path / "stages-a")}
    cfg_b = base_config(tmp_path) | {"stages_dir": str(tmp_path / "stages-b")}
    results: dict[str, object] = {}
    thread = threading.Thread(target=lambda: results.setdefault(
        "first", run(cfg_a, actions=first_standins.actions(), console=quiet())))
    thread.start()
    try:
        assert started.wait(30)
        second = StandIns()
        with pytest.raises(CrosstaskError, match="another crosstask run is using this output folder") as e:
            run(cfg_b, actions=second.actions(), console=quiet())
        assert "\n" not in str(e.value) and second.calls == []
        assert not (tmp_path / "stages-b").exists()
    finally:
        release.set()
        thread.join(60)
    assert results["first"].ran  # type: ignore[attr-defined]
    log = [json.loads(line)["event"] for line in (tmp_path / "out" / "run.log").read_text().splitlines()]
    assert log[0] == "run-start" and log[-1] == "run-done" and log.count("run-start") == 1


def test_two_runs_into_one_stages_folder_still_lock(tmp_path):
    started, release = threading.Event(), threading.Event()
    first_standins = StandIns()
    original = first_standins.documents

    def slow_documents(ctx):
        started.set()
        assert release.wait(30)
        return original(ctx)

    first_standins.documents = slow_documents  # type: ignore[method-assign]
    shared = str(tmp_path / "shared-stages")
    cfg_a = base_config(tmp_path) | {"stages_dir": shared, "output_dir": str(tmp_path / "out-a")}
    cfg_b = base_config(tmp_path) | {"stages_dir": shared, "output_dir": str(tmp_path / "out-b")}
    thread = threading.Thread(target=lambda: run(cfg_a, actions=first_standins.actions(), console=quiet()))
    thread.start()
    try:
        assert started.wait(30)
        with pytest.raises(CrosstaskError, match="another crosstask run is using this stages folder"):
            run(cfg_b, actions=StandIns().actions(), console=quiet())
    finally:
        release.set()
        thread.join(60)


def _tiny_config(tmp_path, out):
    docs = tmp_path / "docs.jsonl"
    if not docs.exists():
        write_jsonl(docs, [d.to_dict() for d in placeholder_docs(6, "malicious") + placeholder_docs(5, "benign")])
    return {
        "name": "tiny-move", "output_dir": str(out), "model": {"name": "tiny-random"},
        "documents": {"sources": [{"kind": "documents", "path": str(docs)}],
                      "heldout": {"malicious": 2, "benign": 2}},
        "defense": {"tasks": ["summarize", "case"], "builder": {"progress": False}},
        "models": [{"recipe": "none"}, {"recipe": "mixed", "n": 2}],
        "train": {"preset": "tiny", "max_steps": 2},
        "eval": {"tasks": ["summarize", "case"], "options": {"max_new_tokens": 4, "bootstrap_resamples": 10}},
    }


def test_moved_run_folder_skips_every_stage_and_reports_the_same(tmp_path):
    first = run(_tiny_config(tmp_path, tmp_path / "run"), console=quiet())
    assert first.ran and not first.cached
    shutil.move(str(tmp_path / "run"), str(tmp_path / "moved" / "run"))
    second = run(_tiny_config(tmp_path, tmp_path / "moved" / "run"), console=quiet())
    assert not second.ran and len(second.cached) == len(first.plan.stages)
    # the same results, with tasks and sets in the same order (a cached stage is read back from
    # key-sorted JSON)
    assert json.dumps(second.results, sort_keys=True) == json.dumps(first.results, sort_keys=True)
    assert list(second.results["test_counts"]) == list(first.results["test_counts"]) == ["malicious", "benign"]
    for a, b in zip(first.results["models"], second.results["models"], strict=True):
        assert list(a["metrics"]) == list(b["metrics"]) == ["summarize", "case"]
        assert [list(v) for v in a["metrics"].values()] == [list(v) for v in b["metrics"].values()]
    report = (tmp_path / "moved" / "run" / "report.md").read_text()
    assert "malicious: 2, benign: 2" in report


def test_impossible_n_runs_no_stage(tmp_path):
    cfg = _tiny_config(tmp_path, tmp_path / "run")
    cfg["documents"]["sources"] = [
        {"kind": "documents", "path": cfg["documents"]["sources"][0]["path"], "label": "malicious", "limit": 5},
        {"kind": "generated-news", "options": {"n": 4, "model": "tiny-random"}}]
    cfg["models"][1]["n"] = 4
    with pytest.raises(CrosstaskError, match=r"models\.1\.n: needs 4 malicious documents .* leaving 3"):
        run(cfg, console=quiet())
    assert not (tmp_path / "run").exists()
