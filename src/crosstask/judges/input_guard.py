"""The input guard: a logistic regression on MiniLM embeddings that scores a request's document for harm.

Trained by crosstask on a defense dataset (``train.jsonl``): the user messages of malicious
examples (1) against those of benign and sensitive-benign ones (0), with the seeded, class-balanced
fit of ``refusal-clf`` (:mod:`crosstask.judges.classifier`). Saved as ``guard.safetensors``
(weight, bias) and ``guard.json`` (threshold, encoder, what it was trained on); never pickle.
Used by ``crosstask serve --input-guard`` and the ``input-guard`` evaluation recipe: a document
scored at or above the threshold gets a task-aware refusal instead of generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from crosstask.config_model import ConfigModel
from crosstask.errors import CrosstaskError

VERSION = 1
WEIGHTS, META = "guard.safetensors", "guard.json"
POSITIVE = ("malicious",)
NEGATIVE = ("benign", "sensitive-benign")


class GuardTrainConfig(ConfigModel):
    """How ``crosstask guard train`` fits the input guard."""

    config_name = "guard training config"

    threshold: float = Field(0.5, gt=0, lt=1, description="Score at or above which a document is refused.")
    seed: int = Field(0, ge=0, description="Seed of the fit.")


@dataclass
class InputGuard:
    weight: Any  # torch tensor (features,)
    bias: Any  # torch tensor ()
    threshold: float
    meta: dict[str, Any]

    def scores(self, texts: Sequence[str]) -> list[float]:
        import torch

        from crosstask.judges.encoder import embed

        if not texts:
            return []
        x = embed([t if t.strip() else "(empty)" for t in texts])
        return [float(v) for v in torch.sigmoid(x @ self.weight + self.bias)]

    def save(self, folder: str | Path) -> Path:
        from safetensors.torch import save_file

        from crosstask.io import write_json

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"weight": self.weight.contiguous(), "bias": self.bias.reshape(()).contiguous()},
                  str(folder / WEIGHTS))
        write_json(folder / META, {**self.meta, "threshold": self.threshold, "version": VERSION})
        return folder

    @classmethod
    def load(cls, folder: str | Path, threshold: float | None = None) -> InputGuard:
        from safetensors.torch import load_file

        from crosstask.io import read_json

        folder = Path(folder)
        if not (folder / WEIGHTS).is_file() or not (folder / META).is_file():
            raise CrosstaskError(f"{folder}: not an input guard folder ({WEIGHTS} and {META}; "
                                 "make one with crosstask guard train)")
        meta = read_json(folder / META)
        t = load_file(str(folder / WEIGHTS))
        return cls(t["weight"], t["bias"], float(threshold if threshold is not None else meta["threshold"]), meta)


def guard_examples(dataset: str | Path) -> tuple[list[str], list[int]]:
    """The user messages of a defense dataset's malicious (1) and benign / sensitive-benign (0) examples."""
    from crosstask.io import read_jsonl

    path = Path(dataset) / "train.jsonl"
    if not path.is_file():
        raise CrosstaskError(f"{dataset}: no train.jsonl (a defense dataset folder: crosstask data build)")
    texts, labels, seen = [], [], set()
    for rec in read_jsonl(path):
        kind = rec.get("kind")
        if kind not in POSITIVE + NEGATIVE:
            continue
        user = next((m["content"] for m in rec.get("messages", []) if m.get("role") == "user"), None)
        if user is None or user in seen:
            continue
        seen.add(user)
        texts.append(user)
        labels.append(int(kind in POSITIVE))
    if len(set(labels)) < 2:
        raise CrosstaskError(f"{path}: the input guard needs both malicious and benign examples")
    return texts, labels


def train_input_guard(dataset: str | Path, out: str | Path | None = None,
                      config: GuardTrainConfig | dict[str, Any] | None = None) -> InputGuard:
    """Fit the guard on ``dataset`` (a defense dataset folder); saved to ``out`` when given."""
    import torch

    from crosstask.io import content_hash
    from crosstask.judges.classifier import _fit
    from crosstask.judges.encoder import PACKAGE, embed

    cfg = GuardTrainConfig.parse(config or {})
    texts, labels = guard_examples(dataset)
    # clone: the encoder returns inference-mode tensors, which autograd refuses
    head = _fit(embed(texts).clone(), torch.tensor(labels, dtype=torch.float32), seed=cfg.seed)
    meta = {"encoder": PACKAGE, "trained_on": str(dataset), "train_sha256": content_hash(Path(dataset) / "train.jsonl", length=64),
            "n": len(labels), "malicious": sum(labels), "seed": cfg.seed}
    guard = InputGuard(head.weight, head.bias, cfg.threshold, meta)
    if out is not None:
        guard.save(out)
    return guard
