"""Harvesting: cleaning, caching and resume, de-duplication, drops and provenance (tiny model)."""

from __future__ import annotations

import pytest

from crosstask.data.harvest import (
    HarvestRequest,
    HarvestSettings,
    harvest_documents,
    harvest_malicious_documents,
)
from crosstask.data.harvest.clean import (
    clean_generated,
    cut_dangling_sentence,
    looks_like_refusal,
    normalized_hash,
)
from crosstask.data.harvest.prompts import goal_target, load_topics, render_prefill
from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.generation import GenerationCache

TINY = HarvestSettings(model="tiny-random", max_new_tokens=6, batch_size=2, temperature=1.0, seed=3, min_words=1,
                       progress=False, dtype="float32")


def goals(n: int) -> list[Document]:
    return [
        Document(id=f"goal-{i}", text=f"Describe placeholder topic {i} about [redacted]", label="malicious",
                 source="placeholder", meta={"goal": f"Describe placeholder topic {i} about [redacted]"})
        for i in range(n)
    ]


def test_cut_dangling_sentence_and_special_tokens():
    assert cut_dangling_sentence("One thing. Two things. And then th") == "One thing. Two things."
    assert cut_dangling_sentence("Steps:\n1. Open the door\n2. Wal") == "Steps:\n1. Open the door"
    assert cut_dangling_sentence("Complete sentence.") == "Complete sentence."
    assert cut_dangling_sentence("no sentence end at all") == "no sentence end at all"
    assert clean_generated("Sure, here is", " a fair.<|im_end|> More") == "Sure, here is a fair."
    assert clean_generated("Sure, here is a plan:\n\n", "no sentence end") == "Sure, here is a plan:\n\nno sentence end"


def test_normalized_hash_matches_near_identical_texts():
    assert normalized_hash("The Fair opened.  ") == normalized_hash("the fair opened")
    assert normalized_hash("The fair opened.") != normalized_hash("The fair closed.")


def test_refusal_check():
    assert looks_like_refusal("I'm sorry, but I can't help with that.")
    assert looks_like_refusal("As an AI language model, I must decline.")
    assert not looks_like_refusal("1. Gather the placeholder materials.")


def test_prefill_is_generic_and_goal_derived():
    g = goals(1)[0]
    assert goal_target(g) == "how to describe placeholder topic 0 about [redacted]"
    assert render_prefill("Sure, here is {target}:\n\n", g).startswith("Sure, here is how to describe")
    with pytest.raises(CrosstaskError, match="unknown placeholder"):
        render_prefill("Sure {nope}", g)


def test_harvest_caches_with_provenance_and_resumes(tmp_path):
    cache = GenerationCache(tmp_path / "gen.jsonl")
    first = harvest_malicious_documents(goals(2), TINY, cache=cache)
    assert first.generated == 2 and first.cached == 0
    # Resume: two goals already cached, two new ones generated.
    second = harvest_malicious_documents(goals(4), TINY, cache=GenerationCache(tmp_path / "gen.jsonl"))
    assert (second.generated, second.cached) == (2, 2)
    # A third run generates nothing and returns the same documents.
    third = harvest_malicious_documents(goals(4), TINY, cache=GenerationCache(tmp_path / "gen.jsonl"))
    assert third.generated == 0 and third.cached == 4
    assert len(third.documents) == 4  # byte noise without a sentence end is kept, not cut back to the prefill
    assert [d.to_dict() for d in third.documents] == [d.to_dict() for d in second.documents]
    records = GenerationCache(tmp_path / "gen.jsonl")
    assert len(records) == 4
    for doc in third.documents:
        assert doc.label == "malicious" and doc.source == "harvest:placeholder"
        assert doc.text.startswith("Sure, here is how to describe placeholder topic")
        for key in ("goal", "goal_id", "goal_source", "harvest_key", "model", "prefill", "settings"):
            assert key in doc.meta, key
        assert doc.meta["settings"]["seed"] == 3 and doc.meta["model"] == "tiny-random"
        assert records.get(doc.meta["harvest_key"])["provenance"]["goal_id"] == doc.meta["goal_id"]


def test_changed_settings_regenerate(tmp_path):
    cache = GenerationCache(tmp_path / "gen.jsonl")
    harvest_malicious_documents(goals(1), TINY, cache=cache)
    other = HarvestSettings(**{**TINY.__dict__, "seed": 4})
    assert harvest_malicious_documents(goals(1), other, cache=cache).generated == 1


