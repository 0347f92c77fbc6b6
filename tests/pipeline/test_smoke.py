"""``crosstask run configs/smoke.yaml`` end to end, killed mid-training and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosstask.io import read_json, read_jsonl_tolerant

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"
TRAIN_STEPS = 200
CLI = [sys.executable, "-c", "from crosstask.cli.main import main; main()"]


def _events_of_last_run(out: Path) -> list[dict]:
    events = read_jsonl_tolerant(out / "run.log")
    last_start = max(i for i, e in enumerate(events) if e["event"] == "run-start")
    return events[last_start:]


def _wait_for_training_checkpoint(proc: subprocess.Popen, out: Path, timeout: float = 300) -> tuple[str, str]:
    """The first train stage's name and key, once it has written its first checkpoint.

    Killing on that event (not after a fixed delay) lands the kill inside training however
    fast the machine is: the run trains for many more steps than one checkpoint interval.
    """
    deadline = time.time() + timeout
    stage = None
    while time.time() < deadline:
        if stage is None:
            stage = next((e for e in read_jsonl_tolerant(out / "run.log")
                          if e["event"] == "start" and e["stage"].startswith("train/")), None)
        if stage is not None:
            ckpts = out.parent / "stages" / "train" / f".{stage['key']}.partial" / "checkpoints"
            if list(ckpts.glob("step-*/state.json")):  # a checkpoint folder is renamed into place whole
                return stage["stage"], stage["key"]
        if proc.poll() is not None:
            out_, err = proc.communicate()
            pytest.fail(f"the run ended before a training checkpoint (rc {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    pytest.fail("training did not write a checkpoint in time")


@pytest.mark.slow
def test_smoke_run_killed_during_training_resumes_without_redoing_stages(tmp_path):
    out = tmp_path / "smoke"
    # Many more steps than the smoke config's 4 (checkpoints every 2): the kill after the first
    # checkpoint leaves most of training to do, so the rerun has to resume it.
    cmd = [*CLI, "run", str(SMOKE), "--out", str(out), "--set", f"train.max_steps={TRAIN_STEPS}"]
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        killed_in, key = _wait_for_training_checkpoint(proc, out)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # a crash: no chance to clean up
        proc.communicate()
    before = {e["stage"] for e in _events_of_last_run(out) if e["event"] == "done"}
    assert {"documents", "testset"} <= before and killed_in not in before

    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    events = _events_of_last_run(out)
    skipped = {e["stage"] for e in events if e["event"] == "skip"}
    started = {e["stage"]: e for e in events if e["event"] == "start"}
    assert before <= skipped, "finished stages must not run again"
    assert started[killed_in]["resume"] is True
    trained = read_json(next((out.parent / "stages" / "train").glob(f"*-{key[:8]}")) / "_stage.json")["summary"]
    assert 0 < trained["resumed_from"] < trained["steps"] == TRAIN_STEPS, "training resumed from its checkpoint"
    assert events[-1]["event"] == "run-done"

    results = read_json(out / "results.json")
    assert [m["id"] for m in results["models"]] == ["base", "single-summarize-n4", "mixed-n3"]
    for m in results["models"]:
        for task in ("summarize", "sentiment"):
            assert 0.0 <= m["metrics"][task]["malicious"]["refusal_rate"] <= 1.0
    assert results["models"][2]["loss"], "the loss curve comes from the training run's metrics.jsonl"
    assert (out / "report.html").stat().st_size > 10_000
    assert not list((out.parent / "stages").glob("*/.*.partial")), "no partial stage folder is left behind"
