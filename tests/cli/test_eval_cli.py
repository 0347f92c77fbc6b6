"""``crosstask eval run`` / ``eval matrix`` through the real CLI."""

from __future__ import annotations

import json

from placeholders import placeholder_docs
from typer.testing import CliRunner

from crosstask.cli.main import app


def _write_docs(path, label, n):
    path.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in placeholder_docs(n, label)), encoding="utf-8")


def test_eval_run_and_matrix(tmp_path):
    mal, ben = tmp_path / "mal.jsonl", tmp_path / "ben.jsonl"
    _write_docs(mal, "malicious", 2)
    _write_docs(ben, "benign", 2)
    out = tmp_path / "ev"
    r = CliRunner().invoke(app, ["eval", "run", "--model", "tiny-random", "--malicious", f"documents:{mal}",
                                 "--benign", f"documents:{ben}", "--tasks", "summarize,case", "--max-new-tokens", "3",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "summarize" in r.output and any(f"{k}/2" in r.output for k in range(3))
    assert (out / "summary.json").exists() and (out / "samples.jsonl").exists()
    m = CliRunner().invoke(app, ["eval", "matrix", f"base={out}", "--out", str(tmp_path / "m")])
    assert m.exit_code == 0, m.output
    assert json.loads((tmp_path / "m" / "matrix.json").read_text())["rows"][0]["defense"] == "base"
    old = CliRunner().invoke(app, ["eval", "matrix", f"base={out}", "--out", str(tmp_path / "m.json")])
    assert old.exit_code == 0 and "a file is deprecated" in old.stderr  # the old meaning still works
    assert json.loads((tmp_path / "m.json").read_text())["rows"][0]["defense"] == "base"


def test_eval_unknown_judge_exits_with_one_line(tmp_path):
    ben = tmp_path / "ben.jsonl"
    _write_docs(ben, "benign", 1)
    from crosstask.errors import CrosstaskError

    r = CliRunner().invoke(app, ["eval", "run", "--model", "tiny-random", "--benign", f"documents:{ben}", "--judge", "nope"])
    assert isinstance(r.exception, CrosstaskError) and "unknown judge 'nope'" in str(r.exception)


def test_eval_run_without_out_writes_to_a_default_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mal = tmp_path / "mal.jsonl"
    _write_docs(mal, "malicious", 2)
    args = ["eval", "run", "--model", "tiny-random", "--malicious", str(mal), "--tasks", "case",
            "--max-new-tokens", "2"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    folders = list((tmp_path / "runs" / "eval").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("tiny-random-")
    assert (folders[0] / "summary.json").exists() and "writing to" in r.output
    again = CliRunner().invoke(app, [*args, "--max-new-tokens", "3"])  # other settings: another folder
    assert again.exit_code == 0, again.output
    assert len(list((tmp_path / "runs" / "eval").iterdir())) == 2
