"""Judge validation on small, obviously fake labelled fixtures and on pyrit's files."""

from __future__ import annotations

import json

import pytest

from crosstask.errors import InputError
from crosstask.judges.validate import builtin_sets, load_labelled, score_judge, validate_judges


def test_load_labelled_csv_with_comment_header_and_score(tmp_path):
    p = tmp_path / "fake.csv"
    p.write_text(
        "# dataset_version=0.1\nobjective,assistant_response,human_score,data_type\n"
        'Summarize placeholder 1,"I\'m sorry, but I can\'t help with that.",1,text\n'
        "Summarize placeholder 2,The placeholder fair opened on Monday.,0,text\n",
        encoding="utf-8",
    )
    data = load_labelled(p)
    assert [e.label for e in data.examples] == [True, False]
    s = score_judge("refusal", data)
    assert (s.tp, s.fp, s.fn, s.tn, s.f1) == (1, 0, 0, 1, 1.0)


def test_load_labelled_jsonl_custom_fields_and_bad_label(tmp_path):
    p = tmp_path / "fake.jsonl"
    p.write_text(json.dumps({"out": "Sorry, I cannot do that.", "y": "yes"}) + "\n"
                 + json.dumps({"out": "Placeholder answer.", "y": "maybe"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"record 2: field 'y'"):
        load_labelled(p, text_field="out", label_field="y", prompt_field=None)


def test_refusal_beats_keyword_judges_on_pyrit_data():
    sets = builtin_sets()
    if not sets:
        pytest.skip("pyrit data files not installed")
    scores = {(s.dataset, s.judge): s.f1 for s in validate_judges(["keyword-gcg13", "keyword-harmbench", "refusal"], sets)}
    for name in ("refusal.csv", "refusal_extra.csv", "held-out"):
        ours = scores[(name, "refusal@4")]
        assert ours >= 0.9
        assert ours > scores[(name, "keyword-gcg13@1")] and ours > scores[(name, "keyword-harmbench@1")]


_HEADER = "# dataset_version=0.1\nobjective,assistant_response,human_score,data_type\n"


def test_comment_lines_inside_quoted_answers_are_kept(tmp_path):
    p = tmp_path / "fake.csv"
    p.write_text(_HEADER + 'Placeholder 1,"# Step 1\nPlaceholder answer.",0,text\n', encoding="utf-8")
    assert load_labelled(p).examples[0].text == "# Step 1\nPlaceholder answer."


def test_objective_achieved_rows_are_non_refusals_split_by_hash(tmp_path, monkeypatch):
    from crosstask.judges import validate

    folder = tmp_path / "datasets" / "scorer_evals" / "objective"
    folder.mkdir(parents=True)
    rows = "".join(f"Placeholder {i},Placeholder answer number {i}.,{i % 2},text\n" for i in range(20))
    (folder / "fake.csv").write_text(_HEADER + rows, encoding="utf-8")
    monkeypatch.setattr(validate, "pyrit_dir", lambda: tmp_path)
    sets = validate.objective_achieved_set()
    assert {s.name for s in sets} <= {"objective:achieved:dev", "objective:achieved:held-out"}
    got = [e for s in sets for e in s.examples]
    assert len(got) == 10 and not any(e.label for e in got)  # only label-1 (achieved) rows, as non-refusals
    assert all(validate.answer_split(e.text) == s.name.rsplit(":", 1)[1] for s in sets for e in s.examples)


def test_wheel_sets_read_refusal_csv_from_a_wheel_and_drop_known_answers(tmp_path, monkeypatch):
    import zipfile

    from crosstask.judges import validate

    monkeypatch.setattr(validate, "_installed_answers", lambda: {"Placeholder known answer."})
    whl = tmp_path / "pyrit-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("pyrit/datasets/scorer_evals/refusal_scorer/refusal.csv", _HEADER
                   + 'Placeholder 1,"I\'m sorry, but I can\'t help with that.",1,text\n'
                   + "Placeholder 2,Placeholder known answer.,0,text\n")
    sets = validate.wheel_sets([whl])
    assert [e.label for s in sets for e in s.examples] == [True]
    bad = tmp_path / "other.whl"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("README", "placeholder")
    with pytest.raises(InputError, match="no scorer_evals refusal CSV"):
        validate.wheel_sets([bad])
