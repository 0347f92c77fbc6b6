"""Where crosstask keeps its caches (``CROSSTASK_CACHE``, default: the user's cache dir), where
outputs go by default (``runs/``), and the readable names of output folders."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

RUNS_DIR = "runs"  # default output root, under the working directory (git-ignored)
SLUG_CHARS = 48


def slugify(*parts: Any, limit: int = SLUG_CHARS) -> str:
    """A short, file-safe name from readable parts (``"mixed", "N10"`` -> ``mixed-n10``)."""
    text = "-".join(str(p) for p in parts if p not in (None, ""))
    slug = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return slug[:limit].rstrip("-.")


def model_slug(name: str) -> str:
    """A model's short readable name: the last part of a hub id or folder (``meta-llama/Llama-2-7b-chat-hf``
    -> ``llama-2-7b-chat-hf``)."""
    return slugify(Path(name.rstrip("/")).name.removesuffix(".gguf"), limit=24)


def cache_dir() -> Path:
    env = os.environ.get("CROSSTASK_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / "crosstask"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_subdir(name: str) -> Path:
    p = cache_dir() / name
    p.mkdir(parents=True, exist_ok=True)
    return p
