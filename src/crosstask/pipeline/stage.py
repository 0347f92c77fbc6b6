"""Content-keyed, resumable stages in a store shared by the experiments of one output root.

A stage's key is a hash of what it depends on: its kind and code version, its config slice,
and the keys of the stages it reads. Its output lives in ``<store>/<kind>/<slug>-<short key>/``
(``train/mixed-n10-smollm2-135m-instruct-7d400d65``): the slug says what the stage is, for people;
the full key, in the folder's ``_stage.json``, is what a lookup matches, so two experiments that
name the same stage differently still share it. A folder is only ever created by renaming a
finished work folder, so a folder that exists is complete. An interrupted stage leaves
``<kind>/.<key>.partial/`` behind; the next run hands that folder back to the stage with
``resume=True`` (training resumes from its own checkpoints there). A config change alters only
the keys of the stages it reaches.

Finished stages of the old layout (``runs/<experiment>/stages/<kind>/<key>/``, hash-only names)
are found too, and moved into the store when a run uses them, never recomputed.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from crosstask.io import read_json, stable_hash, write_json
from crosstask.paths import slugify

__all__ = ["DONE_FILE", "Found", "Stage", "StageContext", "StageOutput", "StageStore", "slugify"]

DONE_FILE = "_stage.json"
SHORT_KEY = 8  # hex digits of the key in a folder name; the full key is matched in DONE_FILE
Status = Literal["cached", "resume", "run"]


@dataclass
class StageOutput:
    """A finished stage: where its files are and the summary its action returned."""

    name: str
    kind: str
    key: str
    dir: Path
    summary: dict[str, Any]


@dataclass
class StageContext:
    stage: Stage
    work_dir: Path  # write here; it becomes the output folder when the action returns
    resume: bool  # the work folder holds what an interrupted run left
    deps: dict[str, StageOutput]  # upstream outputs by stage name

    def dep(self, kind: str) -> StageOutput:
        """The single upstream output of a kind (e.g. ``ctx.dep("defense")``)."""
        found = [d for d in self.deps.values() if d.kind == kind]
        if len(found) != 1:
            raise KeyError(f"stage {self.stage.name} has {len(found)} upstream stages of kind {kind!r}")
        return found[0]


Action = Callable[[StageContext], dict[str, Any] | None]


@dataclass
class Stage:
    kind: str  # documents | testset | defense | train | eval
    name: str  # unique in a run, e.g. "train/mixed-n10"
    inputs: dict[str, Any]  # the config slice the output depends on (JSON-able)
    action: Action
    deps: tuple[str, ...] = ()
    version: str = "1"  # bump when the stage's code or output format changes
    meta: dict[str, Any] = field(default_factory=dict)  # labels for the plan/report; not hashed
    key: str = ""
    slug: str = ""  # what the stage is, readable (its folder's name before the short key); not hashed

    def compute_key(self, dep_keys: list[str]) -> str:
        self.key = stable_hash(
            {"kind": self.kind, "version": self.version, "inputs": self.inputs, "deps": sorted(dep_keys)}
        )
        return self.key

    @property
    def folder_name(self) -> str:
        short = self.key[:SHORT_KEY]
        return f"{self.slug}-{short}" if self.slug else short


@dataclass(frozen=True)
class Found:
    """Where a stage's finished output was found, and by whom it was made."""

    dir: Path
    old_layout: bool  # a hash-only folder of the old per-experiment layout (moved when a run uses it)
    experiment: str | None  # the experiment that ran it (None: not recorded)


