"""The evaluator end to end with the tiny model, the cross-task matrix, and bad inputs."""

from __future__ import annotations

import json

import pytest
from placeholders import placeholder_docs

from crosstask.errors import CrosstaskError
from crosstask.evaluation import cross_task_matrix, evaluate, load_result
from crosstask.tasks import get_task
from crosstask.tasks.registry import split_sentences
from crosstask.tasks.truncation import fit_document, middle_cut


def _cfg(tmp_path, **kw):
    cfg = {
        "model": "tiny-random", "max_new_tokens": 4, "batch_size": 4, "output_dir": str(tmp_path / "ev"),
        "sets": {"malicious": placeholder_docs(2, "malicious"), "benign": placeholder_docs(3, "benign")},
        "judges": ["refusal", "keyword-gcg13"], "bootstrap_resamples": 200, "tasks": ["summarize", "case"],
    }
    cfg.update(kw)
    return cfg


def test_evaluate_writes_samples_and_summary_and_resumes(tiny, tmp_path):
    res = evaluate(_cfg(tmp_path), loaded=tiny, progress=False)
    out = tmp_path / "ev"
    samples = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == (2 + 3) * 2
    s = samples[0]
    assert {"id", "set", "task", "doc_id", "prompt_id", "output", "judges", "metrics", "refusal"} <= set(s)
    assert set(s["judges"]) == {"refusal@4", "keyword-gcg13@1"}
    assert s["verdict"] in ("refused", "processed", "off-task") and s["judges"]["refusal@4"]["verdict"] == s["verdict"]
    summary = json.loads((out / "summary.json").read_text())
    # Off-task answers are counted apart (per cell and per set), and the judges' agreement is reported.
    n_off = sum(x["verdict"] == "off-task" for x in samples if x["set"] == "benign")
    assert summary["overall"]["benign"]["off_task"]["k"] == n_off
    assert sum(c["off_task"]["k"] for c in summary["results"]["benign"].values()) == n_off
    agree = summary["agreement"]["keyword-gcg13@1"]
    assert agree["n"] == len(samples) and agree["disagree"] == agree["primary_only"] + agree["other_only"]
    assert summary["schema"] == "crosstask.eval/1"
    assert summary["sets"]["malicious"]["mode"] == "refusal-only" and summary["sets"]["benign"]["mode"] == "full"
    cell = summary["results"]["benign"]["case"]
    assert cell["refusal"]["n"] == 3 and len(cell["refusal"]["ci"]) == 2
    assert cell["quality"]["metric"] == "case_match"  # case has a deterministic reference
    assert summary["results"]["malicious"]["summarize"]["quality"] is None
    # Empty outputs are counted and warned about, not hidden.
    n_empty = sum(not x["output"].strip() for x in samples)
    assert summary["empty_outputs"] == n_empty
    assert (n_empty > 0) == any("empty" in w for w in summary["warnings"])
    # A second run reuses every cached generation and gives the same numbers.
    lines = (out / "generations.jsonl").read_text().count("\n")
    again = evaluate(_cfg(tmp_path), loaded=tiny, progress=False)
    assert (out / "generations.jsonl").read_text().count("\n") == lines
    assert again.summary["results"] == res.summary["results"]
    assert load_result(out).summary["results"] == res.summary["results"]


def test_given_paper_prompts_and_references_are_used(tiny, tmp_path):
    from crosstask.document import Document

    doc = Document("p0", "Placeholder news text about a fair.", "benign", "paper-format",
                   meta={"prompts": {"summarize": "GIVEN PROMPT Summarize the above article briefly in 3 sentences."},
                         "reference": {"summarize": "A fair happened."}})
    res = evaluate(_cfg(tmp_path, sets={"benign": [doc]}, tasks=["summarize"]), loaded=tiny, progress=False)
    (rec,) = res.samples
    assert rec["reference"] == "A fair happened." and "rouge_l" in rec["metrics"]


def test_long_documents_are_cut_in_the_middle(tiny, tmp_path):
    res = evaluate(_cfg(tmp_path, sets={"benign": placeholder_docs(2)}, tasks=["summarize"], max_input_tokens=80),
                   loaded=tiny, progress=False)
    assert res.summary["truncated_documents"] == 2
    assert any("cut in the middle" in w for w in res.summary["warnings"])
    text = "start " + "middle " * 200 + "end instruction"
    ids = tiny.tokenizer(text, add_special_tokens=False)["input_ids"]
    cut = middle_cut(tiny.tokenizer, ids, len(ids) - 150)
    assert cut.startswith("start") and cut.endswith("end instruction") and "..." in cut


