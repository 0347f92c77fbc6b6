"""The engine's GQA attention: the numbers of transformers' sdpa, switched on per model and switched back."""

from __future__ import annotations

import threading

import pytest
import torch
from transformers.integrations.sdpa_attention import sdpa_attention_forward

from crosstask.generation.attention import NAME, gqa_attention, gqa_sdpa_forward


class _Module(torch.nn.Module):
    num_key_value_groups = 3
    is_causal = True


@pytest.mark.parametrize("masked", [False, True])
def test_multi_token_pass_equals_transformers_sdpa(masked):
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 6, 5, 8), torch.randn(2, 2, 9, 8), torch.randn(2, 2, 9, 8)
    mask = None
    if masked:  # 4 cached positions, then causal over the 5 new ones; row 1 has 2 left pads
        mask = torch.ones(2, 1, 5, 9, dtype=torch.bool).tril(diagonal=4)
        mask[1, :, :, :2] = False
    else:
        k, v = k[:, :, :5], v[:, :, :5]
    ours, _ = gqa_sdpa_forward(_Module(), q, k, v, mask, scaling=0.3)
    theirs, _ = sdpa_attention_forward(_Module(), q, k, v, mask, scaling=0.3)  # repeat_kv path
    assert ours.shape == theirs.shape == (2, 5, 6, 8)
    torch.testing.assert_close(ours, theirs)


def test_one_token_pass_is_transformers_own():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 6, 1, 8), torch.randn(2, 2, 9, 8), torch.randn(2, 2, 9, 8)
    ours, _ = gqa_sdpa_forward(_Module(), q, k, v, None)
    theirs, _ = sdpa_attention_forward(_Module(), q, k, v, None)
    assert torch.equal(ours, theirs)


def test_switch_is_reentrant_across_threads_and_restored(tiny):
    model = tiny.model
    assert model.config._attn_implementation == "sdpa"
    inside, leave = threading.Event(), threading.Event()

    def other():
        with gqa_attention(model):
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=other)
    with gqa_attention(model):
        t.start()
        inside.wait(5)
        assert model.config._attn_implementation == NAME
    assert model.config._attn_implementation == NAME  # the other thread is still inside
    leave.set()
    t.join()
    assert model.config._attn_implementation == "sdpa"


def test_a_model_not_on_sdpa_is_left_alone(tiny):
    model = tiny.model
    model.set_attn_implementation("eager")
    try:
        with gqa_attention(model):
            assert model.config._attn_implementation == "eager"
    finally:
        model.set_attn_implementation("sdpa")
