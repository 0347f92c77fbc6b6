"""Merge a trained LoRA adapter into its base model: a standalone safetensors model folder."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from crosstask.config_model import ConfigModel
from crosstask.errors import CrosstaskError
from crosstask.io import check_writable, read_json, write_json


class MergeConfig(ConfigModel):
    """How an adapter is merged into its base model (``crosstask merge``)."""

    config_name = "merge config"

    base_model: str | None = Field(None, description=(
        "Override the base model (default: the one named in the adapter's crosstask_train.json)."))
    dtype: Literal["float32", "bfloat16", "float16"] = Field("float32", description="dtype of the merged weights.")


def merge_adapter(adapter_dir: str | Path, out_dir: str | Path, config: MergeConfig | None = None,
                  **options: Any) -> Path:
    """Load base + adapter, fold the LoRA update into the weights and save model and tokenizer.

    ``config`` or its fields as keywords (``dtype="bfloat16"``, ``base_model=...``)."""
    from crosstask.models.loader import load_model

    cfg = config or MergeConfig(**options)
    dtype = cfg.dtype
    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    meta_file = adapter_dir / "crosstask_train.json"
    meta = read_json(meta_file) if meta_file.exists() else {}
    base = cfg.base_model or meta.get("base_model")
    if not base:
        raise CrosstaskError(f"{adapter_dir}: no crosstask_train.json naming the base model; pass --base-model")
    check_writable(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CrosstaskError(f"{out_dir}: exists and is not empty; choose a new folder")
    loaded = load_model(base, dtype=dtype, adapter=str(adapter_dir))
    merged = loaded.model  # load_model merges the adapter into the weights
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(str(tmp), safe_serialization=True)
    loaded.tokenizer.save_pretrained(str(tmp))
    write_json(tmp / "crosstask_merge.json", {"base_model": base, "adapter": str(adapter_dir.resolve()),
                                              "train": meta.get("config"), "dtype": dtype})
    if out_dir.exists():
        out_dir.rmdir()
    tmp.rename(out_dir)
    return out_dir
