"""``crosstask judge validate`` / ``judge list``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crosstask.cli.main import app


def test_judge_validate_on_user_data_writes_json(tmp_path):
    data = tmp_path / "fake.jsonl"
    rows = [{"text": "I'm sorry, but I can't help with that.", "label": 1},
            {"text": "The placeholder fair opened on Monday.", "label": 0}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scores.json"
    r = CliRunner().invoke(app, ["judge", "validate", "--no-builtin", "--data", str(data), "--text-field", "text",
                                 "--label-field", "label", "--judge", "refusal,keyword-gcg13,keyword-harmbench",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    scores = json.loads(out.read_text())["scores"]
    ours = next(s for s in scores if s["judge"] == "refusal@3")
    assert ours["f1"] == 1.0 and ours["n"] == 2
    assert {s["judge"] for s in scores} >= {"keyword-gcg13@1", "keyword-harmbench@1"}


def test_judge_list():
    r = CliRunner().invoke(app, ["judge", "list"])
    assert r.exit_code == 0 and "refusal@3" in r.output
