"""Training throughput: crosstask's trainer vs a plain TRL ``SFTTrainer`` on the same data.

Both sides train the same model with the same LoRA settings, learning rate, schedule, batch
size (examples per optimizer step), cutoff, mixed precision, base weights and response-only loss
(crosstask with ``loss: single``, the same token-mean objective as TRL) for the same number of
optimizer steps, on the same examples in the same order: TRL reads, sequentially, the token ids
and loss masks crosstask built, in the order crosstask's seeded sampler draws them, so step k of
both sides sees the same examples and the loss curves can be compared step by step. Each run is
a fresh subprocess (so its peak RSS is its own); the sides alternate (crosstask, TRL, TRL,
crosstask, ...) so that load from other processes on the machine hits both
alike. Reported: real (non-padding) tokens per second, peak RSS and the per-step loss curves.

    python benchmarks/train_throughput.py --dataset DIR [--steps 12] [--rounds 2] [--out report.json]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _config(args: argparse.Namespace):
    from crosstask.training import preset

    return preset("cpu", base_model=args.model, loss="single", max_steps=args.steps, batch_size=args.batch_size,
                  save_steps=10**6, seed=args.seed)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_crosstask(args: argparse.Namespace) -> dict:
    from crosstask.io import read_jsonl
    from crosstask.training import train

    cfg = _config(args)
    with tempfile.TemporaryDirectory() as tmp:
        res = train(cfg, args.dataset, Path(tmp) / "out", progress=False)
        recs = read_jsonl(Path(tmp) / "out" / "metrics.jsonl")
    tokens = sum(r["tokens"] for r in recs)
    return {"side": "crosstask", "tokens": tokens, "seconds": res.train_seconds,
            "tokens_per_s": tokens / res.train_seconds, "peak_rss_mb": _peak_mb(),
            "losses": [r["loss"] for r in recs]}


def run_trl(args: argparse.Namespace) -> dict:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import SFTConfig, SFTTrainer

    from crosstask.models import load_model
    from crosstask.training import batching
    from crosstask.training.data import tokenize_dataset
    from crosstask.training.trainer import resolve_mixed_precision

    cfg = _config(args)
    bf16 = resolve_mixed_precision(cfg.mixed_precision) == "bf16"
    # The same base weights as crosstask's prepare_model ("auto": bf16 only where bf16 matmuls are fast).
    dtype = cfg.base_dtype if cfg.base_dtype != "auto" else ("bfloat16" if bf16 else "float32")
    loaded = load_model(cfg.base_model, dtype=dtype)
    tok = loaded.tokenizer
    # The same token ids and loss masks as crosstask (its tokenizer, chat format, cutoff and masking),
    # in crosstask's data order (step k takes order[k*B:(k+1)*B]), read sequentially by TRL.
    data = tokenize_dataset(args.dataset, tok, prompt_format=cfg.prompt_format, cutoff_len=cfg.cutoff_len,
                            train_on_inputs=cfg.train_on_inputs, on_too_long=cfg.on_too_long)
    order = [i for step in range(cfg.max_steps)
             for i in batching.step_indices(len(data.examples), cfg.seed, cfg.batch_size, step)]
    rows = [{"input_ids": list(data.examples[i].input_ids), "labels": list(data.examples[i].labels)} for i in order]
    sft = SFTConfig(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=cfg.batch_size, gradient_accumulation_steps=1,
        learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=math.ceil(cfg.warmup_ratio * cfg.max_steps), max_steps=cfg.max_steps,
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm, bf16=bf16, max_length=cfg.cutoff_len,
        completion_only_loss=True, logging_steps=1, report_to=[], save_strategy="no", seed=cfg.seed,
        include_num_input_tokens_seen="non_padding", use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0, disable_tqdm=True, train_sampling_strategy="sequential",
    )
    lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                      target_modules=list(cfg.lora_target_modules), task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=loaded.model, args=sft, train_dataset=Dataset.from_list(rows),
                         processing_class=tok, peft_config=lora)
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    tokens = int(trainer.state.num_input_tokens_seen)
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"side": "trl", "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
            "peak_rss_mb": _peak_mb(), "losses": losses}


def _summary(runs: list[dict], side: str) -> dict:
    mine = [r for r in runs if r["side"] == side]
    return {"tokens_per_s_median": statistics.median(r["tokens_per_s"] for r in mine),
            "tokens_per_s_runs": [round(r["tokens_per_s"], 1) for r in mine],
            "peak_rss_mb": max(r["peak_rss_mb"] for r in mine),
            "loss_curve": [round(statistics.mean(v), 4) for v in zip(*(r["losses"] for r in mine), strict=False)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True, help="a defense dataset folder (crosstask data build)")
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--worker", choices=["crosstask", "trl"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        result = run_crosstask(args) if args.worker == "crosstask" else run_trl(args)
        print("RESULT " + json.dumps(result))
        return
    runs = []
    base = [sys.executable, __file__, "--dataset", args.dataset, "--model", args.model, "--steps", str(args.steps),
            "--batch-size", str(args.batch_size), "--seed", str(args.seed)]
    for rnd in range(args.rounds):
        for side in ("crosstask", "trl") if rnd % 2 == 0 else ("trl", "crosstask"):
            proc = subprocess.run(base + ["--worker", side], capture_output=True, text=True)
            line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if proc.returncode != 0 or not line:
                sys.exit(f"{side} run failed:\n{proc.stderr[-3000:]}")
            r = json.loads(line[-1][7:])
            runs.append(r)
            print(f"round {rnd + 1} {side:9s} {r['tokens_per_s']:8.1f} tok/s  {r['tokens']} tokens in "
                  f"{r['seconds']:.1f} s  peak {r['peak_rss_mb']:.0f} MB", flush=True)
    report = {"settings": {**vars(args), "dataset": str(args.dataset), "out": str(args.out)},
              "crosstask": _summary(runs, "crosstask"), "trl": _summary(runs, "trl"), "runs": runs}
    speedup = report["crosstask"]["tokens_per_s_median"] / report["trl"]["tokens_per_s_median"]
    report["speedup"] = round(speedup, 2)
    print(f"\n| | crosstask | TRL SFTTrainer |\n|---|---|---|\n"
          f"| tokens/s (median of {args.rounds}) | {report['crosstask']['tokens_per_s_median']:.0f} | "
          f"{report['trl']['tokens_per_s_median']:.0f} |\n"
          f"| peak RSS (MB) | {report['crosstask']['peak_rss_mb']:.0f} | {report['trl']['peak_rss_mb']:.0f} |\n"
          f"| speed-up | {speedup:.2f}x | 1.00x |")
    print("loss crosstask:", report["crosstask"]["loss_curve"])
    print("loss TRL:      ", report["trl"]["loss_curve"])
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
