"""Generation speed by torch thread count on a shared machine (issue #14: oversubscription).

    python benchmarks/threads_under_load.py [--busy 1] [--threads 2,1,auto] [--prompts 4] [--new-tokens 24]
                                            [--model smollm2-135m-instruct]

Each setting runs in a fresh process (torch fixes its thread pool when it starts): it loads the model,
warms up with one prompt, then times greedy generation of ``--prompts`` harmless prompts through the
engine. ``--busy N`` starts N processes that each keep one core busy (a Python loop) for the whole
benchmark, as another user's job would; ``auto`` is crosstask's own choice (``crosstask.threads``:
the free cores, from the CPU affinity and the load average). Prints one line per setting and a JSON
summary. Keep it short on a shared machine: the defaults take about a minute.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time


def burn(stop_at: float) -> None:
    """Keep one core busy until ``stop_at`` (a time.time() value), as another user's job would."""
    while time.time() < stop_at:
        pass


def worker(threads: str, model: str, prompts: int, new_tokens: int) -> dict:
    from crosstask.threads import auto_threads, configure_threads

    n = auto_threads() if threads == "auto" else int(threads)
    configure_threads(n)
    import torch

    from crosstask.generation import GenerationSettings, generate
    from crosstask.models import build_prompt
    from crosstask.models.loader import load_model

    lm = load_model(model)
    texts = [build_prompt(lm.tokenizer, [{"role": "user", "content": f"Write two sentences about town fair {i}."}])
             for i in range(prompts)]
    settings = GenerationSettings(max_new_tokens=new_tokens, batch_size=prompts)
    generate(lm.model, lm.tokenizer, texts[:1], GenerationSettings(max_new_tokens=4))  # warm-up
    t0 = time.perf_counter()
    generate(lm.model, lm.tokenizer, texts, settings)
    seconds = time.perf_counter() - t0
    return {"threads": threads, "torch_threads": torch.get_num_threads(), "seconds": round(seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--busy", type=int, default=1, help="Processes keeping one core busy each.")
    ap.add_argument("--threads", default="2,1,auto", help="Settings to time, comma-separated.")
    ap.add_argument("--prompts", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=24)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.model, args.prompts, args.new_tokens)))
        return

    settings = [s.strip() for s in args.threads.split(",") if s.strip()]
    burners = [multiprocessing.Process(target=burn, args=(time.time() + 600,), daemon=True) for _ in range(args.busy)]
    for b in burners:
        b.start()
    time.sleep(2 if args.busy else 0)
    rows = []
    try:
        for s in settings:
            env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                                      "CROSSTASK_THREADS")}
            out = subprocess.run([sys.executable, __file__, "--worker", s, "--model", args.model, "--prompts",
                                  str(args.prompts), "--new-tokens", str(args.new_tokens)],
                                 env=env, capture_output=True, text=True, check=True)
            row = json.loads(out.stdout.strip().splitlines()[-1]) | {"load_1min": round(os.getloadavg()[0], 2)}
            rows.append(row)
            print(f"threads {row['threads']:>4} (torch {row['torch_threads']}): {row['seconds']:7.2f} s   "
                  f"load {row['load_1min']}", flush=True)
    finally:
        for b in burners:
            b.terminate()
    print(json.dumps({"cores": len(os.sched_getaffinity(0)), "busy": args.busy, "model": args.model,
                      "prompts": args.prompts, "new_tokens": args.new_tokens, "rows": rows}))


if __name__ == "__main__":
    main()
