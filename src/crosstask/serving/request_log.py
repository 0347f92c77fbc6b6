"""The request log: one JSON line per request, with hashes and verdicts, not text (unless asked).

A prompt or output is stored as its SHA-256, so a log shows which requests repeated and how
each was answered without keeping the documents users sent.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import Any

from crosstask.io import append_jsonl


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RequestLog:
    def __init__(self, path: str | Path | None, *, log_text: bool = False):
        self.path = Path(path) if path else None
        self.log_text = log_text
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, *, prompt: str, output: str, **fields: Any) -> None:
        if self.path is None:
            return
        rec: dict[str, Any] = {"time": round(time.time(), 3), "prompt_sha256": sha256(prompt),
                               "output_sha256": sha256(output), **fields}
        if self.log_text:
            rec.update(prompt=prompt, output=output)
        with self._lock:
            append_jsonl(self.path, rec)
