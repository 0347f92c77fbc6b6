"""``crosstask data build`` / ``inspect`` / ``harvest`` through the real CLI."""

from __future__ import annotations

import json

from placeholders import placeholder_docs
from typer.testing import CliRunner

from crosstask.cli.main import app
from crosstask.errors import CrosstaskError

GIVEN = {"summarize": "Placeholder summary.", "translate": "占位摘要。", "sentiment": "neutral"}


def _write_docs(path, label, n):
    lines = []
    for d in placeholder_docs(n, label):
        rec = d.to_dict() | {"meta": {"reference": GIVEN}}
        lines.append(json.dumps(rec) + "\n")
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


def test_build_and_inspect(tmp_path):
    mal = _write_docs(tmp_path / "mal.jsonl", "malicious", 12)
    ben = _write_docs(tmp_path / "ben.jsonl", "benign", 8)
    cfg = tmp_path / "data.yaml"
    cfg.write_text(f"data:\n  recipe: mixed\n  benign_per_task: 2\n  reference_model: tiny-random\n"
                   f"  benign:\n    - {{kind: documents, path: {ben}}}\n  progress: false\n", encoding="utf-8")
    out = tmp_path / "ds"
    r = CliRunner().invoke(app, ["data", "build", "--config", str(cfg), "--malicious", mal, "--n", "3",
                                 "--test-size", "2", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert str(out.name) in r.output and "malicious" in r.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["by_kind"] == {"benign": 10, "malicious": 15}
    i = CliRunner().invoke(app, ["data", "inspect", str(out), "--examples", "4"])
    assert i.exit_code == 0, i.output
    assert "summarize" in i.output and "benign" in i.output
    assert "malicious document hidden" in i.output and "warning" in i.output


def test_build_errors_are_one_line_and_leave_nothing(tmp_path):
    mal = _write_docs(tmp_path / "mal.jsonl", "malicious", 4)
    out = tmp_path / "ds"
    for args, message in [
        (["--recipe", "blend"], "unknown recipe"),
        (["--n", "10"], "need 10 per task"),
        (["--tasks", "summarize,juggle"], "unknown task"),
    ]:
        r = CliRunner().invoke(app, ["data", "build", "--malicious", mal, "--test-size", "1", "--out", str(out),
                                     *args])
        assert isinstance(r.exception, CrosstaskError), r.output
        assert message in str(r.exception) and "\n" not in str(r.exception)
        assert not out.exists()


def test_harvest_writes_documents(tmp_path):
    out = tmp_path / "news.jsonl"
    r = CliRunner().invoke(app, ["data", "harvest", "--kind", "news", "--n", "2", "--model", "tiny-random",
                                 "--max-new-tokens", "12", "--temperature", "1.0", "--min-words", "1",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert docs and all(d["label"] == "benign" for d in docs)
    assert str(out) in r.output.replace("\n", "")


def test_build_output_folder_from_config(tmp_path):
    mal = _write_docs(tmp_path / "mal.jsonl", "malicious", 6)
    out = tmp_path / "from-config"
    cfg = tmp_path / "data.yaml"
    cfg.write_text(f"out: {out}\ndata:\n  recipe: single:case\n  n: 2\n  test_size: 1\n"
                   f"  malicious:\n    - {{kind: documents, path: {mal}}}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["data", "build", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "manifest.json").read_text())["by_kind"] == {"malicious": 2}
