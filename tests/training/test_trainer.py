"""End-to-end training on the tiny model: outputs, seeds, exact resume, bad runs, merge."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

from crosstask.errors import CrosstaskError
from crosstask.training import TrainingDiverged, merge_adapter, preset, train


def _weights(folder):
    return load_file(str(folder / "adapter_model.safetensors"))


def _same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_outputs_and_metrics(mixed_ds, tmp_path):
    cfg = preset("tiny", num_epochs=2)
    res = train(cfg, mixed_ds, tmp_path / "out", progress=False)
    out = tmp_path / "out"
    assert res.steps == res.total_steps == 6
    for name in ("adapter_model.safetensors", "adapter_config.json", "crosstask_train.json", "metrics.jsonl",
                 "loss.png", "tokenizer_config.json"):
        assert (out / name).exists(), name
    meta = json.loads((out / "crosstask_train.json").read_text())
    assert meta["base_model"] == "tiny-random" and meta["finished"] and meta["loss"] == "mixed"
    assert len(meta["dataset"]["manifest_hash"]) == 16 and meta["config"]["num_epochs"] == 2
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in recs] == list(range(1, 7))
    first = recs[0]
    assert {"loss", "learning_rate", "tokens_per_s"} <= first.keys()
    assert any(k.startswith("loss/summarize/") for r in recs for k in r)
    with pytest.raises(CrosstaskError, match="--resume"):
        train(cfg, mixed_ds, out, progress=False)


def test_same_seed_same_adapter(mixed_ds, tmp_path):
    cfg = preset("tiny", lora_dropout=0.1)
    train(cfg, mixed_ds, tmp_path / "a", progress=False)
    train(cfg, mixed_ds, tmp_path / "b", progress=False)
    train(cfg.replace(seed=7), mixed_ds, tmp_path / "c", progress=False)
    assert _same(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    assert not _same(_weights(tmp_path / "a"), _weights(tmp_path / "c"))


def test_interrupt_then_resume_is_exact(mixed_ds, tmp_path):
    # Dropout on, several epochs, a checkpoint interval that does not divide the stop step.
    cfg = preset("tiny", lora_dropout=0.1, num_epochs=3, save_steps=4, batch_size=3)
    full = train(cfg, mixed_ds, tmp_path / "full", progress=False)

    def ctrl_c(step, record):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        train(cfg, mixed_ds, tmp_path / "cut", progress=False, on_step=ctrl_c)
    assert (tmp_path / "cut" / "checkpoints" / "step-000005" / "trainable.safetensors").exists()
    assert not (tmp_path / "cut" / "adapter_model.safetensors").exists()
    res = train(cfg, mixed_ds, tmp_path / "cut", resume=True, progress=False)
    assert res.resumed_from == 5 and res.steps == full.steps
    assert _same(_weights(tmp_path / "full"), _weights(tmp_path / "cut"))
    losses = [[json.loads(x)["loss"] for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]
              for d in ("full", "cut")]
    assert losses[0] == losses[1]
    with pytest.raises(CrosstaskError, match="config differs in: learning_rate"):
        train(cfg.replace(learning_rate=1.0), mixed_ds, tmp_path / "cut", resume=True, progress=False)


def test_divergence_stops_and_keeps_last_good_checkpoint(mixed_ds, tmp_path):
    cfg = preset("tiny", method="full", learning_rate=10.0, warmup_ratio=0.0, max_grad_norm=0.0, num_epochs=3,
                 batch_size=3)
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+ \(loss") as err:
        train(cfg, mixed_ds, tmp_path / "out", progress=False)
    step = int(str(err.value).split("checkpoint step ")[1].split()[0])
    assert step >= 1 and (tmp_path / "out" / "checkpoints" / f"step-{step:06d}" / "state.json").exists()
    assert not (tmp_path / "out" / "model.safetensors").exists()
    assert "\n" not in str(err.value)


def test_qlora_needs_cuda(mixed_ds, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(CrosstaskError, match="needs a CUDA GPU"):
        train(preset("tiny", method="qlora"), mixed_ds, tmp_path / "out", progress=False)


def test_full_finetune_and_merge(mixed_ds, tmp_path, tiny):
    from crosstask.models.loader import load_model

    res = train(preset("tiny", method="full", learning_rate=1e-3), mixed_ds, tmp_path / "full", progress=False)
    assert (res.out_dir / "model.safetensors").exists()
    train(preset("tiny", learning_rate=1e-2), mixed_ds, tmp_path / "lora", progress=False)
    merged = merge_adapter(tmp_path / "lora", tmp_path / "merged")
    assert (merged / "model.safetensors").exists() and (merged / "tokenizer_config.json").exists()
    ids = torch.tensor([[1, 5, 9, 12, 40]])
    with torch.no_grad():
        with_adapter = load_model("tiny-random", adapter=str(tmp_path / "lora")).model(ids).logits
        standalone = load_model(str(merged)).model(ids).logits
        base = tiny.model(ids).logits
    torch.testing.assert_close(standalone, with_adapter, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(standalone, base, atol=1e-4)
    with pytest.raises(CrosstaskError, match="not empty"):
        merge_adapter(tmp_path / "lora", tmp_path / "merged")


def test_recipe_steps_and_checkpoints_one_at_a_time(mixed_ds, tmp_path):
    from crosstask.training import TrainRecipe

    cfg = preset("tiny", lora_dropout=0.1, num_epochs=3, batch_size=3)
    full = train(cfg, mixed_ds, tmp_path / "full", progress=False)
    recipe = TrainRecipe(cfg, mixed_ds, tmp_path / "steps", progress=False)
    recipe.setup()
    records = [recipe.step() for _ in range(3)]
    assert [r["step"] for r in records] == [1, 2, 3] and recipe.step_count == 3
    recipe.checkpoint()
    assert (tmp_path / "steps" / "checkpoints" / "step-000003" / "state.json").exists()
    res = recipe.train()  # the loop continues from where the steps left off
    assert res.steps == full.steps and _same(_weights(tmp_path / "full"), _weights(tmp_path / "steps"))
    losses = [[json.loads(x)["loss"] for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()]
              for d in ("full", "steps")]
    assert [r["loss"] for r in records] == losses[0][:3] and losses[0] == losses[1]
