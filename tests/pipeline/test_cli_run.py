"""``crosstask run`` on the command line: one-line errors and the dry-run plan."""

from __future__ import annotations

import sys
from pathlib import Path

from crosstask.cli.main import main

SMOKE = Path(__file__).resolve().parents[2] / "configs" / "smoke.yaml"


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["crosstask", *args])
    monkeypatch.setenv("COLUMNS", "200")
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_bad_value_is_one_line_error_with_key_path(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "x.yaml"
    bad.write_text(f"extends: {SMOKE}\ntrain:\n  lora_r: eight\n")
    code, _, err = cli(monkeypatch, capsys, "run", str(bad))
    assert code == 2
    assert err.strip() == f"error: {bad}: train.lora_r: Input should be a valid integer, unable to parse string as an integer"


def test_dry_run_lists_stages(tmp_path, monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "run", str(SMOKE), "--dry-run", "--out", str(tmp_path / "o"))
    assert code == 0
    assert "train/mixed-n3" in out and "9 to run" in out
    assert not (tmp_path / "o").exists()


def test_set_overrides_a_value(tmp_path, monkeypatch, capsys):
    code, out, _ = cli(monkeypatch, capsys, "run", str(SMOKE), "--dry-run", "--out", str(tmp_path / "o"),
                       "--set", "models.2.n=[3, 5]")
    assert code == 0 and "train/mixed-n5" in out and "12 to run" in out
