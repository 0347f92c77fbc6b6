"""The stage graph of an experiment: which stages exist, what each depends on, their keys.

documents -> defense/<model> -> train/<model> -> eval/<model>, and documents -> testset -> eval/*.
Recipe ``none`` (the undefended base model) has no defense or train stage. Building a plan
loads no model and never touches the hub, so ``--dry-run`` is quick and safe offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.document import LABELS
from crosstask.errors import CrosstaskError
from crosstask.paths import model_slug, slugify
from crosstask.pipeline.experiment_config import ExperimentConfig, ModelGridEntry, SourceConfig
from crosstask.pipeline.stage import Action, Stage, StageStore, Status

# The code/format version of each stage kind, part of every key: bump one when that stage's
# output changes for the same config, so finished outputs of the old code are not reused.
STAGE_VERSIONS: dict[str, str] = {"documents": "1", "testset": "2", "defense": "2", "train": "1", "guard": "1",
                                  "eval": "2"}
UNTRAINED = ("none", "system-prompt", "input-guard")  # recipes without an adapter


@dataclass(frozen=True)
class ModelSpec:
    """One model of the experiment: a defense recipe at one N (or the base model)."""

    id: str  # file-safe, e.g. "mixed-n10" or "mixed-n10-sens2"
    recipe: str  # none | single:<task> | mixed | system-prompt | input-guard
    n: int  # malicious documents per task (0 for none and system-prompt)
    variant: str | None = None  # the grid entry's name
    builder: Mapping[str, Any] = field(default_factory=dict)  # defense.builder with the entry's overrides, as given
    train: Mapping[str, Any] = field(default_factory=dict)  # train with the entry's overrides, as given
    stacked: tuple[str, ...] = ()  # guards stacked on a fine-tuned recipe

    @property
    def guards(self) -> tuple[str, ...]:
        """The defenses without training this model is evaluated with (system-prompt, input-guard)."""
        return (self.recipe,) if self.recipe in ("system-prompt", "input-guard") else self.stacked

    @property
    def trained(self) -> bool:
        return self.recipe not in UNTRAINED

    @property
    def family(self) -> str:
        base = self.recipe if self.variant is None else f"{self.recipe} {self.variant}"
        return base + "".join(f" + {g}" for g in self.stacked)

    @property
    def label(self) -> str:
        if self.recipe == "none":
            return "undefended"
        if self.recipe == "system-prompt":
            return "system-prompt"
        return (f"{self.recipe} N={self.n}" + (f" ({self.variant})" if self.variant else "")
                + "".join(f" + {g}" for g in self.stacked))


def expand_models(config: ExperimentConfig) -> list[ModelSpec]:
    """The model grid: ``single:*`` expands to one family per defense task; duplicates drop."""
    out: list[ModelSpec] = []
    seen: set[str] = set()
    for entry in config.models:
        recipes = (
            [f"single:{t}" for t in config.defense.tasks] if entry.recipe == "single:*" else [entry.recipe]
        )
        builder = config.builder_of(entry).given()
        train = config.train_of(entry).given()
        for recipe in recipes:
            for n in entry.ns() or [0]:
                mid = {"none": "base", "system-prompt": "system-prompt"}.get(recipe, f"{recipe.replace(':', '-')}-n{n}")
                mid += "".join(f"-{g}" for g in entry.guards)
                mid += f"-{entry.name}" if entry.name else ""
                if mid not in seen:
                    seen.add(mid)
                    out.append(ModelSpec(mid, recipe, n, entry.name, builder, train, tuple(entry.guards)))
    return out


@dataclass
class Plan:
    config: ExperimentConfig
    stages: list[Stage]
    models: list[ModelSpec]
    store: StageStore
    statuses: dict[str, Status] = field(default_factory=dict)

    def by_name(self) -> dict[str, Stage]:
        return {s.name: s for s in self.stages}

    def refresh(self) -> dict[str, Status]:
        self.statuses = {s.name: self.store.status(s) for s in self.stages}
        return self.statuses

    def rows(self) -> list[dict[str, Any]]:
        """Every stage: name, key, status, dependencies, folder, and where a finished one came from
        (``made_by``: the experiment that ran it; ``old_layout``: found in the old layout, moved on run)."""
        self.refresh()
        rows = []
        for s in self.stages:
            found = self.store.find(s)
            rows.append({
                "stage": s.name,
                "kind": s.kind,
                "key": s.key,
                "status": self.statuses[s.name],
                "depends_on": list(s.deps),
                "dir": str(found.dir if found is not None and not found.old_layout else self.store.new_dir(s)),
                "folder": f"{s.kind}/{s.folder_name}",
                "made_by": found.experiment if found is not None else None,
                "old_layout": bool(found and found.old_layout),
            })
        return rows


# The label a source kind gives its documents when the source names none (the kinds not listed
# take it from each record, so their counts per label are not known before loading).
_KIND_LABELS = {"advbench": "malicious", "harmbench": "malicious", "donotanswer": "malicious",
                "harvest": "malicious", "harvest-counterparts": "sensitive-benign", "generated-news": "benign",
                "generated-sensitive": "sensitive-benign", "alpaca": "benign"}


def _source_label(source: SourceConfig) -> str | None:
    if source.label is not None:
        return source.label
    if source.kind == "beavertails":
        return "sensitive-benign" if source.options.get("hand_labels") == "harmless" else "malicious"
    return _KIND_LABELS.get(source.kind)


def _source_bound(source: SourceConfig) -> int | None:
    """The most documents a source can give, where the config fixes it (``limit``, a generated
    source's ``n``, a harvest's goal ``limit``); None when only loading it would tell."""
    bounds = [source.limit]
    if source.kind.startswith("generated-"):
        bounds.append(source.options.get("n"))
    goals = source.options.get("goals")
    if source.kind == "harvest" and isinstance(goals, dict):
        bounds.append(goals.get("limit"))
    known = [b for b in bounds if isinstance(b, int) and not isinstance(b, bool) and b >= 0]
    return min(known) if known else None


def document_bounds(config: ExperimentConfig) -> dict[str, int | None]:
    """Per label, the most documents ``documents.sources`` can give (None: not known before loading).
    Harvested documents can be fewer (refusals and near-duplicates are dropped): these are upper bounds."""
    bounds: dict[str, int | None] = dict.fromkeys(LABELS, 0)
    for source in config.documents.sources:
        label, bound = _source_label(source), _source_bound(source)
        for lab in LABELS if label is None else [label]:
            if bound is None or label is None:
                bounds[lab] = None
            elif bounds[lab] is not None:
                bounds[lab] = bounds[lab] + bound  # type: ignore[operator]
    return bounds


def check_sources(config: ExperimentConfig, where: str = "config", *, test_sources: bool = True) -> None:
    """Refuse, before any stage runs, a source the documents (or testset) stage could not load: an
    unknown kind, or bad options of a generating kind (harvest, generated-news, ...), checked without
    loading a model."""
    from crosstask.data.harvest.harvest_settings import SOURCE_EXTRA_OPTIONS, check_source_options
    from crosstask.data.sources.registry import SOURCES

    groups = [("documents.sources", config.documents.sources)]
    if test_sources:
        groups.append(("documents.test_sources", config.documents.test_sources))
    missing = []
    for key, sources in groups:
        for i, source in enumerate(sources):
            if source.kind not in SOURCES:
                raise CrosstaskError(f"{where}: {key}.{i}.kind: {SOURCES.unknown_message(source.kind)}")
            if source.kind in SOURCE_EXTRA_OPTIONS:
                try:
                    check_source_options(source.kind, source.options)
                except ValueError as e:
                    raise CrosstaskError(f"{where}: {key}.{i}.{e}") from None
            # a hub dataset's path may be a dataset id; every other kind reads a local file or folder
            if source.path is not None and source.kind not in _HUB_KINDS and not Path(source.path).exists():
                missing.append(f"{key}.{i}.path: {source.path}: no such file or folder")
    # the defense builder's extra files (safety, general instructions), shared or a model's own
    builders = [("defense.builder", config.defense.builder)] + [
        (f"models.{i}.builder", config.builder_of(e)) for i, e in enumerate(config.models) if e.recipe != "none"]
    named: set[str] = set()
    for key, builder in builders:
        for extra in ("safety", "general"):
            source = getattr(builder, extra)
            if source is not None and source.path not in named and not Path(source.path).expanduser().exists():
                named.add(source.path)
                missing.append(f"{key}.{extra}.path: {source.path}: no such file")
    model = config.model.name
    if _looks_local(model) and not Path(model).expanduser().exists():
        missing.append(f"model.name: {model}: no such model folder")
    if missing:  # every missing file at once: a user fixing paths should not rerun once per file
        raise CrosstaskError(f"{where}: " + "; ".join(missing))


_HUB_KINDS = {"hf"}


def _looks_local(name: str) -> bool:
    """A model name written as a path (a hub id or a registered name is checked when it is loaded)."""
    return name.startswith(("/", "./", "../", "~")) or name.endswith(("/", ".gguf"))


def check_counts(config: ExperimentConfig, where: str = "config") -> None:
    """Refuse, before any stage runs, an experiment whose held-out counts or N cannot be met by its
    documents, where the config fixes how many there can be (see :func:`document_bounds`)."""
    bounds = document_bounds(config)
    left: dict[str, int | None] = {}
    for label in LABELS:
        bound, held = bounds[label], config.documents.heldout.count(label)
        key = label.replace("-", "_")
        if bound is not None and held > bound:
            raise CrosstaskError(f"{where}: documents.heldout.{key}: {held} held out, but the sources give at most "
                                 f"{bound} {label} documents")
        left[label] = None if bound is None else bound - held
    for i, entry in enumerate(config.models):
        if entry.recipe == "none":
            continue
        builder = config.builder_of(entry)
        if builder.allow_fewer:
            continue
        for n in entry.ns():
            needs = [("malicious", n, f"models.{i}.n", "n")]
            for label, prefix in (("benign", "benign"), ("sensitive-benign", "sensitive")):
                per_task, ratio = getattr(builder, f"{prefix}_per_task"), getattr(builder, f"{prefix}_ratio")
                count = per_task if ratio is None else math.ceil(ratio * n)
                key = f"{prefix}_per_task" if ratio is None else f"{prefix}_ratio"
                needs.append((label, count, _builder_key(entry, i, key), key))
            for label, need, key, _ in needs:
                have = left[label]
                if have is not None and need > have:
                    raise CrosstaskError(
                        f"{where}: {key}: needs {need} {label} documents per task for training (N={n}), but the "
                        f"sources give at most {bounds[label]} and {config.documents.heldout.count(label)} are held "
                        f"out, leaving {have}; lower it, add documents, or set defense.builder.allow_fewer")


def _builder_key(entry: ModelGridEntry, i: int, key: str) -> str:
    return f"models.{i}.builder.{key}" if key in entry.builder.given() else f"defense.builder.{key}"


def _model_inputs(config: ExperimentConfig) -> dict[str, Any]:
    return config.model.model_dump()


def _kinds_slug(words: list[str]) -> str:
    """Up to three distinct words (source kinds, set names) and how many more."""
    unique = list(dict.fromkeys(words))
    more = f"{len(unique) - 3}more" if len(unique) > 3 else ""
    return slugify(*unique[:3], more)


def build_plan(config: ExperimentConfig, store: StageStore, actions: Mapping[str, Action]) -> Plan:
    """Lay out the stages of ``config`` and compute their keys (upstream first)."""
    from crosstask.data.harvest.refusal_filter import filter_id
    from crosstask.judges import get_judge

    seed = config.seed
    judge_ids = [get_judge(name).id for name in config.eval.options.judges]
    stages: list[Stage] = []
    documents = Stage(
        kind="documents",
        name="documents",
        inputs={
            "sources": [s.to_spec() for s in config.documents.sources],
            "heldout": config.documents.heldout.model_dump(),
            "seed": seed,
            **filter_id([s.kind for s in config.documents.sources]),
        },
        action=actions["documents"],
    )
    testset = Stage(
        kind="testset",
        name="testset",
        inputs={
            "test_sources": [{"spec": s.to_spec(), "set": s.set} for s in config.documents.test_sources],
            "evaluate_heldout": config.documents.evaluate_heldout,
            **filter_id([s.kind for s in config.documents.test_sources]),
        },
        action=actions["testset"],
        deps=("documents",),
    )
    stages += [documents, testset]
    models = expand_models(config)
    for m in models:
        eval_deps: list[str] = ["testset"]
        if m.recipe not in ("none", "system-prompt"):
            defense = Stage(
                kind="defense",
                name=f"defense/{m.id}",
                inputs={
                    # the input guard learns from the documents of a mixed defense dataset
                    "recipe": "mixed" if m.recipe == "input-guard" else m.recipe,
                    "n": m.n,
                    "tasks": config.defense.tasks,
                    "builder": dict(m.builder),
                    "model": _model_inputs(config),
                    "seed": seed,
                },
                action=actions["defense"],
                deps=("documents",),
                meta={"model": m},
            )
            stages.append(defense)
        if m.trained:
            train = Stage(
                kind="train",
                name=f"train/{m.id}",
                inputs={"train": dict(m.train), "model": _model_inputs(config), "seed": seed},
                action=actions["train"],
                deps=(defense.name,),
                meta={"model": m},
            )
            stages.append(train)
            eval_deps.append(train.name)
        if "input-guard" in m.guards:
            guard = Stage(kind="guard", name=f"guard/{m.id}", inputs={"seed": seed}, action=actions["guard"],
                          deps=(defense.name,), meta={"model": m})
            stages.append(guard)
            eval_deps.append(guard.name)
        stages.append(
            Stage(
                kind="eval",
                name=f"eval/{m.id}",
                # the judges' versioned ids: a new judge version changes verdicts, so it is a new stage
                inputs={"eval": {"tasks": config.eval.tasks, "options": config.eval.options.given()},
                        "judges": judge_ids, "model": _model_inputs(config), "seed": seed,
                        # only when there are guards, so the keys of every other eval stage stay as they were
                        **({"guards": list(m.guards)} if m.guards else {})},
                action=actions["eval"],
                deps=tuple(eval_deps),
                meta={"model": m},
            )
        )
    by_name = {s.name: s for s in stages}
    model = model_slug(config.model.name)
    documents.slug = _kinds_slug([s.kind for s in config.documents.sources])
    testset.slug = _kinds_slug((["heldout"] if config.documents.evaluate_heldout else [])
                               + [(s.set or s.kind).split(":")[-1] for s in config.documents.test_sources])
    for s in stages:  # stages are listed upstream first
        s.version = STAGE_VERSIONS[s.kind]
        s.compute_key([by_name[d].key for d in s.deps])
        if "model" in s.meta:
            s.slug = slugify(s.meta["model"].id, model)
    plan = Plan(config, stages, models, store)
    plan.refresh()
    return plan
