"""Load the base model for training and wrap it for LoRA, QLoRA or full fine-tuning."""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

from crosstask.errors import CrosstaskError
from crosstask.models.loader import (
    LoadedModel,
    load_model,
    load_tokenizer,
    parse_dtype,
    resolve_dtype_name,
    resolve_model_path,
)
from crosstask.training.fast_dropout import use_fast_lora_dropout
from crosstask.training.train_config import TrainConfig


def _load_4bit(config: TrainConfig) -> LoadedModel:
    if not torch.cuda.is_available():
        raise CrosstaskError("method 'qlora' (4-bit base weights) needs a CUDA GPU; use method 'lora' on this machine")
    if importlib.util.find_spec("bitsandbytes") is None:
        raise CrosstaskError("method 'qlora' needs bitsandbytes: pip install bitsandbytes")
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    path = resolve_model_path(config.base_model)
    tok = load_tokenizer(config.base_model, trust_remote_code=config.trust_remote_code)
    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                               bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(path, quantization_config=quant, dtype=torch.bfloat16,
                                                 trust_remote_code=config.trust_remote_code, use_safetensors=True)
    model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=config.gradient_checkpointing)
    return LoadedModel(model=model, tokenizer=tok, name=config.base_model, path=path)


def prepare_model(config: TrainConfig) -> tuple[Any, Any]:
    """The trainable model and its tokenizer. Call after seeding: LoRA init draws from the torch RNG."""
    if config.method == "qlora":
        loaded = _load_4bit(config)
    else:
        # Full fine-tuning keeps fp32 master weights; LoRA may freeze the base in bf16.
        dtype = "float32" if config.method == "full" else config.base_dtype
        dtype = resolve_dtype_name(dtype)  # "auto": bf16 only where it is fast
        parse_dtype(dtype)
        loaded = load_model(config.base_model, dtype=dtype, trust_remote_code=config.trust_remote_code)
    model = loaded.model
    model.config.use_cache = False
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
    else:
        from peft import LoraConfig, get_peft_model

        available = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
        missing = [m for m in config.lora_target_modules if m not in available]
        if missing:
            raise CrosstaskError(
                f"lora_target_modules {missing} not found in {config.base_model}; its linear layers include "
                f"{', '.join(sorted(n for n in available if n.endswith('proj'))[:12])}"
            )
        lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                          target_modules=list(config.lora_target_modules), bias="none", task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
        use_fast_lora_dropout(model)  # same p, a cheaper mask on CPU (see fast_dropout.py)
        if config.gradient_checkpointing:
            model.enable_input_require_grads()
    model.train()
    return model, loaded.tokenizer


def count_parameters(model: Any) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
