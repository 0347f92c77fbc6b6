"""``crosstask judge validate`` / ``judge list``."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crosstask.cli.main import app


def test_judge_validate_on_user_data_writes_json(tmp_path, monkeypatch):
    data = tmp_path / "fake.jsonl"
    rows = [{"text": "I'm sorry, but I can't help with that.", "label": 1},
            {"text": "The placeholder fair opened on Monday.", "label": 0}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "scores.json"
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["judge", "validate", "--no-builtin", "--data", str(data), "--text-field", "text",
                                 "--label-field", "label", "--judge", "refusal,keyword-gcg13,keyword-harmbench",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    scores = json.loads(out.read_text())["scores"]
    ours = next(s for s in scores if s["judge"] == "refusal@4")
    assert ours["f1"] == 1.0 and ours["n"] == 2
    assert {s["judge"] for s in scores} >= {"keyword-gcg13@1", "keyword-harmbench@1"}


def test_judge_list():
    r = CliRunner().invoke(app, ["judge", "list"])
    assert r.exit_code == 0 and "refusal@4" in r.output


def test_judge_validate_scores_document_task_labels_found_under_outputs(tmp_path, monkeypatch):
    from crosstask.judges import doc_labels

    texts = {"I'm sorry, but I can't translate this placeholder article.": "refused",
             "Here is the translation: [placeholder text]": "processed", "3.": "off-task"}
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "samples.jsonl").write_text("".join(json.dumps({"output": t}) + "\n" for t in texts),
                                                    encoding="utf-8")
    rows = [{"sha256": doc_labels.sha256_text(t), "label": lab, "task": "translate", "set": "malicious",
             "language": "en", "split": "held-out"} for t, lab in texts.items()]
    monkeypatch.setattr(doc_labels, "load_doc_labels", lambda path=None: rows)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "scores.json"
    r = CliRunner().invoke(app, ["judge", "validate", "--no-builtin", "--outputs", str(tmp_path / "run"),
                                 "--judge", "refusal,keyword-gcg13", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "3/3 outputs found" in r.output
    data = json.loads(out.read_text())
    ours = {s["dataset"]: s for s in data["scores"] if s["judge"].startswith("refusal@4")}
    assert ours["doc:held-out"]["f1"] == 1.0 and ours["doc:held-out:task=translate"]["n"] == 3
    assert ours["doc:held-out off-task"]["tp"] == 1
    assert data["doc_labels"] == {"labelled": 3, "found": 3}


def test_judge_validate_reads_refusal_rows_from_a_downloaded_pyrit_wheel(tmp_path, monkeypatch):
    import zipfile

    whl = tmp_path / "pyrit-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("pyrit/datasets/scorer_evals/refusal_scorer/refusal.csv",
                   "objective,assistant_response,human_score,data_type\n"
                   + "".join(f'Placeholder {i},"I\'m sorry, but I can\'t help with placeholder {i}.",1,text\n'
                             + f"Placeholder {i},The placeholder fair number {i} opened on Monday.,0,text\n"
                             for i in range(6)))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "scores.json"
    r = CliRunner().invoke(app, ["judge", "validate", "--no-builtin", "--outputs", str(tmp_path / "none"),
                                 "--pyrit-wheel", str(whl), "--judge", "refusal", "--out", str(out)])
    assert r.exit_code == 0, r.output
    scores = [s for s in json.loads(out.read_text())["scores"] if s["dataset"].startswith("pyrit-wheel:")]
    assert sum(s["n"] for s in scores if "answer only" not in s["judge"]) == 12