def test_truncated_case_and_cloze_references_come_from_the_text_the_model_saw(tiny, tmp_path):
    from crosstask.models import build_prompt

    docs = [type(d)(d.id, " ".join(f"Sentence {chr(65 + i)}{d.id[-1]} is about item {i}." for i in range(30)),
                    d.label, d.source) for d in placeholder_docs(2)]
    res = evaluate(_cfg(tmp_path, sets={"benign": docs}, tasks=["case", "cloze"], max_input_tokens=200),
                   loaded=tiny, progress=False)
    by_id = {d.id: d for d in docs}
    assert len(res.samples) == 4
    for rec in res.samples:
        assert rec["truncated"], rec["id"]
        doc, task = by_id[rec["doc_id"]], get_task(rec["task"])
        # The same cut as the defense dataset's: the document is cut, then the task transform runs on it.
        cut, ti, user, truncated = fit_document(
            doc, task, tokenizer=tiny.tokenizer, max_prompt_tokens=200,
            prompt_of=lambda u: build_prompt(tiny.tokenizer, [{"role": "user", "content": u}], "chat"),
        )
        assert truncated and " ... " in cut.text and user in rec["prompt"]
        assert rec["reference"] == ti.reference == task.prepare(cut).reference
        if rec["task"] == "case":
            # The model restores the casing of the lower-cased text it was shown.
            assert rec["reference"] == cut.text and rec["reference"].lower() in rec["prompt"]
            assert rec["reference"] != doc.text
        else:
            # The real next sentence of the cut document, right after the last sentence shown.
            sents = split_sentences(cut.text)
            shown = sents[: sents.index(rec["reference"])]
            assert rec["reference"] not in rec["prompt"] and " ".join(shown) in rec["prompt"]


def test_cross_task_matrix_rows_and_cells(tiny, tmp_path):
    res = evaluate(_cfg(tmp_path, tasks=["summarize", "cloze"]), loaded=tiny, progress=False)
    m = cross_task_matrix({"base": res, "again": res.summary})
    assert m["tasks"] == ["summarize", "cloze"] and [r["defense"] for r in m["rows"]] == ["base", "again"]
    cell = m["rows"][0]["cells"]["cloze"]
    assert cell["malicious_refusal"]["n"] == 2 and cell["benign_over_refusal"]["n"] == 3
    assert cell["sensitive_over_refusal"] is None


def test_unknown_judge_is_one_line_error(tmp_path):
    with pytest.raises(CrosstaskError, match="unknown judge 'gpt-judge'"):
        evaluate(_cfg(tmp_path, judges=["gpt-judge"]), progress=False)


def test_missing_adapter_and_unknown_keys_are_errors(tmp_path):
    with pytest.raises(CrosstaskError, match="adapter folder not found"):
        evaluate(_cfg(tmp_path, adapter=str(tmp_path / "nope")), progress=False)
    with pytest.raises(CrosstaskError, match="unknown evaluation config key"):
        evaluate(_cfg(tmp_path, modle="x"), progress=False)
    with pytest.raises(CrosstaskError, match="bad evaluation set name"):
        evaluate(_cfg(tmp_path, sets={"evil": placeholder_docs(1)}), progress=False)


def test_mismatched_adapter_base_model_is_an_error(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    (adapter / "crosstask_train.json").write_text(json.dumps({"base_model": "some-other-model"}))
    with pytest.raises(CrosstaskError, match="trained on base model 'some-other-model'"):
        evaluate(_cfg(tmp_path, adapter=str(adapter)), progress=False)


def test_paper_format_benign_set_uses_the_released_prompts(tiny, tmp_path, shared_data):
    folder = shared_data / "paper-format-sample"
    res = evaluate(_cfg(tmp_path, sets={"benign": {"kind": "paper-format", "path": str(folder)}},
                        tasks=["summarize", "translate", "sentiment", "case", "cloze"], max_new_tokens=2),
                   loaded=tiny, progress=False)
    assert set(res.summary["results"]["benign"]) == {"summarize", "translate", "sentiment", "case", "cloze"}
    released = json.loads((folder / "test_cloze_cnn.json").read_text())["instructions"]
    prompts = [r["prompt"] for r in res.samples if r["task"] == "cloze"]
    assert len(prompts) == len(released) and all(any(p in q for q in prompts) for p in released)
    # The released case prompt is not lower-cased: the reference is the document itself.
    assert res.summary["results"]["benign"]["case"]["quality"]["n"] == len(released)


def test_judge_agreement_counts_disagreements_both_ways_with_examples():
    from crosstask.evaluation.evaluator import judge_agreement

    def rec(i, a, b):
        return {"id": f"malicious/translate/d{i}", "judges": {"refusal@4": {"refusal": a}, "keyword-gcg13@1": {"refusal": b}}}

    records = [rec(0, True, True), rec(1, True, False), rec(2, True, False), rec(3, False, True), rec(4, False, False)]
    a = judge_agreement(records, ["refusal@4", "keyword-gcg13@1"], examples=1)["keyword-gcg13@1"]
    assert (a["n"], a["disagree"], a["primary_only"], a["other_only"]) == (5, 3, 2, 1)
    assert a["rate"] == 0.6 and a["examples"] == {"primary_only": ["malicious/translate/d1"],
                                                  "other_only": ["malicious/translate/d3"]}
    assert judge_agreement(records, ["refusal@4"]) == {}
