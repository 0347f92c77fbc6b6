"""The generation cache names an adapter by its content, not by where it lies or when it was written."""

from __future__ import annotations

import json
import os
import shutil

from crosstask.evaluation.eval_config import EvalConfig
from crosstask.evaluation.evaluator import _weights_identity


def _adapter(folder, weights=b"lora weights", modules=("q_proj", "v_proj"), base="/cache/a/tiny-random-v1"):
    folder.mkdir(parents=True)
    (folder / "adapter_model.safetensors").write_bytes(weights)
    (folder / "adapter_config.json").write_text(json.dumps(
        {"peft_type": "LORA", "r": 4, "target_modules": list(modules), "base_model_name_or_path": base}))
    return folder


def _ident(folder):
    return _weights_identity(EvalConfig.parse({"model": "tiny-random", "adapter": str(folder), "sets": {"benign": []}}))


def test_moved_copied_or_touched_adapter_keeps_its_identity(tmp_path):
    a = _adapter(tmp_path / "run" / "train" / "adapter")
    before = _ident(a)
    shutil.copytree(a, tmp_path / "moved" / "adapter")
    assert _ident(tmp_path / "moved" / "adapter") == before
    os.utime(a / "adapter_model.safetensors", (1, 1))
    assert _ident(a) == before
    # peft writes target_modules in set order and the base model's absolute cache path
    b = _adapter(tmp_path / "other", modules=("v_proj", "q_proj"), base="/elsewhere/tiny-random-v1")
    assert _ident(b) == before
    assert str(tmp_path) not in json.dumps(before)


def test_retrained_adapter_gets_a_new_identity(tmp_path):
    a = _adapter(tmp_path / "a")
    before = _ident(a)
    (a / "adapter_model.safetensors").write_bytes(b"other lora weights")
    assert _ident(a) != before
    c = _adapter(tmp_path / "c", modules=("q_proj", "k_proj"))
    assert _ident(c) != _ident(_adapter(tmp_path / "d"))
