"""Attach a trained LoRA adapter to a base model, checking they belong together.

Safetensors only, for real: a folder holding pickle files (``.bin``, ``.pt``, ``.pth``, ``.pkl``,
``.ckpt``) is refused unless pickle is allowed (``allow_pickle=True`` or ``CROSSTASK_ALLOW_PICKLE=1``),
and the weights are read from ``adapter_model.safetensors`` with :func:`safetensors.torch.load_file`
and put in place with peft's ``set_peft_model_state_dict``: no code path here can reach
``torch.load``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from crosstask.errors import CrosstaskError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
ADAPTER_WEIGHTS = "adapter_model.safetensors"
ALLOW_PICKLE_ENV = "CROSSTASK_ALLOW_PICKLE"


def pickle_allowed(allow_pickle: bool | None = None) -> bool:
    """``allow_pickle`` if given, else the ``CROSSTASK_ALLOW_PICKLE`` environment variable (1/true/yes)."""
    if allow_pickle is not None:
        return allow_pickle
    return os.environ.get(ALLOW_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes")


def refuse_pickle(folder: str | Path, what: str, allow_pickle: bool | None = None) -> None:
    """A one-line error if ``folder`` holds pickle files (anywhere below it) and pickle is not allowed."""
    if pickle_allowed(allow_pickle):
        return
    folder = Path(folder)
    found = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)
    if found:
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        raise CrosstaskError(
            f"{folder}: {what} folder holds pickle files ({', '.join(found[:3])}{more}), which can run code when "
            f"loaded; remove them (safetensors weights are used), or set {ALLOW_PICKLE_ENV}=1 if you trust them"
        )


def attach_adapter(model: Any, adapter_dir: str | Path, *, base_name: str | None = None,
                   allow_pickle: bool | None = None) -> Any:
    adapter_dir = Path(adapter_dir)
    cfg_file = adapter_dir / "adapter_config.json"
    if not cfg_file.exists():
        raise CrosstaskError(f"{adapter_dir}: no adapter_config.json; not a LoRA adapter folder")
    refuse_pickle(adapter_dir, "adapter", allow_pickle)
    weights = adapter_dir / ADAPTER_WEIGHTS
    meta_file = adapter_dir / "crosstask_train.json"
    if base_name is not None and meta_file.exists():
        trained_on = json.loads(meta_file.read_text()).get("base_model")
        if trained_on and trained_on != base_name:
            raise CrosstaskError(
                f"{adapter_dir}: adapter was trained on base model {trained_on!r}, not {base_name!r}"
            )
    if not weights.is_file():
        if not pickle_allowed(allow_pickle):
            raise CrosstaskError(f"{adapter_dir}: no {ADAPTER_WEIGHTS} (only safetensors weights are loaded)")
        from peft import PeftModel  # allowed pickle: peft's own loader (which may use torch.load)

        try:
            return PeftModel.from_pretrained(model, str(adapter_dir), is_trainable=False)
        except (RuntimeError, ValueError, OSError) as e:
            raise CrosstaskError(f"{adapter_dir}: could not load the adapter: {str(e).splitlines()[0]}") from None
    return _attach_safetensors(model, adapter_dir, weights)


def _attach_safetensors(model: Any, adapter_dir: Path, weights: Path) -> Any:
    from peft import LoraConfig, PeftModelForCausalLM, set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        raw = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CrosstaskError(f"{adapter_dir / 'adapter_config.json'}: malformed JSON ({e})") from None
    if not isinstance(raw, dict) or raw.get("peft_type", "LORA") != "LORA":
        raise CrosstaskError(f"{adapter_dir}: not a LoRA adapter (peft_type {raw.get('peft_type')!r})")
    try:
        config = LoraConfig.from_pretrained(str(adapter_dir))
        config.inference_mode = True
        peft_model = PeftModelForCausalLM(model, config)
        state = load_file(str(weights))
        result = set_peft_model_state_dict(peft_model, state)
    except (RuntimeError, ValueError, TypeError, SafetensorError) as e:
        raise CrosstaskError(f"{adapter_dir}: adapter does not fit the base model: {str(e).splitlines()[0]}") from None
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing or result.unexpected_keys:
        what = f"missing {missing[0]}" if missing else f"unexpected {result.unexpected_keys[0]}"
        raise CrosstaskError(f"{adapter_dir}: adapter does not fit the base model ({what})")
    peft_model.eval()
    return peft_model
