"""The training configuration (TRL style dataclass) and its presets.

``paper`` reproduces the hyperparameters of Fu et al. (alpaca-lora: LoRA r=8 on q/v, lr 3e-4,
3 epochs, cutoff 1024, batch 128); ``cpu`` is tuned for the embedded SmolLM2-135M on a
2-core CPU (measured, see docs/TRAINING.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from crosstask.errors import CrosstaskError
from crosstask.fields import config_field
from crosstask.registry import Registry

Method = Literal["lora", "full", "qlora"]
LossName = Literal["auto", "single", "mixed"]
TaskWeighting = Literal["balanced", "tokens"]
OnTooLong = Literal["error", "drop"]
MixedPrecision = Literal["auto", "no", "bf16", "fp16"]


@dataclass
class TrainConfig:
    """Everything that decides a training run; saved to ``crosstask_train.json``."""

    base_model: str = config_field("smollm2-135m-instruct", help="Model name, folder or hub id.")
    prompt_format: str = config_field("chat", help="Prompt format: chat (the tokenizer's template), alpaca or llama2.")
    trust_remote_code: bool = config_field(False, help="Let transformers run the model repository's own code.")
    # --- method
    method: Method = config_field("lora", help="Training method; qlora is 4-bit LoRA, CUDA only.")
    lora_r: int = config_field(8, help="LoRA rank.")
    lora_alpha: int = config_field(16, help="LoRA alpha (scale = alpha / r).")
    lora_dropout: float = config_field(0.05, help="Dropout on the LoRA input.")
    lora_target_modules: list[str] = config_field(factory=lambda: ["q_proj", "v_proj"],
                                            help="Modules that get LoRA adapters (comma-separated on the CLI).")
    base_dtype: str = config_field("float32", help=(
        "dtype of the frozen base weights under LoRA: bfloat16 halves memory and skips the per-step autocast "
        "copy (adapter weights stay fp32); auto: bfloat16 where bf16 matmuls are fast, else float32. Full "
        "fine-tuning always keeps fp32 master weights."))
    gradient_checkpointing: bool = config_field(False, help="Recompute activations in the backward pass (less memory).")
    # --- optimisation
    learning_rate: float = config_field(3e-4, help="Peak learning rate (AdamW).")
    num_epochs: int = config_field(3, help="Passes over the dataset.")
    max_steps: int | None = config_field(None, help="Stop after this many optimizer steps (overrides epochs).")
    batch_size: int = config_field(128, help="Effective batch: examples per optimizer step, over all processes.")
    max_tokens_per_micro_batch: int = config_field(4096, help="Packing budget of one forward pass, in tokens.")
    warmup_ratio: float = config_field(0.05, help="Share of the steps spent warming the learning rate up.")
    warmup_steps: int | None = config_field(None, help="Warmup steps; overrides warmup_ratio (alpaca-lora used 100).")
    lr_scheduler: str = config_field("linear", help="transformers scheduler name (linear, cosine, constant, ...).")
    weight_decay: float = config_field(0.0, help="AdamW weight decay.")
    max_grad_norm: float = config_field(1.0, help="Clip the gradient norm to this (0: no clipping).")
    mixed_precision: MixedPrecision = config_field("auto", help=(
        "Autocast; auto: bf16 where the hardware supports it."))
    seed: int = config_field(42, help="Seed of LoRA initialisation, dropout and data order.")
    # --- data and loss
    cutoff_len: int = config_field(1024, help="Longest example in tokens.")
    train_on_inputs: bool = config_field(False, help=(
        "Learn the prompt too (the paper's code) or only the response."))
    on_too_long: OnTooLong = config_field("error", help="What to do with an example longer than cutoff_len.")
    packing: bool = config_field(True, help="Padding-free: several examples per sequence, attention kept inside each.")
    loss: LossName = config_field("auto", help="Loss; auto: single for a one-task dataset, mixed otherwise.")
    task_weighting: TaskWeighting = config_field("balanced", help="balanced: each task weighs the same; tokens: by its token count.")
    task_weights: dict[str, float] = config_field(factory=dict, help="Multiplies the weight of the named tasks.")
    kind_weights: dict[str, float] = config_field(factory=dict, help="Multiplies the weight of the named example kinds.")
    # --- run control
    save_steps: int = config_field(50, help="Checkpoint every this many steps.")
    save_total_limit: int = config_field(2, help="Keep this many checkpoints.")
    logging_steps: int = config_field(1, help="Write metrics.jsonl every this many steps.")
    divergence_factor: float = config_field(10.0, help="Stop when a step's loss exceeds this multiple of the first step's.")

    def __post_init__(self) -> None:
        if self.method not in ("lora", "full", "qlora"):
            raise CrosstaskError(f"method must be lora, full or qlora, got {self.method!r}")
        if self.loss not in ("auto", "single", "mixed"):
            raise CrosstaskError(f"loss must be auto, single or mixed, got {self.loss!r}")
        if self.task_weighting not in ("balanced", "tokens"):
            raise CrosstaskError(f"task_weighting must be balanced or tokens, got {self.task_weighting!r}")
        if self.on_too_long not in ("error", "drop"):
            raise CrosstaskError(f"on_too_long must be error or drop, got {self.on_too_long!r}")
        if self.mixed_precision not in ("auto", "no", "bf16", "fp16"):
            raise CrosstaskError(f"mixed_precision must be auto, no, bf16 or fp16, got {self.mixed_precision!r}")
        for name in ("batch_size", "num_epochs", "cutoff_len", "max_tokens_per_micro_batch", "save_steps", "lora_r"):
            if getattr(self, name) <= 0:
                raise CrosstaskError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_tokens_per_micro_batch < self.cutoff_len:
            raise CrosstaskError(
                f"max_tokens_per_micro_batch ({self.max_tokens_per_micro_batch}) must be at least cutoff_len "
                f"({self.cutoff_len}) so that every example fits in one forward pass"
            )
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [m.strip() for m in self.lora_target_modules.split(",") if m.strip()]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "config") -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CrosstaskError(f"{source}: unknown training option(s): {', '.join(unknown)}")
        try:
            return cls(**d)
        except TypeError as e:
            raise CrosstaskError(f"{source}: {e}") from None

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})


_PRESETS: dict[str, dict[str, Any]] = {
    # Fu et al. 2024 (alpaca-lora hyperparameters).
    "paper": dict(
        lora_r=8, lora_alpha=16, lora_dropout=0.05, lora_target_modules=["q_proj", "v_proj"], learning_rate=3e-4,
        num_epochs=3, cutoff_len=1024, batch_size=128, max_tokens_per_micro_batch=4096,
    ),
    # The embedded SmolLM2-135M on a 2-core CPU: a wider adapter and a higher learning rate so a
    # few dozen steps on a small mixed dataset are enough (see docs/TRAINING.md for the measurements).
    "cpu": dict(
        base_model="smollm2-135m-instruct", lora_r=16, lora_alpha=32, lora_dropout=0.05,
        lora_target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        learning_rate=1e-3, num_epochs=3, cutoff_len=512, batch_size=8, max_tokens_per_micro_batch=1024,
        base_dtype="auto", save_steps=20,
    ),
    # Tests and smoke runs on the tiny random model.
    "tiny": dict(
        base_model="tiny-random", lora_r=4, lora_alpha=8, lora_dropout=0.0, learning_rate=1e-3, num_epochs=1,
        cutoff_len=256, batch_size=4, max_tokens_per_micro_batch=512, save_steps=2, mixed_precision="no",
    ),
}


# Training presets by name: partial TrainConfig values.
PRESETS: Registry[dict[str, Any]] = Registry("training preset")
for _name, _values in _PRESETS.items():
    PRESETS.register(_name, _values)


def preset(name: str, **overrides: Any) -> TrainConfig:
    base = PRESETS.get(name)
    return TrainConfig.from_dict({**base, **overrides}, source=f"preset {name}")


def load_train_config(
    path: str | Path | None = None, *, preset_name: str | None = None, assignments: list[str] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """A config from a preset, then a YAML file (its keys may sit under ``train:``), then
    ``key.path=value`` assignments (``--set``), then overrides (None: not given)."""
    from crosstask.io import apply_assignments, read_yaml_section

    d: dict[str, Any] = preset(preset_name).to_dict() if preset_name else {}
    if path is not None:
        loaded = read_yaml_section(path, "train")
        d.update(loaded)
    d = apply_assignments(d, assignments or [])
    d.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_dict(d, source=str(path) if path else "config")
