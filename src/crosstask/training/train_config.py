"""The training configuration (TRL style: a typed config per trainer) and its presets.

Three types, composed by type (see :mod:`crosstask.config_model`):

- :class:`TrainOptions`: what a user sets (an experiment's ``train:`` section);
- :class:`TrainConfig` (``TrainOptions`` + base model, prompt format, remote code, seed): what
  :func:`crosstask.training.train` takes; ``crosstask train`` has one option per field;
- :class:`TrainSection` (``TrainOptions`` + ``preset``): an experiment's ``train:`` section and the
  per-model ``train:`` overrides, dumped as given.

``paper`` reproduces the hyperparameters of Fu et al. (alpaca-lora: LoRA r=8 on q/v, lr 3e-4,
3 epochs, cutoff 1024, batch 128); ``cpu`` is tuned for the embedded SmolLM2-135M on a
2-core CPU (measured, see docs/TRAINING.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from crosstask.config_model import ConfigModel, pipeline_field
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name
from crosstask.models.prompt_formats import PromptFormatName
from crosstask.registry import Registry

NonNegative = Annotated[float, Field(ge=0)]
Method = Literal["lora", "full", "qlora"]
LossName = Literal["auto", "single", "mixed"]
TaskWeighting = Literal["balanced", "tokens"]
OnTooLong = Literal["error", "drop"]
MixedPrecision = Literal["auto", "no", "bf16", "fp16"]
# transformers schedulers that step without a metric or extra arguments.
Scheduler = Literal["linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
                    "inverse_sqrt"]


class TrainOptions(ConfigModel):
    """The training settings a user chooses (everything but the model and the seed)."""

    config_name = "training config"
    aliases = {"num_train_epochs": "num_epochs", "lr_scheduler_type": "lr_scheduler"}

    # --- method
    method: Method = Field("lora", description="Training method; qlora is 4-bit LoRA, CUDA only.")
    lora_r: int = Field(8, gt=0, description="LoRA rank.")
    lora_alpha: int = Field(16, gt=0, description="LoRA alpha (scale = alpha / r).")
    lora_dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA input (0 <= p < 1).")
    lora_target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1,
                                           description="Modules that get LoRA adapters (comma-separated on the CLI).")
    base_dtype: str = Field("float32", description=(
        "dtype of the frozen base weights under LoRA: bfloat16 halves memory and skips the per-step autocast "
        "copy (adapter weights stay fp32); auto: bfloat16 where bf16 matmuls are fast, else float32. Full "
        "fine-tuning always keeps fp32 master weights."))
    gradient_checkpointing: bool = Field(False, description="Recompute activations in the backward pass (less memory).")
    # --- optimisation
    learning_rate: float = Field(3e-4, gt=0, description="Peak learning rate (AdamW).")
    num_epochs: int = Field(3, gt=0, description="Passes over the dataset.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimizer steps (overrides epochs).")
    batch_size: int = Field(128, gt=0, description="Effective batch: examples per optimizer step, over all processes.")
    max_tokens_per_micro_batch: int = Field(4096, gt=0, description="Packing budget of one forward pass, in tokens.")
    warmup_ratio: float = Field(0.05, ge=0, le=1, description="Share of the steps spent warming the learning rate up.")
    warmup_steps: int | None = Field(None, ge=0, description="Warmup steps; overrides warmup_ratio (alpaca-lora used 100).")
    lr_scheduler: Scheduler = Field("linear", description="Learning-rate schedule (transformers).")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, ge=0, description="Clip the gradient norm to this (0: no clipping).")
    mixed_precision: MixedPrecision = Field("auto", description="Autocast; auto: bf16 where the hardware supports it.")
    # --- data and loss
    cutoff_len: int = Field(1024, gt=0, description="Longest example in tokens.")
    train_on_inputs: bool = Field(False, description="Learn the prompt too (the paper's code) or only the response.")
    on_too_long: OnTooLong = Field("error", description="What to do with an example longer than cutoff_len.")
    packing: bool = Field(True, description="Padding-free: several examples per sequence, attention kept inside each.")
    loss: LossName = Field("auto", description="Loss; auto: single for a one-task dataset, mixed otherwise.")
    task_weighting: TaskWeighting = Field("balanced", description=(
        "balanced: each task weighs the same; tokens: by its token count."))
    task_weights: dict[str, NonNegative] = Field(default_factory=dict,
                                           description="Multiplies the weight of the named tasks.")
    kind_weights: dict[str, NonNegative] = Field(default_factory=dict,
                                           description="Multiplies the weight of the named example kinds.")
    # --- run control
    save_steps: int = Field(50, gt=0, description="Checkpoint every this many steps.")
    save_total_limit: int = Field(2, ge=0, description="Keep this many checkpoints (0: all).")
    logging_steps: int = Field(1, ge=1, description="Write metrics.jsonl every this many steps.")
    report_to: Literal["none", "tensorboard", "wandb", "mlflow"] = Field("none", description=(
        "Also send the step metrics to an experiment tracker through accelerate (tensorboard writes under "
        "<out>/trackers; wandb and mlflow need their own package and login)."))
    divergence_factor: float = Field(10.0, gt=1, description=(
        "Stop when a step's loss exceeds this multiple of the first step's."))

    @field_validator("lora_target_modules", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        return [m.strip() for m in v.split(",") if m.strip()] if isinstance(v, str) else v

    @field_validator("base_dtype")
    @classmethod
    def _dtype(cls, v: str) -> str:
        return check_dtype_name(v)  # type: ignore[return-value]

    @field_validator("task_weights")
    @classmethod
    def _weighted_tasks(cls, v: dict[str, float]) -> dict[str, float]:
        from crosstask.tasks.registry import TASKS

        return TASKS.check_all(v)

    @field_validator("kind_weights")
    @classmethod
    def _weighted_kinds(cls, v: dict[str, float]) -> dict[str, float]:
        from crosstask.data.defense.schema import KINDS

        for name in v:
            if name not in KINDS:
                raise ValueError(f"unknown example kind {name!r}; kinds: {', '.join(KINDS)}")
        return v


class TrainConfig(TrainOptions):
    """Everything that decides a training run; saved to ``crosstask_train.json``."""

    base_model: str = pipeline_field(EMBEDDED_MODEL, help="Model name, folder or hub id.", set_by="model.name")
    prompt_format: PromptFormatName = pipeline_field(DEFAULT_PROMPT_FORMAT, set_by="model.prompt_format", help=(
        "Prompt format: chat (the tokenizer's template), alpaca or llama2."))
    trust_remote_code: bool = pipeline_field(False, set_by="model.trust_remote_code", help=(
        "Let transformers run the model repository's own code."))
    seed: int = pipeline_field(42, ge=0, help="Seed of LoRA initialisation, dropout and data order.", set_by="seed")

    @model_validator(mode="after")
    def _fits_micro_batch(self) -> TrainConfig:
        if self.max_tokens_per_micro_batch < self.cutoff_len:
            raise ValueError(
                f"max_tokens_per_micro_batch ({self.max_tokens_per_micro_batch}) must be at least cutoff_len "
                f"({self.cutoff_len}) so that every example fits in one forward pass")
        return self

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.parse({**self.to_dict(), **changes})


_PRESETS: dict[str, dict[str, Any]] = {
    # Fu et al. 2024 (alpaca-lora hyperparameters).
    "paper": dict(
        lora_r=8, lora_alpha=16, lora_dropout=0.05, lora_target_modules=["q_proj", "v_proj"], learning_rate=3e-4,
        num_epochs=3, cutoff_len=1024, batch_size=128, max_tokens_per_micro_batch=4096,
    ),
    # The embedded SmolLM2-135M on a 2-core CPU: a wider adapter and a higher learning rate so a
    # few dozen steps on a small mixed dataset are enough (see docs/TRAINING.md for the measurements).
    "cpu": dict(
        base_model=EMBEDDED_MODEL, lora_r=16, lora_alpha=32, lora_dropout=0.05,
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


class TrainSection(TrainOptions):
    """An experiment's ``train:`` section (and a model's ``train:`` override): training options,
    optionally on top of a preset. The experiment fills the model and the seed."""

    preset: str | None = Field(None, description="Start from a preset: paper, cpu or tiny.")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str | None) -> str | None:
        if v is not None and v not in PRESETS:
            raise ValueError(f"unknown preset {v!r}; known presets: {', '.join(PRESETS.names(sort=True))}")
        return v

    def to_config(self, *, where: str = "config", prefix: str = "train", **filled: Any) -> TrainConfig:
        """The full config: the preset, then the options given here, then the fields the experiment fills."""
        return train_config_from({**self.given(), **filled}, where=where, prefix=prefix)


def train_config_from(values: Mapping[str, Any], *, where: str = "config", prefix: str = "") -> TrainConfig:
    """A TrainConfig from a mapping of its keys and an optional ``preset`` (applied first)."""
    values = dict(values)
    name = values.pop("preset", None)
    base = dict(PRESETS.get(name)) if name is not None else {}
    return TrainConfig.parse({**base, **values}, where=where, prefix=prefix)


def preset(name: str, **overrides: Any) -> TrainConfig:
    return train_config_from({"preset": name, **overrides}, where=f"preset {name}")


def load_train_config(
    path: str | Path | None = None, *, preset_name: str | None = None, assignments: list[str] | None = None,
    **overrides: Any,
) -> TrainConfig:
    """A config from a preset, then a YAML file (its keys may sit under ``train:``; a ``preset:`` there
    wins), then ``key.path=value`` assignments (``--set``), then overrides (None: not given)."""
    from crosstask.io import apply_assignments, read_yaml_section

    d: dict[str, Any] = {"preset": preset_name} if preset_name else {}
    if path is not None:
        d.update(read_yaml_section(path, "train"))
    d = apply_assignments(d, assignments or [])
    d.update({k: v for k, v in overrides.items() if v is not None})
    return train_config_from(d, where=str(path) if path else "config")


__all__ = ["PRESETS", "TrainConfig", "TrainOptions", "TrainSection", "load_train_config", "preset",
           "train_config_from"]
