"""Model loading: the tiny model, local folders, bad folders, offline hub ids, the embedded model."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from crosstask.errors import CrosstaskError
from crosstask.models import EMBEDDED_MODEL, build_prompt, load_model, resolve_model_path
from crosstask.models.adapters import attach_adapter
from crosstask.models.loader import ensure_pad_token, parse_dtype
from crosstask.models.tiny import build_tiny_tokenizer


def test_tiny_model_loads_with_distinct_pad(tiny):
    tok = tiny.tokenizer
    assert tok.pad_token is not None and tok.pad_token_id != tok.eos_token_id
    assert tiny.model.generation_config.pad_token_id == tok.pad_token_id
    assert not tiny.model.training
    ids = tok("Placeholder text.", return_tensors="pt")
    with torch.no_grad():
        logits = tiny.model(**ids).logits
    assert logits.shape[-1] >= len(tok)


def test_local_folder_loads(tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(resolve_model_path("tiny-random"), folder)
    loaded = load_model(str(folder), dtype="bf16")
    assert loaded.path == str(folder) and loaded.model.dtype == torch.bfloat16
    assert loaded.tokenizer.pad_token != loaded.tokenizer.eos_token


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(CrosstaskError, match="no config.json"):
        load_model(str(tmp_path))


def test_missing_path_and_file_path(tmp_path):
    with pytest.raises(CrosstaskError, match="model folder not found"):
        load_model(str(tmp_path / "nope"))
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"")
    with pytest.raises(CrosstaskError, match="must be a folder"):
        load_model(str(f))


def test_folder_without_safetensors_is_refused(tmp_path):
    folder = tmp_path / "no-weights"
    shutil.copytree(resolve_model_path("tiny-random"), folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(CrosstaskError, match="safetensors required"):
        load_model(str(folder))


def test_hub_id_offline_suggests_local_copy(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CrosstaskError) as e:
        load_model("some-org/some-model-that-is-not-cached")
    msg = str(e.value)
    assert "\n" not in msg and "offline" in msg and "--local-dir" in msg and "pass its path" in msg


def test_ensure_pad_token_replaces_eos_pad():
    tok = build_tiny_tokenizer()
    tok.pad_token = tok.eos_token
    ensure_pad_token(tok)
    assert tok.pad_token == "<|endoftext|>" and tok.pad_token != tok.eos_token


def test_parse_dtype():
    assert parse_dtype("bf16") is torch.bfloat16 and parse_dtype(None) is torch.float32
    with pytest.raises(CrosstaskError, match="unknown dtype 'int3'"):
        parse_dtype("int3")


def test_adapter_folder_checks(tmp_path, tiny):
    with pytest.raises(CrosstaskError, match="no adapter_config.json"):
        attach_adapter(tiny.model, tmp_path)
    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CrosstaskError, match="no adapter_model.safetensors"):
        attach_adapter(tiny.model, tmp_path)
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    (tmp_path / "crosstask_train.json").write_text(json.dumps({"base_model": "other-model"}), encoding="utf-8")
    with pytest.raises(CrosstaskError, match="trained on base model 'other-model', not 'tiny-random'"):
        attach_adapter(tiny.model, tmp_path, base_name="tiny-random")


@pytest.mark.embedded
def test_embedded_model_loads_from_cached_safetensors(embedded):
    from pathlib import Path

    from crosstask.paths import cache_subdir

    path = Path(embedded.path)
    assert embedded.name == EMBEDDED_MODEL
    assert path.parent == cache_subdir("models") and (path / "model.safetensors").exists()
    tok = embedded.tokenizer
    assert tok.pad_token_id != tok.eos_token_id
    prompt = build_prompt(tok, [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Placeholder question?"}])
    assert prompt.endswith("<|im_start|>user\nPlaceholder question?<|im_end|>\n<|im_start|>assistant\n")
    assert "<|im_start|>system\nBe brief.<|im_end|>" in prompt
