"""Prompts of very different lengths: identical greedy outputs, and memory bounded by the token budget."""

from __future__ import annotations

import pytest
from helpers_prompts import long_docs, one_at_a_time, task_prompts

import crosstask.generation.decode as decode
from crosstask.generation import GenerationSettings, generate
from crosstask.generation.engine import batch_tokens, encode_prompt, pack_batches
from crosstask.generation.prefix import PromptGroup, group_by_prefix

MAX_NEW = 12


@pytest.fixture(scope="module")
def mixed(tiny):
    # 1 to 60 sentences: about 30 to 1,500 tiny-model tokens, all five tasks of each document.
    prompts = task_prompts(tiny.tokenizer, long_docs([1, 60, 4, 25]))
    lengths = [len(encode_prompt(tiny.tokenizer, p)) for p in prompts]
    assert max(lengths) > 10 * min(lengths)
    return prompts


@pytest.fixture(scope="module")
def mixed_reference(tiny, mixed):
    return [tiny.tokenizer.decode(r, skip_special_tokens=True)
            for r in one_at_a_time(tiny.model, tiny.tokenizer, mixed, MAX_NEW)]


@pytest.mark.parametrize("token_budget", [100_000, 2_000, 300])
def test_very_different_lengths_in_one_batch_equal_one_at_a_time(tiny, mixed, mixed_reference, token_budget):
    # 100,000: every prompt in one batch; 2,000: several batches; 300: long prompts alone, prefilled in chunks.
    outs = generate(tiny.model, tiny.tokenizer, mixed,
                    GenerationSettings(max_new_tokens=MAX_NEW, batch_size=64, token_budget=token_budget))
    assert outs == mixed_reference


def test_refusal_only_mode_drops_rows_and_keeps_outputs(tiny, mixed, mixed_reference):
    # Rows finish at different steps, so rows move within the cache; outputs stay prefixes of the full ones.
    short = generate(tiny.model, tiny.tokenizer, mixed, GenerationSettings(max_new_tokens=MAX_NEW, batch_size=64),
                     stop_when=lambda t: len(t) >= (len(t) % 7) + 2, stop_key="test@1")
    assert all(full.startswith(s) for s, full in zip(short, mixed_reference, strict=True))


def _spy(monkeypatch):
    """Record the cache positions each batch allocates and the tokens each forward pass is fed."""
    seen: dict[str, list[int]] = {"cache": []}
    real_buffers = decode._CacheBuffers.__init__

    def buffers(self, model, rows, width):
        seen["cache"].append(rows * width)
        real_buffers(self, model, rows, width)

    monkeypatch.setattr(decode._CacheBuffers, "__init__", buffers)
    return seen


def test_memory_is_bounded_by_the_token_budget_not_the_longest_prompt(tiny, mixed, monkeypatch):
    tok = tiny.tokenizer
    ids = [encode_prompt(tok, p) for p in mixed]
    budget = 2_000
    longest = max(len(x) for x in ids)
    # Padding every row to the longest prompt would not fit: the test fails for such a batching.
    assert len(ids) * (longest + MAX_NEW) > 3 * budget
    batches = pack_batches(group_by_prefix(ids, max_group=64), ids, 64, budget, room=MAX_NEW)
    for b in batches:
        rows = sum(len(g.members) for g in b)
        assert batch_tokens(b, ids, MAX_NEW) <= budget or rows == 1

    seen = _spy(monkeypatch)
    hook_fed: list[int] = []
    handle = tiny.model.register_forward_pre_hook(lambda mod, args, kw: hook_fed.append(kw["input_ids"].numel()),
                                                  with_kwargs=True)
    try:
        generate(tiny.model, tok, mixed,
                 GenerationSettings(max_new_tokens=MAX_NEW, batch_size=64, token_budget=budget, workers=1))
    finally:
        handle.remove()
    assert len(seen["cache"]) == len(batches) > 1
    assert all(c <= max(budget, longest + MAX_NEW) for c in seen["cache"])
    assert max(hook_fed) <= budget
    assert sum(seen["cache"]) < len(ids) * (longest + MAX_NEW)

    # Two workers run the same batches (two at a time), so outputs and each batch's memory do not change.
    one = sorted(seen["cache"])
    seen["cache"].clear()
    generate(tiny.model, tok, mixed,
             GenerationSettings(max_new_tokens=MAX_NEW, batch_size=64, token_budget=budget, workers=2))
    assert sorted(seen["cache"]) == one


def test_prefill_chunks_feed_at_most_the_chunk(tiny, monkeypatch):
    tok = tiny.tokenizer
    prompts = task_prompts(tok, long_docs([60]), tasks=["summarize"])
    n = len(encode_prompt(tok, prompts[0]))
    fed: list[int] = []
    handle = tiny.model.register_forward_pre_hook(lambda mod, args, kw: fed.append(kw["input_ids"].shape[-1]),
                                                  with_kwargs=True)
    try:
        generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=2, token_budget=256))
    finally:
        handle.remove()
    assert n > 3 * 256 and max(fed) <= 256
    assert sum(fed[:-1]) >= n - 1  # every prompt token was fed once (the last forward is the one new token)


def test_a_group_bigger_than_the_budget_is_split_with_its_prefix():
    ids = [list(range(100)) + [1000 + i] for i in range(6)]
    g = PromptGroup(members=tuple(range(6)), prefix_len=100)
    batches = pack_batches([g], ids, 64, token_budget=250, room=10)
    assert [len(b[0].members) for b in batches] == [2, 2, 2]
    assert all(b[0].prefix_len == 100 and batch_tokens(b, ids, 10) <= 250 for b in batches)
