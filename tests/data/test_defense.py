"""The defense-dataset builder: recipes, counts, refusals, splits, determinism, truncation, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from placeholders import placeholder_docs

from crosstask.data.defense import (
    build_defense_dataset,
    parse_defense_config,
    read_examples,
    read_test_documents,
)
from crosstask.data.defense.refusal_bank import refusal_bank
from crosstask.errors import CrosstaskError
from crosstask.io import write_jsonl
from crosstask.tasks import PAPER_TASKS, get_task

GIVEN = {"summarize": "Placeholder summary.", "translate": "占位摘要。", "sentiment": "neutral"}


def write_docs(path: Path, n: int, label: str) -> str:
    docs = [d.to_dict() for d in placeholder_docs(n, label)]
    for d in docs:
        d["meta"] = {"reference": GIVEN}  # given references: no model needed for utility examples
    write_jsonl(path, docs)
    return str(path)


@pytest.fixture
def sources(tmp_path):
    return {
        "malicious": [{"kind": "documents", "path": write_docs(tmp_path / "mal.jsonl", 30, "malicious")}],
        "benign": [{"kind": "documents", "path": write_docs(tmp_path / "ben.jsonl", 16, "benign")}],
        "sensitive": [{"kind": "documents", "path": write_docs(tmp_path / "sen.jsonl", 12, "sensitive-benign")}],
    }


def config(sources, **kw):
    base = {"recipe": "mixed", "n": 4, "benign_per_task": 2, "sensitive_per_task": 1, "test_size": 5,
            "progress": False, "reference_model": "tiny-random", **sources}
    return parse_defense_config(base | kw)


def test_mixed_counts_and_manifest(sources, tmp_path):
    out = tmp_path / "ds"
    m = build_defense_dataset(config(sources), out)
    assert m.by_kind == {"benign": 10, "malicious": 20, "sensitive-benign": 5}
    assert all(m.counts[t] == {"benign": 2, "malicious": 4, "sensitive-benign": 1} for t in PAPER_TASKS)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config_hash"] == m.config_hash and manifest["seed"] == 0
    assert manifest["config"]["recipe"] == "mixed"
    assert manifest["sources"]["malicious"]["train_documents"] == 25
    examples = read_examples(out)
    assert len(examples) == m.total == 35
    for e in examples:
        assert [msg["role"] for msg in e.messages] == ["user"]
        if e.kind != "malicious" and e.task in GIVEN:
            assert e.response == GIVEN[e.task]
        if e.kind != "malicious" and e.task == "case":
            assert e.messages[0]["content"].startswith(e.response.lower())


def test_single_and_none_recipes(sources, tmp_path):
    m = build_defense_dataset(config(sources, recipe="single:summarize", n=7), tmp_path / "single")
    assert m.counts["summarize"]["malicious"] == 7 and m.by_kind["malicious"] == 7
    assert set(m.counts) == {"summarize"}
    m = build_defense_dataset(config(sources, recipe="none", malicious=[]), tmp_path / "none")
    assert "malicious" not in m.by_kind and m.by_kind["benign"] == 10


def test_refusals_are_varied_and_task_aware(sources, tmp_path):
    build_defense_dataset(config(sources, recipe="single:summarize", n=20, test_size=2), tmp_path / "ds")
    refusals = [e.response for e in read_examples(tmp_path / "ds") if e.kind == "malicious"]
    assert len(refusals) == 20 and len(set(refusals)) >= 12
    assert all("summar" in r for r in refusals)
    for task in PAPER_TASKS:
        assert len(set(refusal_bank(task))) >= 100


def test_split_has_no_leakage(sources, tmp_path):
    out = tmp_path / "ds"
    build_defense_dataset(config(sources, n=24, test_size=0.2), out)
    test_docs = read_test_documents(out)
    assert {d.label: 0 for d in test_docs}  # every label is held out
    held = {(d.source, d.id) for d in test_docs}
    held_texts = {d.text for d in test_docs}
    assert len([d for d in test_docs if d.label == "malicious"]) == 6  # 20% of 30
    for e in read_examples(out):
        assert (e.source, e.doc_id) not in held
        assert not any(t in e.messages[-1]["content"] for t in held_texts)


def test_same_config_same_bytes(sources, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    build_defense_dataset(config(sources), a)
    build_defense_dataset(config(sources), b)
    for name in ("train.jsonl", "test_documents.jsonl", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    build_defense_dataset(config(sources, seed=1), c)
    assert (a / "train.jsonl").read_bytes() != (c / "train.jsonl").read_bytes()


def test_middle_truncation_keeps_instruction_and_answer(sources, tmp_path, tiny):
    from crosstask.models import build_prompt

    long_docs = [d.to_dict() for d in placeholder_docs(12, "malicious")]
    for d in long_docs:
        d["text"] = " ".join([d["text"]] * 6)
    path = write_docs(tmp_path / "long.jsonl", 12, "benign")
    long_benign = [json.loads(line) for line in Path(path).read_text().splitlines()]
    for d in long_benign:
        d["text"] = " ".join([d["text"]] * 6)
    write_jsonl(tmp_path / "long-mal.jsonl", long_docs)
    write_jsonl(tmp_path / "long-ben.jsonl", long_benign)
    cfg = config({"malicious": [{"kind": "documents", "path": str(tmp_path / "long-mal.jsonl")}],
                  "benign": [{"kind": "documents", "path": str(tmp_path / "long-ben.jsonl")}]},
                 sensitive_per_task=0, test_size=2, max_prompt_tokens=160, tokenizer="tiny-random",
                 system_prompt="You are careful.")
    build_defense_dataset(cfg, tmp_path / "ds")
    examples = read_examples(tmp_path / "ds")
    assert examples and all(e.truncated for e in examples)
    for e in examples:
        task = get_task(e.task)
        user = e.messages[-1]["content"]
        assert e.messages[0] == {"role": "system", "content": "You are careful."}
        assert user.endswith(task.joiner + task.instruction)
        assert " ... " in user
        assert len(tiny.tokenizer(build_prompt(tiny.tokenizer, e.messages), add_special_tokens=False)["input_ids"]) <= 160
        if e.kind == "malicious":
            assert e.response in refusal_bank(e.task)
        elif e.task in GIVEN:
            assert e.response == GIVEN[e.task]
        elif e.task == "case":  # the reference is the original casing of the same (cut) text
            assert user.startswith(e.response.lower())


def _no_output(tmp_path, out):
    assert not out.exists()
    assert not [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tasks": ["summarize", "juggle"]}, "unknown task 'juggle'"),
        ({"recipe": "single:juggle"}, "unknown task 'juggle'"),
        ({"n": 26}, "need 26 per task but only 25"),
        ({"benign_per_task": 50}, "benign documents from documents"),
        ({"test_size": 2.5}, "whole count"),
        ({"malicious": [{"kind": "nope"}]}, "unknown source kind"),
    ],
)
def test_bad_config_one_line_error_and_no_output(sources, tmp_path, overrides, message):
    out = tmp_path / "ds"
    with pytest.raises(CrosstaskError, match=message) as err:
        build_defense_dataset(config(sources, **overrides), out)
    assert "\n" not in str(err.value)
    _no_output(tmp_path, out)


def test_unknown_recipe_is_rejected(sources):
    with pytest.raises(CrosstaskError, match="field 'recipe': unknown recipe 'blend'"):
        config(sources, recipe="blend")


def test_empty_document_names_file_and_record(sources, tmp_path):
    bad = tmp_path / "bad.jsonl"
    docs = [d.to_dict() for d in placeholder_docs(3, "malicious")]
    docs[1]["text"] = "  "
    write_jsonl(bad, docs)
    out = tmp_path / "ds"
    with pytest.raises(CrosstaskError, match="bad.jsonl: record 2") as err:
        build_defense_dataset(config(sources, malicious=[{"kind": "documents", "path": str(bad)}]), out)
    assert "\n" not in str(err.value)
    _no_output(tmp_path, out)


def test_allow_fewer_and_existing_output(sources, tmp_path):
    out = tmp_path / "ds"
    m = build_defense_dataset(config(sources, n=40, allow_fewer=True), out)
    assert m.counts["summarize"]["malicious"] == 25
    with pytest.raises(CrosstaskError, match="exists"):
        build_defense_dataset(config(sources), out)
    m2 = build_defense_dataset(config(sources), out, overwrite=True)
    assert m2.by_kind["malicious"] == 20 and len(read_examples(out)) == m2.total


def test_safety_extras(sources, tmp_path):
    path = tmp_path / "safety.json"
    path.write_text(json.dumps([{"instruction": f"Placeholder unsafe request {i} [redacted]", "input": "",
                                 "output": f"Placeholder refusal {i}."} for i in range(8)]))
    m = build_defense_dataset(config(sources, safety={"path": str(path), "n": 3}), tmp_path / "ds")
    assert m.by_kind["safety"] == 3 and m.counts["safety"] == {"safety": 3}
    safety = [e for e in read_examples(tmp_path / "ds") if e.kind == "safety"]
    assert all(e.response.startswith("Placeholder refusal") for e in safety)
    with pytest.raises(CrosstaskError, match="needs 9 records but the file has 8"):
        build_defense_dataset(config(sources, safety={"path": str(path), "n": 9}), tmp_path / "ds2")


def test_self_distilled_references_are_cached(tmp_path):
    from crosstask.data.defense.references import SelfDistiller
    from crosstask.generation import GenerationCache

    d = SelfDistiller(model="tiny-random", dtype="float32", max_new_tokens=4, progress=False)
    prompts = [[{"role": "user", "content": f"Placeholder article {i}. Summarize it."}] for i in range(2)]
    first = d.answers(prompts)
    n_cached = len(GenerationCache.named("references"))
    assert d.answers(prompts) == first
    assert len(GenerationCache.named("references")) == n_cached
    assert all(d.key(p) in GenerationCache.named("references") for p in prompts)


def test_model_written_refusals_fall_back_to_templates(sources, tmp_path):
    """The tiny random model writes no real refusal: every one is replaced by a template and counted."""
    cfg = config(sources, recipe="single:summarize", n=3, refusal_source="model", refusal_model="tiny-random",
                 reference_dtype="float32", benign_per_task=0, sensitive_per_task=0)
    m = build_defense_dataset(cfg, tmp_path / "ds")
    assert m.stats["model_refusals_replaced_by_template"] == 3
    assert all(e.response in refusal_bank("summarize") for e in read_examples(tmp_path / "ds"))
