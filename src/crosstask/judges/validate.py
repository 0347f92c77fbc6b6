"""Score judges against human-labelled refusal data (``crosstask judge validate``).

Built-in data: the human-labelled refusal sets shipped inside the ``pyrit`` wheel
(read as files; pyrit is never imported). ``refusal.csv`` is the set the ``refusal``
judge's phrases were developed on; ``refusal_extra.csv`` and ``mini_refusal.csv`` are
reported too, and ``held-out`` is their rows whose answer does not occur in
``refusal.csv`` (the honest number).

Some rows are labelled refusals because the answer is fluent but off-topic: an answer to a
*different* objective from the same file (a non-sequitur). A judge that reads only the
answer cannot see that; ``<name>:explicit`` repeats each set without those rows so both
views are reported.

More chat data read from pyrit's files (``objective_achieved_set``, ``wheel_sets``), first used for
``refusal@4``:

- ``objective:achieved``: the rows of pyrit's ``scorer_evals/objective/*.csv`` (human label 1:
  the response achieved the harmful objective, i.e. it complied). All are non-refusals, so they
  measure false refusals only (accuracy = 1 - false refusal rate). Label-0 rows (not achieved)
  mix refusals with weak answers and are not used.
- ``pyrit-wheel:*``: refusal rows of older pyrit wheels (``--pyrit-wheel FILE.whl``, e.g. 0.11.0's
  150-row ``refusal.csv``) whose answer is in none of the installed sets.

Each is split by the SHA-256 of the answer like the document labels (``:dev`` 0-7, ``:held-out``
8-f); only ``:dev`` rows were looked at while writing ``refusal@4``.

crosstask's own labelled document-task outputs (``doc:dev``, ``doc:held-out`` and their per set,
task and language views) come from :mod:`crosstask.judges.doc_labels`; the command adds them.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from crosstask.config_model import ConfigModel
from crosstask.errors import InputError
from crosstask.io import read_text
from crosstask.judges.base import JudgeNames, get_judge

PYRIT_FILES = {
    "refusal.csv": "datasets/scorer_evals/refusal_scorer/refusal.csv",
    "refusal_extra.csv": "datasets/scorer_evals/refusal_scorer/refusal_extra.csv",
    "mini_refusal.csv": "datasets/scorer_evals/sample/mini_refusal.csv",
}
TUNING_SET = "refusal.csv"
PYRIT_OBJECTIVE_DIR = "datasets/scorer_evals/objective"
_TRUE = {"1", "true", "yes", "y", "refusal", "refused", "t"}
_FALSE = {"0", "false", "no", "n", "compliance", "complied", "f", "not refusal"}


class JudgeValidationConfig(ConfigModel):
    """``crosstask judge validate``: which judges, on which labelled data."""

    config_name = "judge validation config"

    data: list[str] = Field(default_factory=list, description=(
        "Labelled CSV/JSONL file(s) to add to the built-in sets."))
    text_field: str = Field("assistant_response", description="Field holding the model answer.")
    label_field: str = Field("human_score", description="Field holding the label (1/0, true/false).")
    prompt_field: str = Field("objective", description="Field holding the request, if any.")
    judges: JudgeNames = Field(default_factory=list, description="Judges to score (default: all).")
    builtin: bool = Field(True, description="Include the labelled sets shipped in the pyrit package.")
    out: str | None = Field(None, description="Output folder: the scores as judge_scores.json.")
    outputs: list[str] = Field(default_factory=lambda: ["runs"], description=(
        "Folders (or samples.jsonl files) holding evaluation outputs; those whose SHA-256 the shipped "
        "document-task labels name are scored (see docs/JUDGES.md). Missing folders are skipped."))
    breakdown: bool = Field(True, description="Document-task labels: also report per set, task and language.")
    pyrit_wheel: list[str] = Field(default_factory=list, description=(
        "Downloaded pyrit wheel(s) (pip download --no-deps pyrit==0.11.0): their refusal sets' rows whose "
        "answer the installed sets lack are added (pyrit-wheel:dev / :held-out)."))



@dataclass(frozen=True)
class LabelledExample:
    text: str
    label: bool  # True = refusal
    prompt: str | None = None


@dataclass(frozen=True)
class LabelledSet:
    name: str
    examples: list[LabelledExample]
    path: str | None = None


@dataclass(frozen=True)
class Scores:
    judge: str
    dataset: str
    n: int
    positives: int
    tp: int
    fp: int
    fn: int
    tn: int
    accuracy: float
    precision: float
    recall: float
    f1: float


def _parse_label(value: Any, path: Path, record: int, field: str) -> bool:
    """A refusal label: true/false words, or a score in [0, 1] (>= 0.5: refusal). Anything else
    (NaN, -7, 'maybe') is an error naming the file, record and field."""
    if isinstance(value, bool):
        return value
    s = str(value).strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    try:
        score = float(s)
    except ValueError:
        score = math.nan
    if not 0.0 <= score <= 1.0:  # also refuses NaN
        raise InputError(f"label {value!r} is not 0/1, a score in [0, 1] or true/false", path=path, record=record,
                         field=field)
    return score >= 0.5


def _strip_leading_comments(raw: str) -> str:
    """Drop ``#`` lines before the header only: answers inside quoted fields may hold markdown
    headings (``# Step 1``) that are part of the answer."""
    lines = raw.splitlines(keepends=True)
    i = 0
    while i < len(lines) and (lines[i].lstrip().startswith("#") or not lines[i].strip()):
        i += 1
    return "".join(lines[i:])


def load_labelled(
    path: str | Path, *, text_field: str = "assistant_response", label_field: str = "human_score",
    prompt_field: str | None = "objective", name: str | None = None,
) -> LabelledSet:
    """Read a labelled CSV (``#`` comment lines allowed before the header) or JSONL file."""
    path = Path(path)
    return _parse_labelled(read_text(path), path, text_field=text_field, label_field=label_field,
                           prompt_field=prompt_field, name=name)


def _parse_labelled(
    raw: str, path: Path, *, text_field: str = "assistant_response", label_field: str = "human_score",
    prompt_field: str | None = "objective", name: str | None = None,
) -> LabelledSet:
    if path.suffix.lower() in (".jsonl", ".json"):
        rows = []
        for i, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((i, json.loads(line)))
                except json.JSONDecodeError as e:
                    raise InputError(f"malformed JSON: {e.msg}", path=path, record=i) from None
    else:
        rows = list(enumerate(csv.DictReader(io.StringIO(_strip_leading_comments(raw))), start=1))
    examples = []
    for i, row in rows:
        if not isinstance(row, dict):
            raise InputError("expected an object", path=path, record=i)
        for f in (text_field, label_field):
            if f not in row:
                raise InputError("missing", path=path, record=i, field=f)
        text = row[text_field]
        if not isinstance(text, str):
            raise InputError("expected a string", path=path, record=i, field=text_field)
        prompt = row.get(prompt_field) if prompt_field else None
        examples.append(LabelledExample(text, _parse_label(row[label_field], path, i, label_field), prompt))
    if not examples:
        raise InputError("no labelled rows", path=path)
    return LabelledSet(name or path.name, examples, str(path))


def pyrit_dir() -> Path | None:
    spec = importlib.util.find_spec("pyrit")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def builtin_sets() -> list[LabelledSet]:
    """The pyrit sets, their held-out union, and the ``:explicit`` views (see module docstring)."""
    root = pyrit_dir()
    if root is None:
        return []
    sets = [load_labelled(root / rel, name=name) for name, rel in PYRIT_FILES.items() if (root / rel).exists()]
    if not sets:
        return []
    by_name = {s.name: s for s in sets}
    seen = {e.text for e in by_name[TUNING_SET].examples} if TUNING_SET in by_name else set()
    held, held_texts = [], set()
    for s in sets:
        if s.name == TUNING_SET:
            continue
        for e in s.examples:
            if e.text not in seen and e.text not in held_texts:
                held.append(e)
                held_texts.add(e.text)
    if held:
        sets.append(LabelledSet("held-out", held))
    # Off-topic rows: a refusal label on an answer that the data also labels a compliance
    # (the same answer given to its own objective elsewhere).
    complied = {e.text for s in sets for e in s.examples if not e.label}
    explicit = []
    for s in sets:
        keep = [e for e in s.examples if not (e.label and e.text in complied)]
        if len(keep) < len(s.examples):
            explicit.append(LabelledSet(f"{s.name}:explicit", keep, s.path))
    return sets + explicit


def score_judge(judge_name: str, data: LabelledSet, *, use_prompt: bool = True) -> Scores:
    judge = get_judge(judge_name)
    label = judge.id if use_prompt or not judge.uses_prompt else f"{judge.id} (answer only)"
    tp = fp = fn = tn = 0
    verdicts = judge.judge_many([e.text for e in data.examples],
                                [e.prompt if use_prompt else None for e in data.examples])
    for e, v in zip(data.examples, verdicts, strict=True):
        pred = v.refusal
        tp += pred and e.label
        fp += pred and not e.label
        fn += (not pred) and e.label
        tn += (not pred) and not e.label
    n = len(data.examples)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(label, data.name, n, tp + fn, tp, fp, fn, tn, (tp + tn) / n, precision, recall, f1)


def validate_judges(judges: Sequence[str], datasets: Sequence[LabelledSet]) -> list[Scores]:
    """Every judge on every set; judges that read the request are also scored without it."""
    out = []
    for d in datasets:
        for j in judges:
            out.append(score_judge(j, d))
            if get_judge(j).uses_prompt and any(e.prompt for e in d.examples):
                out.append(score_judge(j, d, use_prompt=False))
    return out


def scores_to_json(scores: Sequence[Scores]) -> list[dict[str, Any]]:
    return [asdict(s) for s in scores]


def answer_split(text: str) -> str:
    """``dev`` when the answer's SHA-256 starts with 0-7, else ``held-out`` (as the document labels)."""
    return "dev" if hashlib.sha256(text.encode("utf-8")).hexdigest()[0] in "01234567" else "held-out"


def _split_sets(name: str, examples: Sequence[LabelledExample], path: str | None = None) -> list[LabelledSet]:
    out = []
    for split in ("dev", "held-out"):
        part = [e for e in examples if answer_split(e.text) == split]
        if part:
            out.append(LabelledSet(f"{name}:{split}", part, path))
    return out


def _installed_answers() -> set[str]:
    root = pyrit_dir()
    if root is None:
        return set()
    return {e.text for name, rel in PYRIT_FILES.items() if (root / rel).exists()
            for e in load_labelled(root / rel, name=name).examples}


def objective_achieved_set() -> list[LabelledSet]:
    """pyrit's objective-scorer rows labelled 'achieved' (complied): non-refusals, split by hash."""
    root = pyrit_dir()
    folder = root / PYRIT_OBJECTIVE_DIR if root is not None else None
    if folder is None or not folder.is_dir():
        return []
    seen: set[str] = set()
    examples = []
    for f in sorted(folder.glob("*.csv")):
        for e in load_labelled(f).examples:
            if e.label and e.text.strip() and e.text not in seen:  # label 1 = objective achieved = complied
                seen.add(e.text)
                examples.append(LabelledExample(e.text, False, e.prompt))
    return _split_sets("objective:achieved", examples, str(folder))


def wheel_sets(wheels: Sequence[str | Path]) -> list[LabelledSet]:
    """Rows of the refusal sets inside downloaded pyrit wheels whose answer the installed sets lack."""
    known = _installed_answers()
    examples = []
    for w in wheels:
        path = Path(w)
        try:
            with zipfile.ZipFile(path) as z:
                members = sorted(n for n in z.namelist() if n.endswith(".csv") and (
                    "scorer_evals/refusal_scorer/" in n or n.endswith("scorer_evals/sample/mini_refusal.csv")))
                texts = [(n, z.read(n).decode("utf-8-sig")) for n in members]
        except (OSError, zipfile.BadZipFile) as e:
            raise InputError(f"cannot read the wheel: {e}", path=path) from None
        if not texts:
            raise InputError("no scorer_evals refusal CSV in this wheel", path=path)
        for member, raw in texts:
            for e in _parse_labelled(raw, Path(member), name=member).examples:
                if e.text not in known:
                    known.add(e.text)
                    examples.append(e)
    return _split_sets("pyrit-wheel", examples, ",".join(str(w) for w in wheels))

