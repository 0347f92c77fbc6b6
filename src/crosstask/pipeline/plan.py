"""The stage graph of an experiment: which stages exist, what each depends on, their keys.

documents -> defense/<model> -> train/<model> -> eval/<model>, and documents -> testset -> eval/*.
Recipe ``none`` (the undefended base model) has no defense or train stage. Building a plan
loads no model and never touches the hub, so ``--dry-run`` is quick and safe offline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crosstask.pipeline.experiment_config import ExperimentConfig
from crosstask.pipeline.stage import Action, Stage, StageStore, Status

# The code/format version of each stage kind, part of every key: bump one when that stage's
# output changes for the same config, so finished outputs of the old code are not reused.
STAGE_VERSIONS: dict[str, str] = {"documents": "1", "testset": "2", "defense": "2", "train": "1", "eval": "2"}


@dataclass(frozen=True)
class ModelSpec:
    """One model of the experiment: a defense recipe at one N (or the base model)."""

    id: str  # file-safe, e.g. "mixed-n10" or "mixed-n10-sens2"
    recipe: str  # none | single:<task> | mixed
    n: int  # malicious documents per task (0 for none)
    variant: str | None = None  # the grid entry's name
    builder: Mapping[str, Any] = field(default_factory=dict)  # defense.builder with the entry's overrides, as given
    train: Mapping[str, Any] = field(default_factory=dict)  # train with the entry's overrides, as given

    @property
    def family(self) -> str:
        return self.recipe if self.variant is None else f"{self.recipe} {self.variant}"

    @property
    def label(self) -> str:
        if self.recipe == "none":
            return "undefended"
        return f"{self.recipe} N={self.n}" + (f" ({self.variant})" if self.variant else "")


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
                mid = "base" if recipe == "none" else f"{recipe.replace(':', '-')}-n{n}"
                mid += f"-{entry.name}" if entry.name else ""
                if mid not in seen:
                    seen.add(mid)
                    out.append(ModelSpec(mid, recipe, n, entry.name, builder, train))
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
        self.refresh()
        return [
            {
                "stage": s.name,
                "kind": s.kind,
                "key": s.key,
                "status": self.statuses[s.name],
                "depends_on": list(s.deps),
                "dir": str(self.store.final_dir(s)),
            }
            for s in self.stages
        ]


def _model_inputs(config: ExperimentConfig) -> dict[str, Any]:
    return config.model.model_dump()


def build_plan(config: ExperimentConfig, store: StageStore, actions: Mapping[str, Action]) -> Plan:
    """Lay out the stages of ``config`` and compute their keys (upstream first)."""
    seed = config.seed
    stages: list[Stage] = []
    documents = Stage(
        kind="documents",
        name="documents",
        inputs={
            "sources": [s.to_spec() for s in config.documents.sources],
            "heldout": config.documents.heldout.model_dump(),
            "seed": seed,
        },
        action=actions["documents"],
    )
    testset = Stage(
        kind="testset",
        name="testset",
        inputs={
            "test_sources": [{"spec": s.to_spec(), "set": s.set} for s in config.documents.test_sources],
            "evaluate_heldout": config.documents.evaluate_heldout,
        },
        action=actions["testset"],
        deps=("documents",),
    )
    stages += [documents, testset]
    models = expand_models(config)
    for m in models:
        eval_deps: list[str] = ["testset"]
        if m.recipe != "none":
            defense = Stage(
                kind="defense",
                name=f"defense/{m.id}",
                inputs={
                    "recipe": m.recipe,
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
            train = Stage(
                kind="train",
                name=f"train/{m.id}",
                inputs={"train": dict(m.train), "model": _model_inputs(config), "seed": seed},
                action=actions["train"],
                deps=(defense.name,),
                meta={"model": m},
            )
            stages += [defense, train]
            eval_deps.append(train.name)
        stages.append(
            Stage(
                kind="eval",
                name=f"eval/{m.id}",
                inputs={"eval": {"tasks": config.eval.tasks, "options": config.eval.options.given()},
                        "model": _model_inputs(config), "seed": seed},
                action=actions["eval"],
                deps=tuple(eval_deps),
                meta={"model": m},
            )
        )
    by_name = {s.name: s for s in stages}
    for s in stages:  # stages are listed upstream first
        s.version = STAGE_VERSIONS[s.kind]
        s.compute_key([by_name[d].key for d in s.deps])
    plan = Plan(config, stages, models, store)
    plan.refresh()
    return plan
