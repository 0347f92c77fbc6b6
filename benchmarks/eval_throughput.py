"""Evaluation throughput: the generation engine vs the paper's way (one prompt at a time).

    python benchmarks/eval_throughput.py [--docs 40] [--max-new-tokens 128] [--batch-size 64] [--bf16]
    python benchmarks/eval_throughput.py --profile real [--docs 30] [--max-new-tokens 48] [--threads auto]
                                         [--baseline-prompts 20] [--token-budget N] [--documents FILE] [--with-load]
    python benchmarks/eval_throughput.py --profile real --eval-300 [--with-load]

``--profile real`` (issue #16): documents with real token lengths, an evaluation as it really runs, and this
machine's matmul ceiling; see ``real_profile.py`` for what it prints. The default profile (``news``) is below.

N harmless news-like documents (written below from templates) x the paper's five tasks, on the
embedded SmolLM2-135M-Instruct, greedy, 128 new tokens by default (a summary or translation of a
~130-word document needs about that; the paper configs evaluate with 256). Rows:

- paper way: each prompt alone through ``model.generate(do_sample=False)``, full length;
- engine, full: ``crosstask.generation.generate`` (shared-document prefixes, batching), full length;
  outputs compared with the paper way's, text for text;
- engine, refusal-only: the same with the default ``refusal`` judge's ``is_final`` as the stop rule
  (and the engine's default stop window); verdicts compared with the judge on the full outputs;
- engine, bf16 (``--bf16``): full length in bf16, outputs compared with the fp32 paper way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time

import torch

from crosstask.generation import GenerationSettings, generate
from crosstask.generation.engine import encode_prompt, stop_token_ids
from crosstask.models import build_prompt
from crosstask.models.loader import load_model
from crosstask.tasks import PAPER_TASKS, get_task

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import real_documents  # noqa: E402  (sibling script modules)
from real_profile import real_options, run_real  # noqa: E402

# The news profile's templates: the first of real_documents.py's (its profile adds more for variety).
TOWNS, TOPICS = real_documents.TOWNS[:8], real_documents.TOPICS[:8]
SENTENCES, DAYS = real_documents.SENTENCES[:12], real_documents.DAYS


def harmless_documents(n: int, seed: int = 0) -> list[str]:
    """Benign news-like paragraphs (about 150 words each), deterministic for a seed."""
    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        topic, what, who, offer = TOPICS[i % len(TOPICS)]
        fill = dict(town=TOWNS[(i // len(TOPICS) + i) % len(TOWNS)], day=rnd.choice(DAYS), what=what, who=who,
                    offer=offer, topic=topic, n=rnd.randint(200, 900), m=rnd.randint(100, 199))
        order = SENTENCES[:1] + rnd.sample(SENTENCES[1:], 8)
        docs.append(" ".join(s.format(**fill) for s in order))
    return docs


def paper_prompts(tokenizer, docs: list[str]) -> list[str]:
    from crosstask.document import Document

    prompts = []
    for i, text in enumerate(docs):
        doc = Document(id=f"bench-{i}", text=text, label="benign", source="benchmark")
        for name in PAPER_TASKS:
            message, _ = get_task(name).user_message(doc)
            prompts.append(build_prompt(tokenizer, [{"role": "user", "content": message}]))
    return prompts


@torch.inference_mode()
def paper_way(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[str]:
    eos = sorted(stop_token_ids(model, tokenizer))
    outs = []
    for p in prompts:
        ids = torch.tensor([encode_prompt(tokenizer, p)])
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                             do_sample=False, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
        outs.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
    return outs


def timed(name: str, fn):
    print(f"running: {name} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"  {name}: {dt:.1f} s", file=sys.stderr, flush=True)
    return out, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=["news", "real"], default="news",
                    help="news: ~130-word documents (below); real: 150-2,000-token documents (real_profile.py)")
    ap.add_argument("--docs", type=int, default=None, help="documents (default 40; real profile 30)")
    ap.add_argument("--max-new-tokens", type=int, default=None, help="default 128; real profile 48")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--bf16", action="store_true", help="also time the engine in bf16")
    ap.add_argument("--json", help="write the numbers to this file")
    real_options(ap)
    args = ap.parse_args()
    if args.profile == "real":
        return run_real(args)
    args.docs = args.docs or 40
    args.max_new_tokens = args.max_new_tokens or 128

    lm = load_model(args.model)
    model, tok = lm.model, lm.tokenizer
    prompts = paper_prompts(tok, harmless_documents(args.docs))
    n_tokens = sum(len(encode_prompt(tok, p)) for p in prompts)
    from crosstask.judges import get_judge

    judge = get_judge("refusal")
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    generate(model, tok, prompts[:2], GenerationSettings(max_new_tokens=2))  # warm up kernels

    base, t_base = timed("paper way", lambda: paper_way(model, tok, prompts, args.max_new_tokens))
    full, t_full = timed("engine full", lambda: generate(model, tok, prompts, settings))
    short, t_short = timed("engine refusal-only", lambda: generate(model, tok, prompts, settings, stop_when=judge.is_final,
                                             stop_key=judge.id))
    rows = [
        ("paper way (one prompt at a time)", t_base, f"{len(prompts)}/{len(prompts)} (reference)"),
        ("engine, full", t_full, f"{sum(a == b for a, b in zip(full, base, strict=True))}/{len(prompts)} identical"),
        ("engine, refusal-only", t_short,
         f"{sum(judge.is_refusal(a) == judge.is_refusal(b) for a, b in zip(short, base, strict=True))}"
         f"/{len(prompts)} same verdict"),
    ]
    if args.bf16:
        bf, t_bf = timed("engine bf16", lambda: generate(model, tok, prompts, GenerationSettings(
            max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, dtype="bfloat16")))
        rows.append(("engine, full, bf16", t_bf, f"{sum(a == b for a, b in zip(bf, base, strict=True))}"
                                                 f"/{len(prompts)} identical"))

    print(f"\n{args.docs} documents x {len(PAPER_TASKS)} tasks = {len(prompts)} prompts "
          f"({n_tokens / len(prompts):.0f} prompt tokens on average), greedy, max_new_tokens {args.max_new_tokens}, "
          f"batch size {args.batch_size}, model {args.model}, judge {judge.id}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"load average (1/5/15 min) at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"| {'run':<34} | {'seconds':>8} | {'speed-up':>8} | outputs")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 10}|{'-' * 28}")
    for name, t, note in rows:
        print(f"| {name:<34} | {t:8.1f} | {t_base / t:7.1f}x | {note}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "prompts": len(prompts), "loadavg": os.getloadavg(),
                       "rows": [{"run": r, "seconds": t, "speedup": t_base / t, "outputs": n} for r, t, n in rows]},
                      f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
