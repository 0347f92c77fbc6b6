"""Safetensors only, for real: pickle files in an adapter or model folder are refused unless
allowed, and adapters load through a path that cannot reach ``torch.load``."""

from __future__ import annotations

import shutil

import pytest
import torch

from crosstask.errors import CrosstaskError
from crosstask.models.adapters import attach_adapter, refuse_pickle
from crosstask.models.loader import load_model, resolve_model_path


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory):
    """A real LoRA adapter trained for one step on the tiny model."""
    import json

    from crosstask.training import preset, train

    root = tmp_path_factory.mktemp("adapter")
    ds = root / "ds"
    ds.mkdir()
    rec = {"id": "e1", "task": "summarize", "kind": "benign", "doc_id": "d1", "source": "placeholder",
           "messages": [{"role": "user", "content": "Placeholder article about a fair.\nSummarize it."}],
           "response": "A placeholder summary."}
    (ds / "train.jsonl").write_text(json.dumps(rec) + "\n", encoding="utf-8")
    train(preset("tiny", max_steps=1, batch_size=1), ds, root / "adapter", progress=False)
    return root / "adapter"


def _no_torch_load(*args, **kwargs):
    raise AssertionError("torch.load was called")


def test_adapter_loads_without_torch_load(adapter_dir, monkeypatch):
    monkeypatch.setattr(torch, "load", _no_torch_load)
    loaded = load_model("tiny-random", adapter=str(adapter_dir), merge_adapter=False)
    lora = [n for n, _ in loaded.model.named_parameters() if "lora_B" in n]
    assert lora  # the adapter is attached, with its trained weights
    from safetensors.torch import load_file

    saved = load_file(str(adapter_dir / "adapter_model.safetensors"))
    name = next(k for k in saved if "lora_B" in k)
    params = dict(loaded.model.named_parameters())
    got = next(p for n, p in params.items() if n.replace(".default", "") == name)
    assert torch.equal(got.detach(), saved[name])


def test_adapter_folder_with_a_pickle_is_refused(adapter_dir, tmp_path, tiny):
    folder = tmp_path / "adapter"
    shutil.copytree(adapter_dir, folder)
    (folder / "adapter_model.bin").write_bytes(b"placeholder, not a real pickle")
    with pytest.raises(CrosstaskError, match=r"adapter folder holds pickle files \(adapter_model.bin\)"):
        attach_adapter(tiny.model, folder)
    with pytest.raises(CrosstaskError, match="pickle"):
        load_model("tiny-random", adapter=str(folder))
    # allowed: the folder passes, and the safetensors weights are still the ones loaded
    loaded = load_model("tiny-random", adapter=str(folder), allow_pickle=True)
    assert loaded.model is not None


def test_pickle_only_adapter_needs_allow_pickle(adapter_dir, tmp_path, tiny, monkeypatch):
    folder = tmp_path / "adapter"
    shutil.copytree(adapter_dir, folder)
    (folder / "adapter_model.safetensors").unlink()
    (folder / "other.safetensors").write_bytes(b"")  # an unrelated safetensors file does not count
    with pytest.raises(CrosstaskError, match="no adapter_model.safetensors"):
        attach_adapter(tiny.model, folder)


@pytest.mark.parametrize("name", ["pytorch_model.bin", "model.pt", "weights.pth", "state.pkl", "last.ckpt",
                                  "sub/optimizer.pt"])
def test_model_folder_with_pickle_weights_is_refused(tmp_path, name, monkeypatch):
    folder = tmp_path / "model"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}", encoding="utf-8")
    (folder / name).write_bytes(b"placeholder")
    with pytest.raises(CrosstaskError, match=f"model folder holds pickle files \\({name}\\)"):
        resolve_model_path(str(folder))
    monkeypatch.setenv("CROSSTASK_ALLOW_PICKLE", "1")
    assert resolve_model_path(str(folder)) == str(folder)


def test_refuse_pickle_names_a_few_files(tmp_path):
    for i in range(5):
        (tmp_path / f"shard-{i}.bin").write_bytes(b"")
    with pytest.raises(CrosstaskError, match=r"shard-0.bin, shard-1.bin, shard-2.bin and 2 more"):
        refuse_pickle(tmp_path, "model")


def test_same_weights_as_peft_own_loader(adapter_dir):
    from peft import PeftModel

    ours = load_model("tiny-random", adapter=str(adapter_dir)).model
    base = load_model("tiny-random").model
    theirs = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    a, b = ours.state_dict(), theirs.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
