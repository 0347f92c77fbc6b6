"""TrainOptions / TrainConfig / TrainSection: composed by type, presets, YAML values, one-line errors."""

from __future__ import annotations

import pytest

from crosstask.errors import CrosstaskError
from crosstask.training import PRESETS, TrainConfig, TrainOptions, TrainSection, load_train_config, preset


def test_yaml_1e_3_is_a_learning_rate(tmp_path):
    (tmp_path / "t.yaml").write_text("train:\n  learning_rate: 1e-3\n  warmup_ratio: 5e-2\n")
    cfg = load_train_config(tmp_path / "t.yaml")
    assert cfg.learning_rate == 0.001 and cfg.warmup_ratio == 0.05
    assert TrainConfig(learning_rate="3e-4").learning_rate == 3e-4


def test_the_config_is_the_options_plus_what_the_experiment_fills():
    filled = set(TrainConfig.model_fields) - set(TrainOptions.model_fields)
    assert filled == {"base_model", "prompt_format", "trust_remote_code", "seed"}
    assert TrainSection.pipeline_keys() == {"base_model": "model.name", "prompt_format": "model.prompt_format",
                                            "trust_remote_code": "model.trust_remote_code", "seed": "seed"}
    with pytest.raises(CrosstaskError, match=r"^x: train\.seed: set by the experiment; use seed instead$"):
        TrainSection.parse({"seed": 3}, where="x", prefix="train")


def test_sections_apply_their_preset_then_their_options_then_the_filled_fields():
    section = TrainSection.parse({"preset": "cpu", "num_epochs": 2})
    cfg = section.to_config(base_model="tiny-random", seed=5)
    assert (cfg.base_model, cfg.seed, cfg.num_epochs, cfg.lora_r) == ("tiny-random", 5, 2, PRESETS.get("cpu")["lora_r"])
    assert cfg == preset("cpu", num_epochs=2, base_model="tiny-random", seed=5)
    with pytest.raises(CrosstaskError, match="train.preset: unknown preset 'gpu9'; known presets: cpu, paper, tiny"):
        TrainSection.parse({"preset": "gpu9"}, prefix="train")


def test_bad_values_are_one_line_errors():
    with pytest.raises(CrosstaskError, match=r"^TrainConfig: method: Input should be 'lora', 'full' or 'qlora'$"):
        TrainConfig(method="adapter")
    with pytest.raises(CrosstaskError, match="batch_size: Input should be greater than 0"):
        preset("tiny", batch_size=0)
    with pytest.raises(CrosstaskError, match=r"must be at least cutoff_len \(2048\)"):
        preset("cpu", cutoff_len=2048)
    with pytest.raises(CrosstaskError, match="lora_rank: unknown training config key"):
        TrainConfig.parse({"lora_rank": 8})
    assert TrainConfig(lora_target_modules="q_proj, k_proj").lora_target_modules == ["q_proj", "k_proj"]


def test_every_preset_is_a_valid_config():
    for name in PRESETS:
        assert isinstance(preset(name), TrainConfig)


def test_every_allowed_scheduler_steps_without_extra_arguments():
    import typing

    import torch
    from transformers import get_scheduler

    from crosstask.training.train_config import Scheduler

    for name in typing.get_args(Scheduler):
        opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
        sched = get_scheduler(name, opt, num_warmup_steps=1, num_training_steps=4)
        for _ in range(4):
            opt.step()
            sched.step()
