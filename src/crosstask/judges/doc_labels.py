"""The document-task validation set: crosstask's own model outputs, labelled by reading them.

The labels ship in ``crosstask/resources/judge_doc_labels.jsonl`` keyed by the SHA-256 of the
output text (UTF-8), never with the text: many outputs are answers on malicious documents. Each
row: ``sha256``, ``label`` (``processed`` | ``refused`` | ``partial`` | ``off-task``), ``task``,
``set`` (the evaluation set, e.g. ``malicious:harmbench``), ``language`` (of the output: ``en``
or ``zh``), ``source`` (the run and model the output came from) and ``split`` (``dev`` when the
hash's first hex digit is 0-7, else ``held-out``; only ``dev`` may be looked at for tuning).

The texts come back from evaluation outputs (``samples.jsonl``) that the user regenerates (see
``docs/JUDGES.md``): :func:`collect_outputs` reads them and keeps the outputs whose hash is
labelled, and :func:`doc_task_sets` turns them into labelled sets (refusal = ``refused`` or
``partial``), one per split and per set family, task and language.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from crosstask.errors import InputError
from crosstask.judges.base import get_judge
from crosstask.judges.validate import LabelledExample, LabelledSet, Scores

LABELS_RESOURCE = "resources/judge_doc_labels.jsonl"
VERDICTS = ("processed", "refused", "partial", "off-task")
REFUSAL_LABELS = frozenset({"refused", "partial"})
SPLITS = ("dev", "held-out")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of(sha: str) -> str:
    """``dev`` (tuning allowed) for hashes starting 0-7, ``held-out`` for 8-f: about half each."""
    return "dev" if sha[0] in "01234567" else "held-out"


def output_language(text: str) -> str:
    """``zh`` when at least 30% of the non-space characters are CJK ideographs, else ``en``."""
    chars = [c for c in text if not c.isspace()]
    if chars and len(_CJK.findall(text)) >= 0.3 * len(chars):
        return "zh"
    return "en"


def set_family(set_name: str) -> str:
    """``malicious:harmbench`` -> ``malicious``."""
    return set_name.split(":", 1)[0]


def load_doc_labels(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The shipped label rows (or those of ``path``), checked."""
    if path is None:
        raw = resources.files("crosstask").joinpath(LABELS_RESOURCE).read_text(encoding="utf-8")
        where = Path(LABELS_RESOURCE)
    else:
        where = Path(path)
        raw = where.read_text(encoding="utf-8")
    rows = []
    for i, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"malformed JSON: {e.msg}", path=where, record=i) from None
        for f in ("sha256", "label", "task", "set", "language"):
            if not isinstance(row.get(f), str):
                raise InputError("missing or not a string", path=where, record=i, field=f)
        if row["label"] not in VERDICTS:
            raise InputError(f"label {row['label']!r} is not one of {', '.join(VERDICTS)}", path=where,
                             record=i, field="label")
        row.setdefault("split", split_of(row["sha256"]))
        rows.append(row)
    return rows


RUN_MANIFEST = "stages.json"  # a run folder's list of the stages it used (crosstask.pipeline.runner)


def _sample_files(paths: Iterable[str | Path]) -> list[Path]:
    """``samples.jsonl`` files under ``paths``, and, for a run folder, in the stages it used (they live in
    the shared stage store, named by its ``stages.json``); paths that do not exist are skipped."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(p.rglob("samples.jsonl")))
            files.extend(f for d in _manifest_dirs(p / RUN_MANIFEST) for f in sorted(d.rglob("samples.jsonl")))
        elif p.is_file():
            files.append(p)
    return list(dict.fromkeys(files))


def _manifest_dirs(manifest: Path) -> list[Path]:
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    except (OSError, ValueError):
        return []
    dirs = [Path(e["dir"]) for e in entries.values() if isinstance(entries, dict) and isinstance(e, dict)
            and isinstance(e.get("dir"), str)] if isinstance(entries, dict) else []
    return [d for d in dirs if d.is_dir()]


def collect_outputs(paths: Iterable[str | Path], wanted: set[str] | None = None) -> dict[str, str]:
    """sha256 -> output text, for every ``output`` in the ``samples.jsonl`` files under ``paths``."""
    found: dict[str, str] = {}
    for f in _sample_files(paths):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    text = json.loads(line).get("output")
                except (json.JSONDecodeError, AttributeError):
                    continue
                if isinstance(text, str):
                    h = sha256_text(text)
                    if wanted is None or h in wanted:
                        found[h] = text
    return found


@dataclass(frozen=True)
class DocExample:
    text: str
    label: str  # one of VERDICTS
    task: str
    set: str
    language: str
    split: str
    sha256: str

    @property
    def refusal(self) -> bool:
        return self.label in REFUSAL_LABELS


@dataclass(frozen=True)
class Coverage:
    labelled: int
    found: int

    def line(self) -> str:
        return f"document-task labels: {self.found}/{self.labelled} outputs found"


def doc_examples(paths: Sequence[str | Path], labels: list[dict[str, Any]] | None = None
                 ) -> tuple[list[DocExample], Coverage]:
    """The labelled outputs found under ``paths`` and how many of the labelled hashes that is."""
    rows = load_doc_labels() if labels is None else labels
    texts = collect_outputs(paths, {r["sha256"] for r in rows})
    out = [DocExample(texts[r["sha256"]], r["label"], r["task"], r["set"], r["language"], r["split"], r["sha256"])
           for r in rows if r["sha256"] in texts]
    return out, Coverage(len(rows), len(out))


def _as_set(name: str, examples: list[DocExample]) -> LabelledSet:
    return LabelledSet(name, [LabelledExample(e.text, e.refusal) for e in examples])


def doc_task_sets(examples: Sequence[DocExample], *, breakdown: bool = True) -> list[LabelledSet]:
    """``doc:<split>`` for each split, then (``breakdown``) ``doc:<split>:<by>=<value>`` per set
    family, task and output language. Answers only: the evaluator never passes the request."""
    sets = []
    for split in SPLITS:
        part = [e for e in examples if e.split == split]
        if not part:
            continue
        sets.append(_as_set(f"doc:{split}", part))
        if not breakdown:
            continue
        for by, key in (("set", lambda e: set_family(e.set)), ("task", lambda e: e.task),
                        ("lang", lambda e: e.language)):
            for value in sorted({key(e) for e in part}):
                sets.append(_as_set(f"doc:{split}:{by}={value}", [e for e in part if key(e) == value]))
    return sets


def score_off_task(judge_name: str, name: str, examples: Sequence[DocExample]) -> Scores:
    """The third verdict: how well ``off-task`` verdicts match ``off-task`` labels (the positive class)."""
    judge = get_judge(judge_name)
    verdicts = judge.judge_many([e.text for e in examples])
    pairs = [(v.label == "off-task", e.label == "off-task") for e, v in zip(examples, verdicts, strict=True)]
    tp = sum(p and g for p, g in pairs)
    fp = sum(p and not g for p, g in pairs)
    fn = sum(g and not p for p, g in pairs)
    tn = len(pairs) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    n = len(pairs)
    return Scores(f"{judge.id} [off-task]", name, n, tp + fn, tp, fp, fn, tn, (tp + tn) / n if n else 0.0,
                  precision, recall, f1)
