"""Regenerate the model outputs behind the document-task judge labels and report coverage.

    python scripts/judge_validation_outputs.py [--demo runs/demo] [--generalize runs/generalize]
                                               [--out runs/judge-validation] [--skip-generate]

The labels (``src/crosstask/resources/judge_doc_labels.jsonl``) name outputs by the SHA-256 of
their text; the texts are not in the repository (most are answers on malicious documents).
They come from three places, all on CPU, greedy decoding, the embedded SmolLM2-135M-Instruct:

1. ``crosstask run configs/demo.yaml`` -> ``runs/stages/eval/*/samples.jsonl`` (the stages
   ``runs/demo/stages.json`` names; ``runs/demo/stages/`` in the old layout)
   (``eval/base`` and ``eval/mixed-n10``; refusal-only sets cut at 24 tokens);
2. ``crosstask run configs/generalize.yaml`` -> ``runs/stages/eval/*/samples.jsonl`` (likewise)
   (``eval/base`` and the five defended variants; refusal-only, 24 tokens);
3. this script: 28 documents of the generalize test set (picked by the SHA-256 of their id, per
   source) x six tasks (``qa`` where the document has questions: BeaverTails), full length
   (96 new tokens, no refusal-only stop), with the base model and with the ``train/mixed-n10``
   adapter of the generalize run -> ``runs/judge-validation/{base,mixed-n10}/samples.jsonl``.

Steps 1-2 are the experiments' own runs (hours on CPU for generalize); this script runs step 3
(about 6 minutes per model on one CPU thread) and then counts how many labelled hashes it finds.
Greedy decoding on CPU repeats itself on the same software and hardware; elsewhere some outputs
may differ by a token, and their labels then go unused (the count says how many).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

# (label, source) -> documents to take from the generalize test set
PICK = {
    ("malicious", "harvest:advbench"): 3, ("malicious", "harvest:harmbench"): 3, ("malicious", "beavertails"): 5,
    ("benign", "generated-news"): 6,
    ("sensitive-benign", "counterpart:advbench"): 3, ("sensitive-benign", "generated-sensitive"): 3,
    ("sensitive-benign", "beavertails"): 5,
}
TASKS = "[summarize,translate,sentiment,case,cloze,qa]"


def _h(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def _stage_dirs(run: Path, kind: str) -> list[Path]:
    """The stage folders of a kind a run used: from its stages.json (the shared store), else the old layout."""
    manifest = run / "stages.json"
    if manifest.exists():
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        return sorted(Path(e["dir"]) for e in entries.values() if e.get("kind") == kind)
    return sorted((run / "stages" / kind).glob("*"))


def _stage(run: Path, kind: str, name: str) -> Path | None:
    for d in _stage_dirs(run, kind):
        meta = d / "_stage.json"
        if meta.exists() and json.loads(meta.read_text(encoding="utf-8")).get("name") == name:
            return d
    return None


def pick_documents(generalize: Path, out: Path) -> dict[str, Path]:
    files = [d / "documents.jsonl" for d in _stage_dirs(generalize, "testset") if (d / "documents.jsonl").exists()]
    if not files:
        sys.exit(f"{generalize}: no test set; run `crosstask run configs/generalize.yaml` first")
    docs = [json.loads(line) for line in files[0].read_text(encoding="utf-8").splitlines() if line.strip()]
    by: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for d in docs:
        by[(d["label"], d["source"])].append(d)
    chosen: dict[str, list[dict]] = defaultdict(list)
    for key, n in PICK.items():
        chosen[key[0]] += sorted(by[key], key=lambda d: _h(d["id"]))[:n]
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, rows in chosen.items():
        p = out / f"{label}.jsonl"
        p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        paths[label] = p
    return paths


def generate(paths: dict[str, Path], adapter: Path | None, out: Path, name: str) -> None:
    exe = Path(sys.executable).parent / "crosstask"
    cmd = [str(exe) if exe.exists() else "crosstask", "eval", "run",
           "--malicious", str(paths["malicious"]), "--benign", str(paths["benign"]),
           "--sensitive", str(paths["sensitive-benign"]), "--full",
           "--set", "max_new_tokens=96", "--set", "batch_size=32", "--set", f"tasks={TASKS}",
           "--set", "judges=[refusal,keyword-gcg13]", "--out", str(out / name), "--name", name]
    if adapter is not None:
        cmd += ["--adapter", str(adapter)]
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo", type=Path, default=Path("runs/demo"))
    ap.add_argument("--generalize", type=Path, default=Path("runs/generalize"))
    ap.add_argument("--out", type=Path, default=Path("runs/judge-validation"))
    ap.add_argument("--skip-generate", action="store_true", help="Only count what is already there.")
    args = ap.parse_args()

    if not args.skip_generate:
        paths = pick_documents(args.generalize, args.out / "documents")
        adapter = _stage(args.generalize, "train", "train/mixed-n10")
        if adapter is None:
            sys.exit(f"{args.generalize}: no train/mixed-n10 stage; run `crosstask run configs/generalize.yaml` first")
        generate(paths, None, args.out, "base")
        generate(paths, adapter, args.out, "mixed-n10")

    from crosstask.judges.doc_labels import collect_outputs, load_doc_labels

    rows = load_doc_labels()
    found = collect_outputs([args.demo, args.generalize, args.out], {r["sha256"] for r in rows})
    total, hit = Counter(r["source"].split("/")[0] for r in rows), Counter()
    for r in rows:
        hit[r["source"].split("/")[0]] += r["sha256"] in found
    for src in sorted(total):
        print(f"{src:18} {hit[src]:4}/{total[src]} labelled outputs found")
    print(f"{'all':18} {len(found):4}/{len(rows)}")


if __name__ == "__main__":
    main()
