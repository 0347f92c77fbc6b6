"""Contrastive defense data: matched prefills, counterparts, opening augmentation, quality filter,
topic split, hand-labelled real documents and the manifest's surface statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from placeholders import placeholder_docs

from crosstask.data.defense import build_defense_dataset, parse_defense_config
from crosstask.data.defense.builder import augment_opening
from crosstask.data.harvest import HarvestRequest, HarvestSettings, harvest_documents
from crosstask.data.harvest.prompts import (
    COUNTERPART_FRAMINGS,
    TOPIC_PREFILLS,
    load_topics,
    parse_topics,
    select_topics,
    topic_part,
)
from crosstask.data.quality import (
    distinct_n,
    label_stats,
    length_overlap,
    opens_with_prefill,
    reword_opening,
    strip_opening,
)
from crosstask.data.sources import load_source
from crosstask.document import Document, set_label, set_order
from crosstask.errors import CrosstaskError, InputError
from crosstask.generation import GenerationCache
from crosstask.io import write_jsonl

TINY = {"model": "tiny-random", "max_new_tokens": 24, "temperature": 1.0, "seed": 3, "min_words": 1,
        "min_distinct2": 0.0, "progress": False,
        "dtype": "float32"}
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "beavertails-long-1000.json"


@pytest.fixture
def fake_generator(monkeypatch, tmp_path):
    """Placeholder generations instead of a model: these tests are about prompts, prefills, ids and
    topics, and the tiny random model's byte noise is usually cut away as an unfinished sentence."""
    from crosstask.data.harvest import harvester

    monkeypatch.setenv("CROSSTASK_CACHE", str(tmp_path / "cache"))

    def fake(missing, settings, cache, description):
        for key, req in missing:
            words = " ".join(f"word{i}{len(req.doc_id)}" for i in range(12))
            cache.put({"key": key, "output": f" Placeholder text for {req.doc_id}: {words}. The end."})

    monkeypatch.setattr(harvester, "_generate_missing", fake)


def goals(n: int) -> list[Document]:
    return [Document(id=f"goal-{i}", text=f"Describe placeholder topic {i}", label="malicious", source="placeholder",
                     meta={"goal": f"Describe placeholder topic {i}"}) for i in range(n)]


# ------------------------------------------------------------------ matched prefills and counterparts


def test_benign_documents_under_the_matched_prefill(fake_generator):
    topics = ["a town fair", "a new library", "a bread contest", "a bicycle lane"]
    docs = load_source({"kind": "generated-sensitive", "n": 4, "topics": topics, "prefill_share": 1.0, **TINY})
    assert docs and all(opens_with_prefill(d.text) for d in docs)
    for d in docs:
        assert d.text.startswith(TOPIC_PREFILLS["sensitive"].format(topic=d.meta["topic"]).strip())
        assert d.label == "sensitive-benign"
    none = load_source({"kind": "generated-sensitive", "n": 4, "topics": topics, "prefill_share": 0.0, **TINY})
    assert not any(d.meta["prefill"] for d in none)


def test_counterparts_share_topic_and_opening_with_the_malicious_documents(tmp_path, fake_generator):
    gs = [{"kind": "documents", "path": str(tmp_path / "goals.jsonl")}]
    write_jsonl(tmp_path / "goals.jsonl", [g.to_dict() for g in goals(4)])
    mal = load_source({"kind": "harvest", "goals": gs[0], **TINY})
    cps = load_source({"kind": "harvest-counterparts", "goals": gs[0], "per_goal": 2, **TINY})
    assert all(d.label == "sensitive-benign" and d.source == "counterpart:placeholder" for d in cps)
    assert {d.meta["framing"] for d in cps} <= {f[0] for f in COUNTERPART_FRAMINGS}
    assert {d.meta["goal_id"] for d in cps} == {d.meta["goal_id"] for d in mal}
    # The same kind of opening line on both sides: it is not evidence of harm.
    assert all(d.text.startswith("Sure, here is") for d in mal + cps)
    with pytest.raises(CrosstaskError, match="known framings"):
        load_source({"kind": "harvest-counterparts", "goals": gs[0], "framings": ["recipe"], **TINY})


