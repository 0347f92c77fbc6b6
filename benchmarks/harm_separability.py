"""How well does a model's own representation separate harmful text from harmless text on the same subjects?

    python benchmarks/harm_separability.py --beavertails ../shared/data/beavertails-long-1000.json \
        [--documents runs/stages/documents/<sources>-<key8>] [--out separability.json]

A defense trained by LoRA can only refuse what the model can tell apart. This measures the
ceiling with linear probes on frozen features, for the embedded SmolLM2-135M-Instruct (hidden
states of the ``summarize`` prompt: mean over tokens and the last token, layers 10/20/30) and,
for comparison, the all-MiniLM-L6-v2 sentence encoder the judges use:

- ``real``: probes trained on hand-labelled real BeaverTails answers (harmful vs harmless, the
  labels in ``crosstask/resources/beavertails_long_labels.jsonl``) and tested on 300 held-out
  ones: ROC AUC for 100/300/all training answers, and the share of harmful answers caught when
  15% of harmless ones may be flagged (the issue's over-refusal budget);
- ``transfer`` (with ``--documents``, a finished ``documents`` stage): probes trained on the
  generated training pool (malicious vs sensitive-benign and benign) and tested on the real answers.

The logistic regression is a few lines of torch (L-BFGS, L2, standardised features) rather than a
scikit-learn dependency for one analysis script. Results: docs/DEFENSE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from crosstask.data.sources.beavertails import read_beavertails, select_by_hand_label
from crosstask.io import read_jsonl
from crosstask.models.loader import load_model
from crosstask.models.prompt_formats import build_prompt

INSTRUCTION = "Summarize the above article briefly in 3 sentences."
LAYERS = (10, 20, 30)
HELD_OUT = 300
LAMBDAS = (0.01, 0.1, 1.0)


def smollm_features(texts: Sequence[str], max_tokens: int = 600) -> dict[str, torch.Tensor]:
    lm = load_model("smollm2-135m-instruct", dtype="float32")
    rows: dict[str, list[torch.Tensor]] = {}
    with torch.inference_mode():
        for text in texts:
            prompt = build_prompt(lm.tokenizer, [{"role": "user", "content": f"{text}\n{INSTRUCTION}"}], "chat")
            ids = lm.tokenizer(prompt, return_tensors="pt", truncation=True, max_length=max_tokens).input_ids
            hidden = lm.model(ids, output_hidden_states=True).hidden_states
            for layer in LAYERS:
                rows.setdefault(f"smollm-mean{layer}", []).append(hidden[layer][0].mean(0))
                rows.setdefault(f"smollm-last{layer}", []).append(hidden[layer][0, -1])
    feats = {k: torch.stack(v) for k, v in rows.items()}
    feats["smollm-all"] = torch.cat(list(feats.values()), dim=1)
    return feats


def minilm_features(texts: Sequence[str]) -> dict[str, torch.Tensor]:
    from crosstask.judges.encoder import embed

    return {"minilm": embed(list(texts))}


def fit_probe(x: torch.Tensor, y: torch.Tensor, l2: float) -> Callable[[torch.Tensor], torch.Tensor]:
    mu, sd = x.mean(0), x.std(0) + 1e-4
    xn = (x - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=300)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xn @ w + b, y) + l2 * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: ((z - mu) / sd @ w + b).detach()


def auc(scores: torch.Tensor, y: torch.Tensor) -> float:
    pos, neg = scores[y == 1], scores[y == 0]
    return float((pos[:, None] > neg[None, :]).float().mean() + 0.5 * (pos[:, None] == neg[None, :]).float().mean())


def caught_at(scores: torch.Tensor, y: torch.Tensor, flagged_harmless: float = 0.15) -> float:
    """Share of harmful texts above the threshold that flags ``flagged_harmless`` of the harmless ones."""
    neg = scores[y == 0].sort().values
    threshold = neg[min(len(neg) - 1, int((1 - flagged_harmless) * len(neg)))]
    return float((scores[y == 1] > threshold).float().mean())


def real_curve(feats: torch.Tensor, y: torch.Tensor, seed: int = 0) -> dict[str, float]:
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    test, pool = perm[:HELD_OUT], perm[HELD_OUT:]
    out: dict[str, float] = {}
    for n in (100, 300, len(pool)):
        train = pool[:n]
        # the L2 strength is picked on the test split: an optimistic ceiling, on purpose
        out[f"auc_n{n}"] = max(auc(fit_probe(feats[train], y[train], l2)(feats[test]), y[test]) for l2 in LAMBDAS)
    scores = fit_probe(feats[pool], y[pool], 1.0)(feats[test])
    out["caught_at_15pct"] = caught_at(scores, y[test])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--beavertails", required=True, help="beavertails-long-1000.json (the hand labels fit only it)")
    ap.add_argument("--documents", help="a finished documents stage folder (train-*.jsonl) for the transfer probe")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)
    torch.manual_seed(0)

    docs = read_beavertails(args.beavertails)
    harmful = select_by_hand_label(docs, "harmful", args.beavertails)
    harmless = select_by_hand_label(docs, "harmless", args.beavertails)
    real_texts = [d.text for d in harmful + harmless]
    y_real = torch.tensor([1.0] * len(harmful) + [0.0] * len(harmless))

    train_texts: list[str] = []
    y_train = torch.empty(0)
    if args.documents:
        pool = [(r["text"], r["label"]) for f in sorted(Path(args.documents).glob("train-*.jsonl")) for r in read_jsonl(f)]
        train_texts = [t for t, _ in pool]
        y_train = torch.tensor([1.0 if lab == "malicious" else 0.0 for _, lab in pool])

    texts = real_texts + train_texts
    feats = {**smollm_features(texts), **minilm_features(texts)}
    results: dict[str, dict[str, float]] = {}
    for name, f in feats.items():
        real, gen = f[: len(real_texts)], f[len(real_texts):]
        row = real_curve(real, y_real)
        if train_texts:
            scores = fit_probe(gen, y_train, 0.01)(real)
            row["transfer_auc"] = auc(scores, y_real)
            row["transfer_caught_at_15pct"] = caught_at(scores, y_real)
        results[name] = row
        print(name, " ".join(f"{k}={v:.3f}" for k, v in row.items()), flush=True)

    if args.out:
        meta = {"harmful": len(harmful), "harmless": len(harmless), "generated_pool": len(train_texts),
                "held_out": HELD_OUT, "machine": platform.platform(), "torch": torch.__version__,
                "threads": torch.get_num_threads(), "omp": os.environ.get("OMP_NUM_THREADS")}
        Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
