"""LoRA dropout with a cheaper random mask on CPU.

Why not ``torch.nn.Dropout``: on CPU it draws one Bernoulli sample per element
(``bernoulli_``), and peft applies it to the input of every adapted projection. With the
``cpu`` preset (7 projections x 30 layers of SmolLM2) that was 17% of a training step on the
reference machine (``benchmarks/train_throughput.py``; profile in docs/PERFORMANCE.md). Here
one 64-bit draw serves four elements: an element is kept when its 16-bit chunk is at least
``round(p * 65536)`` above the minimum, so the drop probability is ``p`` rounded to 1/65536
(0.05 -> 0.0500031), and kept values are scaled by the exact inverse of the keep probability.
On other devices, and in eval mode, it is plain ``F.dropout`` / identity.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_LO, _HI = torch.iinfo(torch.int64).min, torch.iinfo(torch.int64).max


class FastDropout(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        drop = round(p * 65536)
        self._threshold = drop - 32768  # int16 chunks are uniform on [-32768, 32767]
        self._scale = 65536 / (65536 - drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return F.dropout(x, self.p, training=True)
        n = x.numel()
        words = torch.randint(_LO, _HI, ((n + 3) // 4,), dtype=torch.int64)
        keep = words.view(torch.int16)[:n].view(x.shape) >= self._threshold
        # A float mask with the scale folded in: one multiply forward and backward (a bool
        # operand takes torch's slower type-promoting path).
        return x * keep.to(x.dtype).mul_(self._scale)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_fast_lora_dropout(model: Any) -> int:
    """Replace peft's LoRA dropout modules by :class:`FastDropout` (same p); returns how many."""
    n = 0
    for module in model.modules():
        drops = getattr(module, "lora_dropout", None)
        if isinstance(drops, nn.ModuleDict):
            for name, d in list(drops.items()):
                if isinstance(d, nn.Dropout) and d.p > 0:
                    drops[name] = FastDropout(d.p)
                    n += 1
    return n
