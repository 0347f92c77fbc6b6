"""This machine's fp32 matmul rate at a model's projection shapes, and the throughput it allows.

Prefill of one token costs about 2 x P FLOP, P = the decoder's projection weights (no embedding: the
lm_head runs on one position per prompt); decoding one token costs 2 x (P + vocabulary x hidden) FLOP (it
needs the logits). Attention (reading the cache) comes on top and is not in the ceiling.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Ceiling:
    gflops: float  # measured fp32 matmul rate at the projection shapes
    projection_params: int  # P
    head_params: int  # vocabulary x hidden

    @property
    def prefill_tokens_per_s(self) -> float:
        return self.gflops * 1e9 / (2 * self.projection_params)

    @property
    def decode_tokens_per_s(self) -> float:
        return self.gflops * 1e9 / (2 * (self.projection_params + self.head_params))

    def seconds(self, prompt_tokens: int, new_tokens: int = 0) -> float:
        return prompt_tokens / self.prefill_tokens_per_s + new_tokens / self.decode_tokens_per_s


def projection_shapes(model) -> list[tuple[int, int]]:
    """(in, out) of every linear layer of the first decoder layer."""
    layer = model.model.layers[0]
    return [(m.in_features, m.out_features) for m in layer.modules() if isinstance(m, torch.nn.Linear)]


def projection_params(model) -> int:
    return sum(m.weight.numel() for layer in model.model.layers for m in layer.modules()
               if isinstance(m, torch.nn.Linear))


@torch.inference_mode()
def matmul_gflops(shapes: list[tuple[int, int]], rows: int = 512, seconds: float = 2.0) -> float:
    """FLOP over time of ``rows x in @ in x out`` for each shape in turn (a decoder layer's projections)."""
    mats = [(torch.randn(rows, i), torch.randn(o, i)) for i, o in shapes]
    flop = sum(2 * rows * i * o for i, o in shapes)
    for x, w in mats:  # warm-up
        F.linear(x, w)
    best, spent = float("inf"), 0.0
    while spent < seconds:
        t0 = time.perf_counter()
        for x, w in mats:
            F.linear(x, w)
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
    return flop / best / 1e9


def measure(model) -> Ceiling:
    cfg = model.config
    return Ceiling(matmul_gflops(projection_shapes(model)), projection_params(model), cfg.vocab_size * cfg.hidden_size)
