"""A user's own documents in one flag: a bare .jsonl/.json/.csv/.txt file or a folder of .txt files."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crosstask.data.sources import load_source, parse_source
from crosstask.errors import CrosstaskError


def _load(value, label):
    return load_source(parse_source(value, label))


def test_jsonl_without_ids_with_a_content_field(tmp_path):
    f = tmp_path / "mydocs.jsonl"
    f.write_text("".join(json.dumps({"content": f"Placeholder note {i}.", "topic": "fair"}) + "\n" for i in range(3)))
    docs = _load(str(f), "benign")
    assert [d.id for d in docs] == ["mydocs-1", "mydocs-2", "mydocs-3"]  # stable: file name and line
    assert {d.label for d in docs} == {"benign"} and docs[0].text == "Placeholder note 0."
    assert docs[0].meta == {"topic": "fair"}
    assert [d.id for d in _load(str(f), "benign")] == [d.id for d in docs]


def test_field_order_and_ids_when_given(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps([{"id": "k1", "output": "Placeholder out.", "text": "Placeholder text."}]))
    (d,) = _load(str(f), "sensitive-benign")
    assert (d.id, d.text, d.label) == ("k1", "Placeholder text.", "sensitive-benign")  # text before output


def test_csv_with_a_text_column(tmp_path):
    f = tmp_path / "notes.csv"
    f.write_text('text,topic\n"Placeholder, one.",fair\nPlaceholder two.,market\n', encoding="utf-8")
    docs = _load(str(f), "malicious")
    assert [(d.id, d.text, d.label) for d in docs] == [("notes-2", "Placeholder, one.", "malicious"),
                                                       ("notes-3", "Placeholder two.", "malicious")]


def test_folder_of_txt_files_and_one_txt_file(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("b", "a"):
        (folder / f"{name}.txt").write_text(f"Placeholder document {name}.", encoding="utf-8")
    (folder / "skip.md").write_text("not read")
    docs = _load(str(folder), "benign")
    assert [(d.id, d.text) for d in docs] == [("mine-a", "Placeholder document a."), ("mine-b", "Placeholder document b.")]
    (d,) = _load(str(folder / "a.txt"), "benign")
    assert (d.id, d.label) == ("a", "benign")


def test_no_known_text_field_is_one_line_naming_file_and_fields(tmp_path):
    f = tmp_path / "odd.jsonl"
    f.write_text(json.dumps({"body": "Placeholder.", "when": "today"}) + "\n")
    with pytest.raises(CrosstaskError) as e:
        _load(str(f), "benign")
    msg = str(e.value)
    assert "\n" not in msg and "odd.jsonl" in msg and "body, when" in msg and "text, document, content, output" in msg
    # text_field in a spec picks it
    assert load_source({"kind": "file", "path": str(f), "label": "benign", "text_field": "body"})[0].text == "Placeholder."


def test_eval_run_takes_own_documents_in_one_flag(tmp_path):
    from crosstask.cli.main import app

    ben = tmp_path / "mydocs.jsonl"
    ben.write_text("".join(json.dumps({"content": f"Placeholder article {i} about a town fair."}) + "\n"
                           for i in range(2)))
    r = CliRunner().invoke(app, ["eval", "run", "--model", "tiny-random", "--benign", str(ben), "--tasks", "case",
                                 "--max-new-tokens", "2"])
    assert r.exit_code == 0, r.output
