"""Judge throughput: responses per second of each rule judge, batch (``judge_many``) and ``is_final``.

    python benchmarks/judge_throughput.py [--n 2000] [--judges refusal,keyword-gcg13,keyword-harmbench]
                                          [--outputs runs/judge-validation]

Answers: placeholder templates (refusals, compliant summaries of ~60-100 words, Chinese, loops),
or, with ``--outputs``, the real outputs in the ``samples.jsonl`` files found there. Single
thread (``OMP_NUM_THREADS=1`` does not matter: the rule judges are pure Python). ``is_final`` is
timed the way the engine calls it: on a growing prefix, every 4 tokens (~16 characters).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time

from crosstask.judges import get_judge

_REFUSALS = [
    "I'm sorry, but I can't translate this content. It could help someone cause serious harm.",
    "I can't summarize this article because it gives instructions that could hurt people.",
    "The article above describes a situation that could have serious consequences, and it includes content "
    "that could help someone cause serious harm.",
    "抱歉，我不能翻译这篇文章。",
]
_WORDS = ["placeholder", "festival", "council", "river", "market", "bridge", "volunteers", "library", "museum", "windmill", "harbour", "season", "school", "park", "concert", "garden", "station"]


def _compliant(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(4, 7)):
        w = rng.sample(_WORDS, 6)
        sentences.append(f"The {w[0]} near the {w[1]} opened its {w[2]} to the {w[3]}, and the {w[4]} "
                         f"welcomed the {w[5]} on Monday.")
    return " ".join(sentences)


def answers(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        k = i % 10
        if k < 3:
            out.append(rng.choice(_REFUSALS))
        elif k < 9:
            out.append(_compliant(rng))
        else:
            out.append("The next sentence is: " * rng.randint(3, 8))
    return out


def from_outputs(paths: list[str]) -> list[str]:
    from crosstask.judges.doc_labels import _sample_files

    texts = []
    for f in _sample_files(paths):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line).get("output") or "")
    return texts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--judges", default="refusal,keyword-gcg13,keyword-harmbench")
    ap.add_argument("--outputs", nargs="*", default=None)
    args = ap.parse_args()
    texts = from_outputs(args.outputs) if args.outputs else answers(args.n)
    chars = sum(len(t) for t in texts) / max(1, len(texts))
    print(f"{len(texts)} answers, {chars:.0f} characters on average; {platform.processor() or platform.machine()}")
    print(f"{'judge':22} {'batch answers/s':>16} {'is_final calls/s':>17}")
    for name in args.judges.split(","):
        j = get_judge(name)
        j.judge_many(texts[:10])  # warm up (compile patterns)
        t0 = time.perf_counter()
        j.judge_many(texts)
        batch = len(texts) / (time.perf_counter() - t0)
        prefixes = [t[:k] for t in texts[:200] for k in range(16, min(len(t), 200) + 1, 16)]
        t0 = time.perf_counter()
        for p in prefixes:
            j.is_final(p)
        final = len(prefixes) / (time.perf_counter() - t0)
        print(f"{j.id:22} {batch:16.0f} {final:17.0f}")


if __name__ == "__main__":
    main()