class StageStore:
    """The stage folder shared by the experiments of one output root: finished outputs by kind,
    plus partial work. ``old_roots`` are stage folders of the old layout to look in as well (an
    experiment's former ``runs/<name>/stages``); ``manifest`` is a run folder's ``stages.json``
    (the stages it used, by key), so a run folder moved away from its store still finds them."""

    def __init__(self, root: Path, *, old_roots: Iterable[Path] = (), manifest: Path | None = None,
                 experiment: str | None = None):
        self.root = Path(root)
        self.old_roots = [Path(r) for r in old_roots if Path(r) != self.root]
        self.experiment = experiment
        self._manifest = _read_manifest(manifest)  # read once: the run rewrites it as stages finish

    def new_dir(self, stage: Stage) -> Path:
        """Where the stage's output goes in this store (the full key where a short one is taken)."""
        path = self.root / stage.kind / stage.folder_name
        if (path / DONE_FILE).exists() and _key_of(path) != stage.key:
            return path.with_name(f"{stage.slug}-{stage.key}" if stage.slug else stage.key)
        return path

    def find(self, stage: Stage) -> Found | None:
        """The finished output of ``stage``, wherever it is: its own folder, a folder of the same key
        under another name, the run folder's manifest, or the old layout."""
        kind_dir = self.root / stage.kind
        candidates = [self.new_dir(stage), *sorted(kind_dir.glob(f"*-{stage.key[:SHORT_KEY]}")),
                      *sorted(kind_dir.glob(f"*-{stage.key}")), *self._manifest_dirs(stage)]
        for path in candidates:
            if (path / DONE_FILE).exists() and _key_of(path) == stage.key:
                return Found(path, False, _done(path).get("experiment"))
        for root in (self.root, *self.old_roots):
            path = root / stage.kind / stage.key
            if (path / DONE_FILE).exists():
                return Found(path, True, None)
        return None

    def _manifest_dirs(self, stage: Stage) -> list[Path]:
        return [Path(e["dir"]) for e in self._manifest if e.get("key") == stage.key]

    def final_dir(self, stage: Stage) -> Path:
        """The folder of the stage's finished output: where it is, else where it will be."""
        found = self.find(stage)
        return found.dir if found is not None and not found.old_layout else self.new_dir(stage)

    def partial_dir(self, stage: Stage) -> Path:
        return self.root / stage.kind / f".{stage.key}.partial"

    def _old_partial(self, stage: Stage) -> Path | None:
        for root in self.old_roots:
            path = root / stage.kind / f".{stage.key}.partial"
            if path.exists():
                return path
        return None

    def status(self, stage: Stage) -> Status:
        if self.find(stage) is not None:
            return "cached"
        if self.partial_dir(stage).exists() or self._old_partial(stage) is not None:
            return "resume"
        return "run"

    def load(self, stage: Stage) -> StageOutput:
        """The finished output; one of the old layout is moved into the store first."""
        found = self.find(stage)
        if found is None:
            raise FileNotFoundError(f"stage {stage.name} ({stage.key}) is not finished")
        path = self._adopt(found.dir, self.new_dir(stage)) if found.old_layout else found.dir
        return StageOutput(stage.name, stage.kind, stage.key, path, _done(path).get("summary") or {})

    def _adopt(self, old: Path, new: Path) -> Path:
        """Move a folder of the old layout to its place in the store (left where it is if it cannot move)."""
        try:
            new.parent.mkdir(parents=True, exist_ok=True)
            if new.exists():  # a stale folder without its done-marker
                shutil.rmtree(new)
            shutil.move(str(old), str(new))
            return new
        except OSError:
            return old

    def execute(self, stage: Stage, deps: dict[str, StageOutput]) -> StageOutput:
        """Run the stage's action in its work folder, then publish the folder by renaming it."""
        work = self.partial_dir(stage)
        old = self._old_partial(stage)
        if old is not None and not work.exists():  # an interrupted stage of the old layout resumes here
            work = self._adopt(old, work)
        resume = work.exists()
        work.mkdir(parents=True, exist_ok=True)
        started = time.time()
        summary = stage.action(StageContext(stage, work, resume, deps)) or {}
        write_json(
            work / DONE_FILE,
            {
                "name": stage.name, "kind": stage.kind, "key": stage.key, "version": stage.version,
                "inputs": stage.inputs, "deps": {n: deps[n].key for n in stage.deps}, "summary": summary,
                "seconds": round(time.time() - started, 3), "resumed": resume, "experiment": self.experiment,
            },
        )
        final = self.new_dir(stage)
        if final.exists():  # a stale folder without its done-marker (e.g. copied by hand)
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, final)
        return StageOutput(stage.name, stage.kind, stage.key, final, summary)


def _read_manifest(path: Path | None) -> list[dict[str, Any]]:
    if path is None or not path.exists():
        return []
    try:
        entries = read_json(path)
    except Exception:  # a damaged manifest only loses this shortcut
        return []
    if not isinstance(entries, dict):
        return []
    return [e for e in entries.values() if isinstance(e, dict) and isinstance(e.get("dir"), str)]


def _done(path: Path) -> dict[str, Any]:
    try:
        data = read_json(path / DONE_FILE)
    except Exception:  # unreadable: treated as not finished by the key check
        return {}
    return data if isinstance(data, dict) else {}


def _key_of(path: Path) -> str | None:
    return _done(path).get("key")