def _cached(tmp_path, outputs: list[str]) -> tuple[list[HarvestRequest], GenerationCache]:
    """Requests whose generations are already in the cache, so no model runs."""
    cache = GenerationCache(tmp_path / "gen.jsonl")
    reqs = [HarvestRequest(doc_id=f"d{i}", label="malicious", source="placeholder",
                           messages=(("user", f"placeholder goal {i}"),), prefill="Sure, here is")
            for i in range(len(outputs))]
    settings = HarvestSettings(model="tiny-random", min_words=3, progress=False)
    for r, out in zip(reqs, outputs, strict=True):
        cache.put({"key": r.cache_key(settings), "output": out})
    return reqs, cache


def test_dedup_and_drops_are_counted(tmp_path):
    outputs = [
        " a placeholder plan with four clear steps.",
        " a placeholder plan with four clear steps!",  # near-identical: dropped
        " I'm sorry, but I cannot help with this request at all.",  # a refusal: dropped
        " no.",  # too short: dropped
        " another placeholder text that is long enough.",
    ]
    reqs, cache = _cached(tmp_path, outputs)
    settings = HarvestSettings(model="tiny-random", min_words=3, progress=False)
    res = harvest_documents(reqs, settings, cache=cache, is_refusal=looks_like_refusal)
    assert res.generated == 0
    assert [d.id for d in res.documents] == ["d0", "d4"]
    assert (res.dropped_duplicate, res.dropped_refusal, res.dropped_short) == (1, 1, 1)


def test_generated_news_source_uses_topics(tmp_path):
    from crosstask.data.sources import load_source

    spec = {"kind": "generated-news", "n": 3, "model": "tiny-random", "max_new_tokens": 5, "temperature": 1.0,
            "min_words": 1, "progress": False, "dtype": "float32", "topics": ["a town fair", "a new library"]}
    docs = load_source(spec)
    assert docs and all(d.label == "benign" and d.source == "generated-news" for d in docs)
    assert {d.meta["topic"] for d in docs} <= {"a town fair", "a new library"}
    assert len({d.id for d in docs}) == len(docs)
    with pytest.raises(CrosstaskError, match="unknown option"):
        load_source({**spec, "colour": "red"})


def test_harvest_source_needs_goals():
    from crosstask.data.sources import load_source

    with pytest.raises(CrosstaskError, match="needs 'goals'"):
        load_source({"kind": "harvest"})


@pytest.mark.parametrize("name", ["news", "sensitive"])
def test_topic_lists(name):
    topics = load_topics(name)
    assert len(topics) >= 150
    assert len(set(topics)) == len(topics)


def test_only_cached_never_generates(tmp_path):
    cache = GenerationCache(tmp_path / "gen.jsonl")
    harvest_malicious_documents(goals(1), TINY, cache=cache)
    only = HarvestSettings(**{**TINY.__dict__, "only_cached": True})
    res = harvest_malicious_documents(goals(3), only, cache=cache)
    assert (res.generated, res.cached, res.not_cached) == (0, 1, 2)
    assert len(GenerationCache(tmp_path / "gen.jsonl")) == 1


def test_harvest_is_one_engine_call_with_provenance(tmp_path, monkeypatch):
    """All missing generations go to the engine at once (it groups prefixes and batches them), into its cache."""
    from crosstask.data.harvest import harvester

    calls = []
    real = harvester.generate

    def spy(model, tokenizer, prompts, settings, **kw):
        calls.append((len(prompts), kw))
        return real(model, tokenizer, prompts, settings, **kw)

    monkeypatch.setattr(harvester, "generate", spy)
    cache = GenerationCache(tmp_path / "gen.jsonl")
    res = harvest_malicious_documents(goals(5), TINY, cache=cache)  # batch_size 2: three batches, one call
    assert res.generated == 5 and len(calls) == 1 and calls[0][0] == 5
    assert calls[0][1]["cache"] is cache and calls[0][1]["cache_key"] == TINY.weights()
    rec = GenerationCache(tmp_path / "gen.jsonl").get(res.documents[0].meta["harvest_key"])
    assert rec["doc_id"] == res.documents[0].id and rec["settings"]["seed"] == 3


def test_data_stage_cache_keys_include_the_engine_version(monkeypatch):
    from crosstask.data.defense.references import SelfDistiller
    from crosstask.generation import engine

    req = HarvestRequest(doc_id="d", label="malicious", source="p", messages=(("user", "goal"),), prefill="Sure")
    distiller = SelfDistiller(model="tiny-random")
    before = (req.cache_key(TINY), distiller.key([{"role": "user", "content": "x"}]))
    monkeypatch.setattr(engine, "ENGINE_VERSION", engine.ENGINE_VERSION + 1)
    after = (req.cache_key(TINY), distiller.key([{"role": "user", "content": "x"}]))
    assert before[0] != after[0] and before[1] != after[1]
