"""``eval_throughput.py --profile real``: the engine on documents of real lengths, as an evaluation runs.

Documents: 150-2,000 tokens, a third of them 600-2,000 (``real_documents.py``; ``--documents FILE`` reads
texts instead) x the paper's five tasks, embedded SmolLM2-135M-Instruct, fp32, greedy. Every document is
harmless placeholder news: the "malicious" third (every third document) is simply run the way an evaluation
runs malicious documents, refusal-only (the default ``refusal`` judge's ``is_final`` as the stop rule, the
engine's 32-token stop window); the rest run in full (``--max-new-tokens``, 48 by default).

Rows:

- paper way: each prompt alone through ``model.generate(do_sample=False)``, full length. It runs on
  ``--baseline-prompts`` prompts spread over the list (every k-th) and is extrapolated per prompt to all of
  them (said in the row);
- engine, full: every prompt full length; outputs compared with the paper way's on its prompts;
- engine, evaluation: refusal-only on the malicious third + full on the rest (two calls, as
  ``crosstask.evaluation`` makes them), with its two parts;
- with ``--with-load``: the evaluation again beside one process that keeps a core busy, threads re-chosen by
  ``crosstask.threads`` (``--threads auto``), slow-down against the share of CPU the busy process takes.

Then the ceiling (``ceiling.py``): the measured fp32 matmul rate at the projection shapes, the prefill
ceiling (2 x P FLOP per token) and the evaluation's time against it. ``--eval-300``: 300 documents (100
malicious), the evaluation only (no full run; the baseline on ``--baseline-prompts`` benign prompts),
total time against 15 minutes and against 2x the prefill-ceiling time of its prompt tokens.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import time

N_TASKS = 5


def real_options(ap: argparse.ArgumentParser) -> None:
    g = ap.add_argument_group("real profile (--profile real)")
    g.add_argument("--documents", help="JSONL of document texts (a string or {'text': ...} per line)")
    g.add_argument("--threads", default="auto", help="torch threads: a number, or auto (crosstask.threads)")
    g.add_argument("--token-budget", type=int, default=None, help="GenerationSettings.token_budget (default: its own)")
    g.add_argument("--workers", type=int, default=None,
                   help="GenerationSettings.workers (default: one per torch thread on CPU)")
    g.add_argument("--baseline-prompts", type=int, default=20, help="prompts the one-at-a-time baseline runs on")
    g.add_argument("--eval-300", action="store_true", help="300 documents x 5 tasks, the evaluation only")
    g.add_argument("--int8", action="store_true",
                   help="also run the evaluation with dtype=int8 (approximate): speed and verdict agreement with fp32")
    g.add_argument("--with-load", action="store_true", help="also run the evaluation beside one busy process")
    g.add_argument("--seed", type=int, default=0)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def _threads(value: str):
    from crosstask.threads import configure_threads

    return configure_threads(None if value == "auto" else int(value))


def run_real(args: argparse.Namespace) -> None:
    args.user_omp = os.environ.get("OMP_NUM_THREADS")  # configure_threads sets it; --with-load chooses again
    choice = _threads(args.threads)
    import eval_throughput as base
    import torch
    from ceiling import measure
    from real_documents import profile_documents, quantiles, read_documents

    from crosstask.generation import GenerationSettings, generate
    from crosstask.generation.decode import SUFFIX_CAP
    from crosstask.generation.engine import encode_prompt
    from crosstask.generation.prefix import group_by_prefix, member_prefixes
    from crosstask.generation.workers import default_workers
    from crosstask.judges import get_judge
    from crosstask.models.loader import load_model

    n_docs = 300 if args.eval_300 else (args.docs or 30)
    new_tokens = args.max_new_tokens or 48
    lm = load_model(args.model)
    model, tok = lm.model, lm.tokenizer
    docs = read_documents(args.documents)[:n_docs] if args.documents else profile_documents(tok, n_docs, args.seed)
    n_docs = len(docs)
    prompts = base.paper_prompts(tok, docs)
    malicious = [i for i in range(len(prompts)) if (i // N_TASKS) % 3 == 0]
    benign = [i for i in range(len(prompts)) if (i // N_TASKS) % 3 != 0]
    ids = [encode_prompt(tok, p) for p in prompts]
    doc_tokens = [len(tok(d, add_special_tokens=False)["input_ids"]) for d in docs]
    judge = get_judge("refusal")
    budget = {} if args.token_budget is None else {"token_budget": args.token_budget}
    settings = GenerationSettings(max_new_tokens=new_tokens, batch_size=args.batch_size, workers=args.workers,
                                  **budget)
    ceiling = measure(model)
    generate(model, tok, prompts[:2], GenerationSettings(max_new_tokens=2))  # warm up kernels

    def computed_tokens(idx: list[int]) -> int:
        """Prompt tokens the engine computes: what a member shares with the previous one in its group is copied."""
        sub = [ids[i] for i in idx]
        groups = group_by_prefix(sub, max_group=settings.batch_size)
        return sum(len(sub[m]) - copied for g in groups
                   for m, (_, copied) in zip(g.members, member_prefixes(sub, g, SUFFIX_CAP), strict=True))

    def evaluation(run_settings=settings):
        t0 = time.perf_counter()
        short = generate(model, tok, [prompts[i] for i in malicious], run_settings, stop_when=judge.is_final,
                         stop_key=judge.id)
        t_mal = time.perf_counter() - t0
        full = generate(model, tok, [prompts[i] for i in benign], run_settings)
        return short, full, t_mal

    rows: list[tuple[str, float, str]] = []
    rss: dict[str, float] = {}
    full_out: list[str] | None = None
    if not args.eval_300:
        full_out, t_full = base.timed("engine full", lambda: generate(model, tok, prompts, settings))
        rss["engine full"] = _peak_rss_gib()
    (short, ben_full, t_mal), t_eval = base.timed("engine evaluation", evaluation)
    rss["engine evaluation"] = _peak_rss_gib()

    # The paper way on prompts spread over the list (benign only in --eval-300: there is no full run).
    pool = benign if args.eval_300 else list(range(len(prompts)))
    step = max(1, len(pool) // max(1, args.baseline_prompts))
    sub = pool[::step][: args.baseline_prompts]
    base_out, t_sub = base.timed(f"paper way on {len(sub)} prompts",
                                 lambda: base.paper_way(model, tok, [prompts[i] for i in sub], new_tokens))
    per_prompt = t_sub / max(1, len(sub))
    t_base = per_prompt * len(prompts)
    reference = dict(zip(sub, base_out, strict=True))
    engine_full = dict(zip(benign, ben_full, strict=True)) if full_out is None else dict(enumerate(full_out))
    same = sum(engine_full[i] == reference[i] for i in sub if i in engine_full)
    compared = sum(1 for i in sub if i in engine_full)

    rows.append((f"paper way ({len(sub)} prompts run, x{len(prompts) / max(1, len(sub)):.1f})", t_base,
                 f"{per_prompt:.2f} s per prompt, extrapolated"))
    if full_out is not None:
        rows.append(("engine, full", t_full, f"{same}/{compared} identical to the paper way"))
    verdicts = ""
    if full_out is not None:
        agree = sum(judge.is_refusal(s) == judge.is_refusal(full_out[i]) for i, s in zip(malicious, short, strict=True))
        verdicts = f", {agree}/{len(malicious)} same verdict as full"
    note = f"{same}/{compared} identical" if full_out is None else "refusal-only + full"
    rows.append(("engine, evaluation", t_eval, note))
    rows.append((f"  refusal-only, {len(malicious)} malicious", t_mal, f"stop rule {judge.id}{verdicts}"))
    rows.append((f"  full, {len(benign)} benign", t_eval - t_mal, f"{new_tokens} new tokens at most"))

    if args.int8:
        int8 = settings.model_copy(update={"dtype": "int8"})
        generate(model, tok, prompts[:2], int8.model_copy(update={"max_new_tokens": 2}))  # quantize, warm up
        (q_short, q_full, q_mal), t_q = base.timed("engine evaluation, int8", lambda: evaluation(int8))
        fp32 = [*short, *ben_full]
        agree = sum(judge.is_refusal(a) == judge.is_refusal(b) for a, b in zip([*q_short, *q_full], fp32, strict=True))
        same = sum(a == b for a, b in zip(q_full, ben_full, strict=True))
        rows.append(("engine, evaluation, int8 (approximate)", t_q,
                     f"{agree}/{len(fp32)} same refusal verdict as fp32, {same}/{len(ben_full)} benign identical"))
        rows.append((f"  refusal-only, {len(malicious)} malicious, int8", q_mal,
                     f"{sum(judge.is_refusal(a) for a in q_short)} refusals (fp32: "
                     f"{sum(judge.is_refusal(a) for a in short)})"))

    load_row = None
    if args.with_load:
        load_row = _with_load(args, evaluation, t_eval)

    prompt_tokens = sum(len(x) for x in ids)
    computed = computed_tokens(malicious) + computed_tokens(benign)
    generated = sum(len(tok(o, add_special_tokens=False)["input_ids"]) for o in [*short, *ben_full])
    t_ceiling = ceiling.seconds(prompt_tokens)
    t_ceiling_work = ceiling.seconds(computed, generated)

    print(f"\n{n_docs} documents x {N_TASKS} tasks = {len(prompts)} prompts ({len(malicious)} refusal-only, "
          f"{len(benign)} full), greedy, fp32, max_new_tokens {new_tokens}, batch size {settings.batch_size}, "
          f"token budget {settings.token_budget}, workers {settings.workers or default_workers('cpu', len(prompts))}, "
          f"model {args.model}, judge {judge.id}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, affinity {len(os.sched_getaffinity(0))} cores, "
          f"torch threads {torch.get_num_threads()} ({choice.reason}), load average (1/5/15 min) at the end: "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("document tokens:  " + "  ".join(f"{k} {v}" for k, v in quantiles(doc_tokens).items())
          + f"  mean {sum(doc_tokens) / len(doc_tokens):.0f}, {sum(t >= 600 for t in doc_tokens)} of {n_docs} >= 600")
    print("prompt tokens:    " + "  ".join(f"{k} {v}" for k, v in quantiles([len(x) for x in ids]).items())
          + f"  mean {prompt_tokens / len(ids):.0f}")
    print(f"\n| {'run':<40} | {'seconds':>8} | {'speed-up':>8} | outputs")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 10}|{'-' * 44}")
    for name, t, note in rows + ([load_row] if load_row else []):
        print(f"| {name:<40} | {t:8.1f} | {t_base / t:7.1f}x | {note}")
    print("\npeak RSS (GiB, whole process, after): " + ", ".join(f"{k} {v:.2f}" for k, v in rss.items()))
    print(f"\nceiling: fp32 matmul {ceiling.gflops:.1f} GFLOP/s at the projection shapes (512 rows, "
          f"{torch.get_num_threads()} threads); P = {ceiling.projection_params / 1e6:.1f} M projection weights")
    print(f"  prefill ceiling {ceiling.prefill_tokens_per_s:.0f} tokens/s (2P FLOP/token); decode ceiling "
          f"{ceiling.decode_tokens_per_s:.0f} tokens/s (2(P + vocab x hidden), without cache reads)")
    print(f"  evaluation: {prompt_tokens} prompt tokens ({computed} computed after prefix sharing), {generated} new "
          f"tokens")
    print(f"  prefill-ceiling time of all prompt tokens {t_ceiling:.1f} s: evaluation takes "
          f"{t_eval / t_ceiling:.2f}x that ({prompt_tokens / t_eval:.0f} prompt tokens/s, "
          f"{100 * prompt_tokens / t_eval / ceiling.prefill_tokens_per_s:.0f}% of the ceiling)")
    print(f"  ceiling time of the work done (computed prompt tokens + new tokens) {t_ceiling_work:.1f} s: "
          f"the engine reaches {100 * t_ceiling_work / t_eval:.0f}% of it")
    if args.eval_300:
        print(f"\n--eval-300: {t_eval:.0f} s = {t_eval / 60:.1f} min (target <= 15 min: "
              f"{'met' if t_eval <= 900 else 'NOT met'}); 2x the prefill-ceiling time = {2 * t_ceiling:.0f} s "
              f"({'met' if t_eval <= 2 * t_ceiling else 'NOT met'})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "prompts": len(prompts), "doc_tokens": quantiles(doc_tokens),
                       "rows": [{"run": r, "seconds": t, "outputs": n} for r, t, n in rows + ([load_row] if load_row
                                                                                             else [])],
                       "rss_gib": rss, "gflops": ceiling.gflops, "prefill_ceiling_tps": ceiling.prefill_tokens_per_s,
                       "prompt_tokens": prompt_tokens, "computed_tokens": computed, "new_tokens": generated,
                       "eval_seconds": t_eval, "ceiling_seconds": t_ceiling}, f, indent=2)


def _with_load(args: argparse.Namespace, evaluation, t_idle: float) -> tuple[str, float, str]:
    """The evaluation again beside one busy process; threads chosen again from the cores now free."""
    import eval_throughput as base
    import torch
    from threads_under_load import burn

    cores = len(os.sched_getaffinity(0))
    before = torch.get_num_threads()
    burner = multiprocessing.Process(target=burn, args=(float("inf"),), daemon=True)
    burner.start()
    try:
        time.sleep(2.0)
        if args.user_omp is None:  # the first automatic choice wrote OMP_NUM_THREADS: choose from scratch
            os.environ.pop("OMP_NUM_THREADS", None)
            os.environ.pop("MKL_NUM_THREADS", None)
        choice = _threads(args.threads)
        threads = torch.get_num_threads()
        _, t_load = base.timed("engine evaluation, one busy process", evaluation)
    finally:
        burner.terminate()
        burner.join()
        torch.set_num_threads(before)
    share = 1 / max(cores, 2)  # one busy process takes one core, or half of a single core
    return ("engine, evaluation + 1 busy process", t_load,
            f"{t_load / t_idle:.2f}x slower (CPU share lost {share:.0%}: <= {1 / (1 - share):.2f}x); "
            f"threads {threads} ({choice.reason})")
