"""``crosstask train`` / ``crosstask merge`` from the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _crosstask(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "crosstask"), *args], capture_output=True, text=True,
                          timeout=600)


def test_train_and_merge_cli(mixed_ds, tmp_path):
    out = tmp_path / "out"
    p = _crosstask("train", str(mixed_ds), "--out", str(out), "--preset", "tiny", "--max-steps", "2", "--no-progress")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "trained 2 steps" in p.stdout
    p = _crosstask("merge", str(out), "--out", str(tmp_path / "merged"))
    assert p.returncode == 0, p.stderr[-2000:]
    assert (tmp_path / "merged" / "model.safetensors").exists()


def test_bad_input_is_one_line(tmp_path, write_ds, make_example):
    ds = write_ds([make_example(0, "summarize", "benign", response="")])
    p = _crosstask("train", str(ds), "--out", str(tmp_path / "o"), "--preset", "tiny", "--no-progress")
    assert p.returncode == 2
    err = [line for line in p.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "record 1: field 'response'" in err[0] and "Traceback" not in p.stderr
    p = _crosstask("train", str(ds), "--out", str(tmp_path / "o"), "--preset", "nope")
    assert p.returncode == 2 and "unknown training preset 'nope'" in p.stderr


def test_train_options_reach_the_config(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from crosstask.cli.main import app
    from crosstask.training import trainer

    seen = {}

    def fake_train(cfg, dataset, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(trainer, "train", fake_train)
    (tmp_path / "c.yaml").write_text("train: {lora_alpha: 5, save_steps: 7}\n")
    args = ["train", str(tmp_path), "--out", str(tmp_path / "o"), "--preset", "tiny", "--config", str(tmp_path / "c.yaml"),
            "--set", "save_steps=9", "--set", "task_weights.summarize=2", "--lr", "0.5", "--epochs", "2",
            "--lora-target-modules", "q_proj,k_proj", "--kind-weights", "{safety: 3}", "--response-only",
            "--gradient-checkpointing", "--max-steps", "4"]
    CliRunner().invoke(app, args, catch_exceptions=False)
    cfg = seen["cfg"]
    assert (cfg.base_model, cfg.lora_alpha, cfg.save_steps, cfg.learning_rate, cfg.num_epochs) == (
        "tiny-random", 5, 9, 0.5, 2)
    assert cfg.lora_target_modules == ["q_proj", "k_proj"] and cfg.task_weights == {"summarize": 2}
    assert cfg.kind_weights == {"safety": 3} and cfg.train_on_inputs is False and cfg.gradient_checkpointing
    assert cfg.max_steps == 4
