"""Where a report's numbers come from: code, config, data, judge and machine (``results.json``'s
``provenance``, shown at the top of the report).

Every lookup that can fail (no git checkout, no GPU, a missing file) gives ``None`` instead:
provenance never stops a run from writing its report.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from crosstask.io import stable_hash
from crosstask.version import __version__

# Where a run's outputs go changes no number, so the config hash leaves these keys out.
_UNHASHED_KEYS = ("output_dir", "stages_dir")


def config_hash(config_dump: dict[str, Any]) -> str:
    """The hash of an experiment config (as in ``config.yaml``), without where its outputs go."""
    return stable_hash({k: v for k, v in config_dump.items() if k not in _UNHASHED_KEYS})


def file_sha256(path: str | Path, length: int = 16) -> str | None:
    """The first ``length`` hex digits of a file's SHA-256 (None when it cannot be read)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()[:length]


def _git(root: Path, *args: str) -> str | None:
    try:
        p = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def git_commit() -> str | None:
    """The commit of the crosstask source this process runs, with ``+dirty`` when tracked files
    changed; None unless crosstask runs from a git checkout (not an installed wheel)."""
    marker = Path(__file__).resolve().parents[1] / "version.py"  # a file of the package since its start
    top = _git(marker.parent, "rev-parse", "--show-toplevel")
    # The checkout must hold crosstask's own files (not, say, a venv inside some other repository).
    if not top or _git(Path(top), "ls-files", "--error-unmatch", str(marker)) is None:
        return None
    commit = _git(Path(top), "rev-parse", "HEAD")
    if not commit:
        return None
    dirty = _git(Path(top), "status", "--porcelain", "--untracked-files=no")
    return commit + ("+dirty" if dirty else "")


def _version_of(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu() -> str:
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name} ({os.cpu_count()} logical cores)"


def _gpus() -> list[str]:
    """The accelerators visible to this process ([] on a CPU-only machine)."""
    try:
        import torch
    except ImportError:
        return []
    try:
        if torch.cuda.is_available():
            return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return ["Apple MPS"]
    except Exception:  # a broken driver must not stop the report
        return []
    return []


def machine() -> dict[str, Any]:
    """The machine that wrote the report (stages found cached may have run elsewhere)."""
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": _cpu(),
        "gpu": _gpus(),
        "torch": _version_of("torch"),
        "transformers": _version_of("transformers"),
        "peft": _version_of("peft"),
    }


def provenance(config_dump: dict[str, Any], *, seed: int, judges: list[str],
               datasets: list[dict[str, Any]]) -> dict[str, Any]:
    """``results.json``'s ``provenance``: crosstask version and commit, config hash, seed, judge(s),
    dataset files with their hashes, date (UTC) and machine."""
    return {
        "crosstask_version": __version__,
        "git_commit": git_commit(),
        "config_hash": config_hash(config_dump),
        "seed": seed,
        "judges": judges,
        "datasets": datasets,
        "date": _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat(),
        "machine": machine(),
    }
