"""The real documents/testset stages on placeholder files, and the evaluation-summary adapter."""

from __future__ import annotations

import pytest
from placeholders import placeholder_docs

from crosstask.errors import CrosstaskError
from crosstask.evaluation.results import model_metrics
from crosstask.evaluation.stats import rate_interval
from crosstask.io import read_jsonl, write_jsonl
from crosstask.pipeline import actions
from crosstask.pipeline.stage import Stage, StageContext, StageOutput


def _docs_file(tmp_path, name, docs):
    path = tmp_path / name
    write_jsonl(path, [d.to_dict() for d in docs])
    return {"kind": "documents", "path": str(path)}


def _ctx(tmp_path, kind, inputs, deps=None):
    work = tmp_path / kind
    work.mkdir()
    return StageContext(Stage(kind, kind, inputs, action=lambda c: None), work, False, deps or {})


def test_documents_split_is_seeded_and_disjoint(tmp_path):
    specs = [_docs_file(tmp_path, "mal.jsonl", placeholder_docs(10, "malicious")),
             _docs_file(tmp_path, "ben.jsonl", placeholder_docs(6, "benign"))]
    inputs = {"sources": specs, "heldout": {"malicious": 3, "benign": 2, "sensitive_benign": 0}, "seed": 1}
    ctx = _ctx(tmp_path, "documents", inputs)
    summary = actions.documents(ctx)
    assert summary["counts"]["malicious"] == {"train": 7, "heldout": 3}
    held = {r["id"] for r in read_jsonl(ctx.work_dir / "heldout.jsonl")}
    train = {r["id"] for r in read_jsonl(ctx.work_dir / "train-malicious.jsonl")}
    assert len(held) == 5 and not held & train
    again = _ctx(tmp_path / "again", "documents", inputs) if (tmp_path / "again").mkdir() is None else None
    actions.documents(again)
    assert {r["id"] for r in read_jsonl(again.work_dir / "heldout.jsonl")} == held

    out = StageOutput("documents", "documents", "k", ctx.work_dir, summary)
    extra = _docs_file(tmp_path, "extra.jsonl", placeholder_docs(2, "sensitive-benign"))
    test = _ctx(tmp_path, "testset", {"test_sources": [{"spec": extra, "set": None}], "evaluate_heldout": True}, {"documents": out})
    assert actions.testset(test)["counts"] == {"malicious": 3, "benign": 2, "sensitive-benign": 2}


def test_too_few_documents_for_the_heldout_split(tmp_path):
    spec = _docs_file(tmp_path, "mal.jsonl", placeholder_docs(2, "malicious"))
    ctx = _ctx(tmp_path, "documents", {"sources": [spec], "heldout": {"malicious": 3, "benign": 0,
                                                                         "sensitive_benign": 0}, "seed": 0})
    with pytest.raises(CrosstaskError, match="documents.heldout.malicious: 3 held out, but the sources gave only 2"):
        actions.documents(ctx)


def test_duplicate_ids_across_sources(tmp_path):
    a = _docs_file(tmp_path, "a.jsonl", placeholder_docs(2, "benign"))
    b = _docs_file(tmp_path, "b.jsonl", placeholder_docs(2, "benign"))
    ctx = _ctx(tmp_path, "documents", {"sources": [a, b], "heldout": {"malicious": 0, "benign": 0,
                                                                       "sensitive_benign": 0}, "seed": 0})
    with pytest.raises(CrosstaskError, match="appears in source 0 and source 1"):
        actions.documents(ctx)


def test_model_metrics_and_samples():
    summary = {"results": {"malicious": {"case": {"n": 4, "refusal": {"k": 3, "rate": 0.75, "ci": [0.25, 1.0]},
                                                  "quality": None}},
                           "benign": {"case": {"n": 4, "refusal": {"k": 0, "rate": 0.0, "ci": [0, 0]},
                                               "quality": {"metric": "case_match", "mean": 0.5}}}}}
    # The stored (bootstrap) intervals are replaced by the Wilson interval of k/n.
    assert model_metrics(summary) == {"case": {
        "malicious": {"refusal_rate": 0.75, "count": 4, "refused": 3, "ci": list(rate_interval(3, 4)),
                      "interval": "wilson"},
        "benign": {"refusal_rate": 0.0, "count": 4, "refused": 0, "ci": list(rate_interval(0, 4)),
                   "interval": "wilson", "utility": {"case_match": 0.5}, "utility_ci": {"case_match": [0.5, 0.5]}}}}
    records = [{"task": "case", "set": "benign", "doc_id": f"d{i}", "output": "x", "refusal": i == 1}
               for i in (3, 1, 2)]
    assert actions.pick_samples(records, 2) == {"case": {"benign": [
        {"doc_id": "d1", "output": "x", "refused": True}, {"doc_id": "d2", "output": "x", "refused": False}]}}


def test_agreement_examples_are_joined_with_their_outputs():
    from crosstask.pipeline.collect import _agreement

    summary = {"keyword-gcg13@1": {"n": 2, "disagree": 1, "rate": 0.5, "primary_only": 1, "other_only": 0,
                                   "examples": {"primary_only": ["m/t/d1"], "other_only": []}}}
    samples = [{"id": "m/t/d1", "output": "I'm unable to translate this placeholder article."}]
    a = _agreement(summary, samples, max_chars=12)["keyword-gcg13@1"]
    assert a["disagree"] == 1 and a["examples"]["primary_only"] == [{"id": "m/t/d1", "output": "I'm unable t"}]
    assert _agreement(None, samples, 10) is None