def test_opening_removed_source_keeps_distinct_ids(tmp_path, fake_generator):
    write_jsonl(tmp_path / "goals.jsonl", [g.to_dict() for g in goals(3)])
    spec = {"kind": "harvest", "goals": {"kind": "documents", "path": str(tmp_path / "goals.jsonl")}, **TINY}
    kept = load_source(spec)
    removed = load_source({**spec, "opening": "remove"})
    assert [d.id + "-noopen" for d in kept] == [d.id for d in removed]
    assert not any(d.text.startswith("Sure") for d in removed)
    with pytest.raises(CrosstaskError, match="keep or remove"):
        load_source({**spec, "opening": "sometimes"})


# ------------------------------------------------------------------ opening augmentation


def test_opening_line_removed_or_reworded():
    text = "Sure, here is a placeholder guide:\n\nStep one of the placeholder."
    assert strip_opening(text) == "Step one of the placeholder."
    assert strip_opening("No opening here.\nBody.") == "No opening here.\nBody."
    reworded = {reword_opening(text, v).split("\n")[0] for v in range(4)}
    assert len(reworded) == 4 and not any(line.lower().startswith("sure") for line in reworded)
    docs = [Document(f"d{i}", f"Sure, here is placeholder {i}:\n\nBody {i} of the text.", "malicious", "p")
            for i in range(40)]
    out = [augment_opening(d, 1.0, seed=0) for d in docs]
    assert not any(opens_with_prefill(d.text) for d in out)
    assert {d.meta["opening"] for d in out} == {"removed", "reworded"}
    assert out == [augment_opening(d, 1.0, seed=0) for d in docs]  # seeded per document
    half = [augment_opening(d, 0.5, seed=0) for d in docs]
    assert 8 < sum(d.meta.get("opening") is not None for d in half) < 32
    assert augment_opening(docs[0], 0.0, seed=0) is docs[0]


def test_balance_openings_equalises_the_share_across_labels():
    from crosstask.data.defense.builder import _Pool, balance_openings
    from crosstask.data.quality import opens_with_prefill

    mal = _Pool("malicious", train=[Document(f"m{i}", f"Sure, here is item {i}:\nBody {i}.", "malicious", "p")
                                    for i in range(20)])
    ben = _Pool("benign", train=[Document(f"b{i}", (f"Sure, here is a fair {i}:\n" if i < 5 else "") + f"Fair {i}.",
                                          "benign", "p") for i in range(20)])
    balance_openings([mal, ben], seed=0)
    assert sum(opens_with_prefill(d.text) for d in mal.train) == 5 == sum(opens_with_prefill(d.text) for d in ben.train)


# ------------------------------------------------------------------ quality filter


def _cached(tmp_path: Path, outputs: list[str]) -> tuple[list[HarvestRequest], GenerationCache, HarvestSettings]:
    cache = GenerationCache(tmp_path / "gen.jsonl")
    settings = HarvestSettings(model="tiny-random", min_words=3, progress=False)
    reqs = [HarvestRequest(doc_id=f"d{i}", label="malicious", source="p", messages=(("user", f"goal {i}"),))
            for i in range(len(outputs))]
    for r, out in zip(reqs, outputs, strict=True):
        cache.put({"key": r.cache_key(settings), "output": out})
    return reqs, cache, settings


def test_quality_filter_rejects_a_looping_document(tmp_path):
    loop = "1. **Placeholder:** " * 30
    reqs, cache, settings = _cached(tmp_path, [loop, "A placeholder text that says several different things."])
    assert distinct_n(loop) < 0.2
    res = harvest_documents(reqs, settings, cache=cache, is_refusal=lambda t: False)
    assert [d.id for d in res.documents] == ["d1"] and res.dropped_repetitive == 1


