"""Resume continues the same run or refuses: same dataset (by content), base model and config; the
metadata records every segment. Adapter files are deterministic (sorted target_modules)."""

from __future__ import annotations

import json
import os
import signal
import sys

import pytest
from conftest import mixed_records, write_dataset

from crosstask.errors import CrosstaskError
from crosstask.training import preset, train


def _interrupt_at(step_to_stop: int):
    def ctrl_c(step, record):
        if step == step_to_stop:
            os.kill(os.getpid(), signal.SIGINT)

    return ctrl_c


@pytest.fixture
def two_datasets(tmp_path):
    a = write_dataset(tmp_path / "ds-a", mixed_records(12))
    records_b = mixed_records(16)
    records_b[0] = {**records_b[0], "response": "I can't help with that placeholder request."}
    b = write_dataset(tmp_path / "ds-b", records_b)
    return a, b


def test_resume_on_another_dataset_refuses(two_datasets, tmp_path):
    ds_a, ds_b = two_datasets
    cfg = preset("tiny", save_steps=2, max_steps=6, batch_size=3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds_a, out, progress=False, on_step=_interrupt_at(2))
    before = (out / "crosstask_train.json").read_text()
    with pytest.raises(CrosstaskError, match=r"cannot resume: it was trained on another dataset .*ds-a.*ds-b") as e:
        train(cfg, ds_b, out, resume=True, progress=False)
    assert "\n" not in str(e.value)
    assert (out / "crosstask_train.json").read_text() == before  # nothing touched
    # A copy of the same dataset elsewhere is the same dataset: resuming from it is fine.
    copy = write_dataset(tmp_path / "elsewhere" / "ds-a-copy", mixed_records(12))
    res = train(cfg, copy, out, resume=True, progress=False)
    assert res.resumed_from == 2 and res.steps == 6


def test_resume_on_another_base_model_refuses(two_datasets, tmp_path):
    ds_a, _ = two_datasets
    cfg = preset("tiny", save_steps=2, max_steps=4, batch_size=3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds_a, out, progress=False, on_step=_interrupt_at(2))
    with pytest.raises(CrosstaskError, match="trained on base model 'tiny-random', not 'smollm2-135m-instruct'"):
        train(cfg.replace(base_model="smollm2-135m-instruct"), ds_a, out, resume=True, progress=False)


def test_resume_through_the_cli_is_one_line_exit_2(two_datasets, tmp_path, capsys, monkeypatch):
    from crosstask.cli.main import main

    ds_a, ds_b = two_datasets
    cfg = preset("tiny", save_steps=2, max_steps=6, batch_size=3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds_a, out, progress=False, on_step=_interrupt_at(2))
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS") or "1")
    monkeypatch.setattr(sys, "argv", ["crosstask", "train", str(ds_b), "--out", str(out), "--resume", "--preset",
                                      "tiny", "--save-steps", "2", "--max-steps", "6", "--batch-size", "3",
                                      "--no-progress"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err and "another dataset" in err and "Traceback" not in err


def test_metadata_records_every_segment(two_datasets, tmp_path):
    ds_a, _ = two_datasets
    cfg = preset("tiny", save_steps=2, max_steps=6, batch_size=3)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds_a, out, progress=False, on_step=_interrupt_at(3))  # checkpoint at step 3 (on Ctrl-C)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, ds_a, out, resume=True, progress=False, on_step=_interrupt_at(5))
    train(cfg, ds_a, out, resume=True, progress=False)
    meta = json.loads((out / "crosstask_train.json").read_text())
    segments = [(s["start_step"], s["end_step"]) for s in meta["segments"]]
    assert segments == [(0, 3), (3, 5), (5, 6)]
    assert {s["dataset"]["content_hash"] for s in meta["segments"]} == {meta["dataset"]["content_hash"]}
    assert meta["finished"] and meta["steps"] == 6


def test_adapter_config_lists_target_modules_sorted(two_datasets, tmp_path):
    ds_a, _ = two_datasets
    cfg = preset("tiny", max_steps=1, batch_size=3, lora_target_modules=["v_proj", "q_proj", "o_proj", "k_proj"])
    train(cfg, ds_a, tmp_path / "run", progress=False)
    modules = json.loads((tmp_path / "run" / "adapter_config.json").read_text())["target_modules"]
    assert modules == ["k_proj", "o_proj", "q_proj", "v_proj"]
