"""Where crosstask keeps its caches (``CROSSTASK_CACHE``, default: the user's cache dir), where
outputs go by default (``runs/``), and the readable names of output folders."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

RUNS_DIR = "runs"  # default output root, under the working directory (git-ignored)
SLUG_CHARS = 48


DATA_VAR = "CROSSTASK_DATA"  # the data folder the paper configs read (see configs/paper-*.yaml)
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_path_vars(value: str) -> str:
    """``${VAR}`` and ``${VAR:-default}`` in a path written in a config, from the environment. A variable
    that starts the path and holds a relative path is taken from the working directory (where the user
    set it); a default stays as written (relative to the config file, like any path there)."""

    def value_of(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        given = os.environ.get(name)
        if given:
            return str(Path(given).expanduser().resolve()) if m.start() == 0 else given
        if default is not None:
            return default
        raise ValueError(f"${{{name}}} is not set; set it, or give this path with --set")

    return _VAR.sub(value_of, value)


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