def test_harvest_rejecting_everything_is_an_error_with_counts(tmp_path):
    reqs, cache, settings = _cached(tmp_path, ["1. **x** " * 30, "too short"])
    with pytest.raises(CrosstaskError, match=r"every one of 2 generations was rejected \(dropped_short 1, "
                                             r"dropped_repetitive 1\)"):
        harvest_documents(reqs, settings, cache=cache, is_refusal=lambda t: False)


def test_repetition_penalty_matches_a_plain_reference_loop():
    """The engine's penalty equals transformers' processor applied to each row's new tokens."""
    import torch
    from transformers.generation.logits_process import RepetitionPenaltyLogitsProcessor

    from crosstask.generation import GenerationSettings, generate
    from crosstask.models import load_model

    lm = load_model("tiny-random", dtype="float32")
    prompts = ["placeholder prompt one", "a much longer placeholder prompt number two"]
    settings = GenerationSettings(max_new_tokens=12, repetition_penalty=1.8)
    got = generate(lm.model, lm.tokenizer, prompts, settings)
    proc = RepetitionPenaltyLogitsProcessor(1.8)
    for prompt, text in zip(prompts, got, strict=True):
        ids = lm.tokenizer(prompt, return_tensors="pt")["input_ids"]
        new: list[int] = []
        with torch.inference_mode():
            for _ in range(12):
                logits = lm.model(torch.cat([ids, torch.tensor([new], dtype=torch.long)], dim=1)).logits[:, -1]
                if new:
                    logits = proc(torch.tensor([new]), logits.float())
                tok = int(logits.argmax(-1))
                new.append(tok)
                if tok == lm.tokenizer.eos_token_id:
                    break
        assert text == lm.tokenizer.decode(new, skip_special_tokens=True)
    assert GenerationSettings(repetition_penalty=1.0).key() == GenerationSettings().key()
    with pytest.raises(CrosstaskError, match="repetition_penalty"):
        GenerationSettings(repetition_penalty=0)


# ------------------------------------------------------------------ topic split


@pytest.mark.parametrize("kind", ["news", "sensitive"])
def test_topic_split_has_no_leakage(kind):
    topics = load_topics(kind)
    train = select_topics(topics, "train", 0.25, kind)
    held = select_topics(topics, "heldout", 0.25, kind)
    assert not set(train) & set(held)
    assert sorted(train + held) == sorted(topics)
    assert 0.15 < len(held) / len(topics) < 0.35
    # A topic's side depends on its text only, not its list or position.
    assert all(topic_part(t, 0.25) == "heldout" for t in reversed(held))


def test_generated_documents_from_heldout_topics_never_use_train_topics(fake_generator):
    topics = [f"placeholder topic {i}" for i in range(40)]
    held = load_source({"kind": "generated-news", "n": 6, "topics": topics, "topics_part": "heldout", **TINY})
    train = set(select_topics(topics, "train", 0.25, "t"))
    assert held and not {d.meta["topic"] for d in held} & train


def test_bad_topic_banks(tmp_path):
    with pytest.raises(CrosstaskError, match="topic bank is empty"):
        parse_topics("# only a comment\n\n", "bank.txt")
    (tmp_path / "empty.txt").write_text("\n# nothing\n")
    with pytest.raises(CrosstaskError, match="empty.txt: the topic bank is empty"):
        load_source({"kind": "generated-news", "n": 2, "topics_file": str(tmp_path / "empty.txt"), **TINY})
    with pytest.raises(CrosstaskError, match="topics_part must be one of"):
        select_topics(["a"], "test", 0.25, "x")
    with pytest.raises(CrosstaskError, match="list of strings"):
        load_source({"kind": "generated-news", "n": 2, "topics": "a fair", **TINY})


# ------------------------------------------------------------------ surface statistics


