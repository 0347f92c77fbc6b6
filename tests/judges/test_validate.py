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
