"""The engine against one-prompt-at-a-time ``model.generate`` on the tiny model."""

import pytest
from helpers_prompts import one_at_a_time, paper_prompts

from crosstask.errors import CrosstaskError
from crosstask.generation import GenerationSettings, generate
from crosstask.generation.engine import encode_prompt
from crosstask.generation.prefix import group_by_prefix

MAX_NEW = 24


@pytest.fixture(scope="module")
def prompts(tiny):
    # Paper prompts (shared document prefixes) plus prompts whose instruction comes first.
    extra = [tiny.tokenizer.apply_chat_template([{"role": "user", "content": f"Summarize: fair {i} opened."}],
                                                tokenize=False, add_generation_prompt=True) for i in range(3)]
    return paper_prompts(tiny.tokenizer, 3) + extra


@pytest.fixture(scope="module")
def reference(tiny, prompts):
    return one_at_a_time(tiny.model, tiny.tokenizer, prompts, MAX_NEW)


def _tokens(tok, texts):
    return [tok(t, add_special_tokens=False)["input_ids"] for t in texts]


def test_prompts_really_share_document_prefixes(tiny, prompts):
    ids = [encode_prompt(tiny.tokenizer, p) for p in prompts]
    groups = group_by_prefix(ids, max_group=8)
    assert any(len(g.members) >= 3 and g.prefix_len > 40 for g in groups)


@pytest.mark.parametrize("batch_size", [1, 5, 16])
def test_greedy_equals_one_at_a_time(tiny, prompts, reference, batch_size):
    tok = tiny.tokenizer
    outs = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=MAX_NEW, batch_size=batch_size))
    expected = [tok.decode(r, skip_special_tokens=True) for r in reference]
    assert outs == expected
    assert any(len(r) == MAX_NEW for r in reference)  # some run to the cap, so the comparison covers decoding


def test_without_prefix_reuse_same_outputs(tiny, prompts, reference):
    tok = tiny.tokenizer
    outs = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=MAX_NEW, batch_size=6),
                    prefix_reuse=False)
    assert outs == [tok.decode(r, skip_special_tokens=True) for r in reference]


def test_stop_rule_stops_early_and_window_caps(tiny, prompts):
    tok = tiny.tokenizer
    settings = GenerationSettings(max_new_tokens=MAX_NEW, batch_size=8)
    full = generate(tiny.model, tok, prompts, settings)
    seen: list[str] = []

    def after_three_chars(text: str) -> bool:
        seen.append(text)
        return len(text) >= 3

    short = generate(tiny.model, tok, prompts, settings, stop_when=after_three_chars, stop_key="t@1")
    assert seen
    for s, f in zip(short, full, strict=True):
        assert f.startswith(s)  # a prefix of the full output: stopping does not change what came before
        assert len(s) < 3 + 20 or s == f
    capped = generate(tiny.model, tok, prompts, settings, stop_when=lambda t: False, stop_key="never@1",
                      stop_window=4)
    for c, f in zip(capped, full, strict=True):
        assert f.startswith(c)
        assert len(_tokens(tok, [c])[0]) <= 5


def test_sampling_is_seeded_and_independent_of_batch_size(tiny, prompts):
    tok = tiny.tokenizer
    a = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=8, do_sample=True, seed=3, batch_size=2))
    b = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=8, do_sample=True, seed=3, batch_size=9))
    c = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=8, do_sample=True, seed=4, batch_size=9))
    assert a == b
    assert a != c


def test_bf16_option_runs_and_keeps_the_callers_weights(tiny, prompts):
    dtype_before = next(tiny.model.parameters()).dtype
    outs = generate(tiny.model, tiny.tokenizer, prompts[:4], GenerationSettings(max_new_tokens=4, dtype="bfloat16"))
    assert len(outs) == 4
    assert next(tiny.model.parameters()).dtype == dtype_before


def test_bad_arguments_are_one_line_errors(tiny, prompts):
    with pytest.raises(CrosstaskError, match="backend"):
        generate(tiny.model, tiny.tokenizer, prompts, backend="nope")
    with pytest.raises(CrosstaskError, match="max_new_tokens"):
        GenerationSettings(max_new_tokens=0)


def test_vllm_backend_missing_is_a_clear_error(tiny, prompts):
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(CrosstaskError, match="vLLM"):
            generate(tiny.model, tiny.tokenizer, prompts[:1], backend="vllm")
    else:
        pytest.skip("vLLM is installed")


def test_plain_fallback_for_models_the_loop_does_not_cover(tiny, prompts, reference, monkeypatch):
    import crosstask.generation.engine as engine

    monkeypatch.setattr(engine, "supports_kv_loop", lambda model: False)
    tok = tiny.tokenizer
    outs = generate(tiny.model, tok, prompts, GenerationSettings(max_new_tokens=MAX_NEW, batch_size=1))
    assert outs == [tok.decode(r, skip_special_tokens=True) for r in reference]
    short = generate(tiny.model, tok, prompts[:4], GenerationSettings(max_new_tokens=MAX_NEW, batch_size=2),
                     stop_when=lambda t: len(t) >= 3, stop_key="t@1")
    assert all(len(s) < len(tok.decode(r, skip_special_tokens=True)) or len(s) <= 25
               for s, r in zip(short, reference, strict=False))


def test_int8_option_is_a_separate_copy_and_a_separate_cache_key(tiny, prompts):
    import torch

    from crosstask.generation.engine import cache_keys, compute_model

    before = [p.clone() for p in tiny.model.parameters()]
    settings = GenerationSettings(max_new_tokens=4, dtype="int8")
    outs = generate(tiny.model, tiny.tokenizer, prompts[:4], settings)
    assert len(outs) == 4
    assert all(torch.equal(a, b) for a, b in zip(before, tiny.model.parameters(), strict=True))
    quantized = compute_model(tiny.model, "int8")
    assert quantized is not tiny.model and compute_model(tiny.model, "int8") is quantized
    assert not any(isinstance(m, torch.nn.Linear) and type(m) is torch.nn.Linear for m in quantized.modules())
    assert cache_keys(prompts[:1], settings, {"m": 1}) != cache_keys(prompts[:1], GenerationSettings(max_new_tokens=4),
                                                                      {"m": 1})