def test_label_stats_and_length_overlap():
    stats = label_stats({"malicious": ["Sure, here is a plan:\nword " * 3, "one two three four"],
                         "benign": ["A fair opened.", "Another fair opened today in town."]})
    assert stats["malicious"]["count"] == 2 and stats["malicious"]["opening_share"] == 0.5
    assert set(stats["malicious"]["words"]) == {"p05", "p25", "p50", "p75", "p95"}
    assert "benign" in stats["length_overlap_with_malicious"]
    assert length_overlap([10, 11, 12], [10, 11, 12]) == 1.0
    assert length_overlap([10, 11, 12], [100, 110, 120]) == 0.0


def test_manifest_reports_surface_statistics_per_label(tmp_path):
    def write(name: str, n: int, label: str) -> list[dict]:
        docs = [d.to_dict() for d in placeholder_docs(n, label)]
        for d in docs:
            d["meta"] = {"reference": {"summarize": "Placeholder summary.", "translate": "占位。",
                                       "sentiment": "neutral"}}
            if label == "malicious":
                d["text"] = "Sure, here is a placeholder:\n\n" + d["text"]
        write_jsonl(tmp_path / name, docs)
        return [{"kind": "documents", "path": str(tmp_path / name)}]

    cfg = parse_defense_config({
        "recipe": "mixed", "n": 4, "tasks": ["summarize", "case"], "malicious": write("m.jsonl", 12, "malicious"),
        "sensitive": write("s.jsonl", 12, "sensitive-benign"), "benign": write("b.jsonl", 12, "benign"),
        "sensitive_ratio": 1.0, "benign_ratio": 0.5, "opening_augmentation": 0.5, "test_size": 2,
    })
    m = build_defense_dataset(cfg, tmp_path / "out")
    assert m.counts["summarize"] == {"benign": 2, "malicious": 4, "sensitive-benign": 4}
    st = m.document_stats
    assert set(st) == {"malicious", "benign", "sensitive-benign", "length_overlap_with_malicious"}
    assert 0 < st["malicious"]["opening_share"] < 1  # augmentation removed or reworded some openings
    assert st["benign"]["opening_share"] == 0
    saved = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert saved["document_stats"] == st


# ------------------------------------------------------------------ evaluation set names


def test_evaluation_set_names():
    assert set_label("malicious:harmbench") == "malicious" and set_label("benign") == "benign"
    with pytest.raises(InputError, match="bad evaluation set name"):
        set_label("harmful:x")
    assert set_order(["benign", "malicious", "malicious:x", "benign:y"]) == [
        "malicious:x", "benign:y", "malicious", "benign"]


# ------------------------------------------------------------------ real documents, labelled by a person


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data is not beside this checkout")
def test_hand_labelled_beavertails_sets():
    harmful = load_source({"kind": "beavertails", "path": str(SHARED), "hand_labels": "harmful"})
    harmless = load_source({"kind": "beavertails", "path": str(SHARED), "hand_labels": "harmless"})
    assert len(harmful) >= 500 and len(harmless) >= 200
    assert {d.label for d in harmful} == {"malicious"} and {d.label for d in harmless} == {"sensitive-benign"}
    assert not {d.id for d in harmful} & {d.id for d in harmless}


def test_hand_labels_refuse_another_file(tmp_path):
    (tmp_path / "bt.json").write_text(json.dumps({"outputs": ["A placeholder answer that nobody labelled."]}))
    with pytest.raises(InputError, match="record 0: field 'outputs': text differs"):
        load_source({"kind": "beavertails", "path": str(tmp_path / "bt.json"), "hand_labels": "harmless"})


def test_task_opening_refusals_open_like_a_sentiment_answer_and_are_judged_refusals():
    from crosstask.data.defense.refusal_bank import refusal_bank
    from crosstask.judges import get_judge

    bank = refusal_bank("sentiment", task_openings=True)
    assert bank and all(r.startswith("The ") for r in bank)
    judge = get_judge("refusal")
    assert all(judge.is_refusal(r) for r in bank)
    # Cut where refusal-only decoding may stop (about 24 tokens), still a refusal.
    assert all(judge.is_refusal(" ".join(r.split()[:16])) for r in bank)
    assert refusal_bank("cloze", task_openings=True) == refusal_bank("cloze")  # no such templates: unchanged
