"""Grouped-query attention inside SDPA for the engine's multi-token passes, per model and thread-safe.

transformers' ``sdpa`` attention expands K/V to every query head (``repeat_kv``: a copy of the batch's
cache per layer) when a pass has several query tokens and a mask: the engine's later prefill chunks and its
padded suffix pass. SDPA's own ``enable_gqa`` reads the K/V heads in place, about 3x faster for the suffix
pass at 1,600 positions (benchmarks/long_context_profile.py). transformers offers that only through a
process-wide environment switch (``TRANSFORMERS_SDPA_FORCE_GQA``), which two engine workers toggling it
from their own threads would race on; here it is an attention function registered with transformers'
``AttentionInterface`` and switched on per model while the engine runs (:func:`gqa_attention`).

One-token (decode) passes go to transformers' own ``sdpa`` function unchanged: it packs the query onto
the K/V heads, which is faster than ``enable_gqa`` at long contexts. Multi-token passes compute what the
environment switch computes (the same SDPA call), so outputs do not change.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

NAME = "crosstask_gqa_sdpa"


def gqa_sdpa_forward(module: torch.nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                     is_causal: bool | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:
    """transformers' ``sdpa_attention_forward``, with ``enable_gqa`` instead of ``repeat_kv`` for several query
    tokens; anything beyond plain causal attention (one query token, position bias, softcap) goes to it."""
    q_length = query.shape[2]
    if (q_length == 1 or getattr(module, "num_key_value_groups", 1) == 1
            or kwargs.get("position_bias") is not None or kwargs.get("softcap") is not None):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    causal = bool(causal and attention_mask is None)
    if causal and key.shape[2] > q_length:  # as transformers does: the flash kernel needs q_length == kv_length
        key, value = key[:, :, :q_length], value[:, :, :q_length]
    out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                                           dropout_p=dropout, scale=scaling, is_causal=causal,
                                                           enable_gqa=True)
    return out.transpose(1, 2).contiguous(), None


AttentionInterface.register(NAME, gqa_sdpa_forward)
AttentionMaskInterface.register(NAME, sdpa_mask)  # the same masks as sdpa (and its causal-mask skip)

_lock = threading.Lock()
_users: dict[int, tuple[int, str]] = {}  # id(model) -> (engine calls running on it, implementation before)


@contextlib.contextmanager
def gqa_attention(model: Any) -> Iterator[None]:
    """Run ``model`` with :func:`gqa_sdpa_forward` while inside; re-entrant and shared by threads.

    Only a model on transformers' ``sdpa`` is switched (eager or flash attention are left alone); the first
    caller to enter switches it, the last to leave switches it back.
    """
    config = getattr(model, "config", None)
    switchable = hasattr(model, "set_attn_implementation")
    key = id(model)
    with _lock:
        count, before = _users.get(key, (0, getattr(config, "_attn_implementation", None)))
        if count == 0 and before == "sdpa" and switchable:
            model.set_attn_implementation(NAME)
        _users[key] = (count + 1, before)
    try:
        yield
    finally:
        with _lock:
            count, before = _users[key]
            if count == 1:
                del _users[key]
                if before == "sdpa" and switchable:
                    model.set_attn_implementation("sdpa")
            else:
                _users[key] = (count - 1, before)
