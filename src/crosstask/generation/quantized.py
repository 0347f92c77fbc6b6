"""The opt-in approximate fast path: a copy of the model with dynamically quantized int8 linear layers.

``GenerationSettings(dtype="int8")``. torch's dynamic quantization stores each linear layer's weights in int8
(one scale per tensor) and quantizes the activations per call; on CPUs with int8 dot-product instructions a
projection-sized matmul runs several times faster than fp32 (docs/PERFORMANCE.md). Outputs are not those of
fp32: measure agreement (refusal verdicts, not token identity) before relying on it. The embeddings and norms
stay fp32, so the key/value cache is fp32 as on the exact path.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any


def int8_copy(model: Any) -> Any:
    import torch
    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch deprecates quantized tensor creation for a later release; the path is opt-in and tested.
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(copy.deepcopy(model).float().eval(), {torch.nn.Linear}, dtype=torch.qint8)
