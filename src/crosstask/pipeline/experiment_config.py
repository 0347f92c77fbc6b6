"""The experiment config of ``crosstask run``: YAML, validated by pydantic, with ``extends``.

Every section forbids unknown keys, so a typo is an error that names its key path
(``configs/x.yaml: train.lora.r: Input should be a valid integer``) instead of a silently
ignored setting. Relative paths (``extends``, ``output_dir`` and every ``path``) are relative
to the file that names them, so a base config keeps working when another file extends it.

The stages' sections are the stages' own option types, composed by type: ``train:`` is a
:class:`~crosstask.training.TrainSection` (training options and a preset), ``defense.builder:``
a :class:`~crosstask.data.defense.DefenseOptions`, ``eval.options:`` an
:class:`~crosstask.evaluation.EvalOptions`, and a model's ``builder:``/``train:`` overrides
the same types, merged over the experiment's (deep merge of the keys given). A key the
experiment fills itself (``train.base_model``) is refused with where to set it instead
(``model.name``). Sections hold, and dump, only the keys given: the stage keys hash those.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from crosstask.config_model import ConfigModel, Given, deep_merge
from crosstask.data.defense.defense_config import DefenseOptions
from crosstask.document import set_label
from crosstask.errors import CrosstaskError, format_validation_error
from crosstask.evaluation.eval_config import EvalOptions
from crosstask.io import apply_assignments, read_yaml
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL
from crosstask.paths import RUNS_DIR, expand_path_vars
from crosstask.tasks import PAPER_TASKS, get_task
from crosstask.training.train_config import TrainConfig, TrainSection

Label = Literal["malicious", "benign", "sensitive-benign"]

__all__ = ["DocumentsConfig", "ExperimentConfig", "HeldoutConfig", "ModelConfig", "ModelGridEntry", "ReportConfig",
           "SourceConfig", "deep_merge", "experiment_or_none", "load_config", "load_raw", "validate"]


class ModelConfig(ConfigModel):
    """The base model every defense is trained from."""

    name: str = EMBEDDED_MODEL
    prompt_format: Literal["chat", "alpaca", "llama2"] = DEFAULT_PROMPT_FORMAT
    trust_remote_code: bool = False


class SourceConfig(ConfigModel):
    """One document source, as :func:`crosstask.data.sources.load_source` takes it."""

    kind: str
    label: Label | None = None
    # Evaluation set of an evaluation-only source: its label, optionally qualified
    # ("malicious:harmbench"); such sets are reported apart from the held-out ones.
    set: str | None = None
    path: str | None = None
    limit: int | None = Field(default=None, ge=0)
    options: dict[str, Any] = Field(default_factory=dict, description="kind-specific keys")

    @field_validator("set")
    @classmethod
    def _set(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                set_label(v)
            except CrosstaskError as e:
                raise ValueError(str(e).removeprefix("field 'set': ")) from None
        return v

    @model_validator(mode="after")
    def _label_of_set(self) -> SourceConfig:
        if self.set is not None:
            if self.label is not None and self.label != set_label(self.set):
                raise ValueError(f"label {self.label!r} does not match set {self.set!r}")
            self.label = set_label(self.set)  # type: ignore[assignment]
        return self

    def to_spec(self) -> dict[str, Any]:
        """The source spec for ``load_source`` (the evaluation set name is not part of it)."""
        spec: dict[str, Any] = {"kind": self.kind, **self.options}
        for key in ("label", "path", "limit"):
            if getattr(self, key) is not None:
                spec[key] = getattr(self, key)
        return spec


class HeldoutConfig(ConfigModel):
    """How many documents of each label are held out of training for evaluation."""

    malicious: int = Field(default=20, ge=0)
    benign: int = Field(default=20, ge=0)
    sensitive_benign: int = Field(default=0, ge=0)

    def count(self, label: str) -> int:
        return int(getattr(self, label.replace("-", "_")))


class DocumentsConfig(ConfigModel):
    sources: list[SourceConfig] = Field(min_length=1)
    heldout: HeldoutConfig = Field(default_factory=HeldoutConfig)
    # Evaluation-only documents (e.g. the paper's released files, goal sets or topics training never
    # saw), evaluated beside the held-out ones; give each a ``set`` name to report it on its own.
    test_sources: list[SourceConfig] = Field(default_factory=list)
    evaluate_heldout: bool = True


# Defenses without fine-tuning: recipes of their own, or stacked on a fine-tuned one (``guards``).
GUARD_RECIPES = ("system-prompt", "input-guard")


class ModelGridEntry(ConfigModel):
    """One defense family and its N sweep: ``{recipe: mixed, n: [2, 10]}``.

    ``recipe`` is ``none`` (the undefended base model), ``single:<task>``, ``single:*``
    (one family per defense task) or ``mixed``; or a defense without fine-tuning:
    ``system-prompt`` (the base model under a safety system prompt) or ``input-guard`` (the
    base model behind a classifier trained on the defense data of N documents per task). ``n``
    is the number of malicious documents per task (an int or a list: a sweep). ``guards`` adds
    those two to a fine-tuned recipe (``{recipe: mixed, n: 10, guards: [input-guard]}``).
    """

    recipe: str
    n: int | list[int] | None = None
    # A variant of the experiment's defense data or training for this family (a frontier sweep:
    # {recipe: mixed, n: 10, name: sens2, builder: {sensitive_ratio: 2}}); merged over
    # defense.builder and train, and named in the model id ("mixed-n10-sens2").
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    builder: Given[DefenseOptions] = Field(default_factory=DefenseOptions, description="overrides of defense.builder")
    train: Given[TrainSection] = Field(default_factory=TrainSection, description="overrides of train")
    guards: list[Literal["system-prompt", "input-guard"]] = Field(default_factory=list, description=(
        "defenses without training stacked on this recipe: system-prompt, input-guard"))

    @field_validator("recipe")
    @classmethod
    def _recipe(cls, v: str) -> str:
        if v in ("none", "mixed", "single:*", *GUARD_RECIPES):
            return v
        if v.startswith("single:"):
            _known_task(v.split(":", 1)[1])
            return v
        raise ValueError("recipe must be none, mixed, single:<task>, single:*, system-prompt or input-guard")

    @field_validator("n")
    @classmethod
    def _n(cls, v: int | list[int] | None) -> int | list[int] | None:
        values = [v] if isinstance(v, int) else (v or [])
        if any(x < 1 for x in values):
            raise ValueError("every N must be at least 1")
        return v

    @model_validator(mode="after")
    def _n_needed(self) -> ModelGridEntry:
        untrained = self.recipe in ("none", "system-prompt")
        if not untrained and self.n is None:
            raise ValueError(f"recipe {self.recipe!r} needs n (documents per task)")
        if untrained and (self.n is not None or self.builder.given() or self.train.given()):
            raise ValueError(f"recipe {self.recipe!r} trains nothing; remove n, builder and train")
        if self.recipe == "input-guard" and self.train.given():
            raise ValueError("recipe 'input-guard' fine-tunes nothing; remove train")
        if self.guards and self.recipe in ("none", *GUARD_RECIPES):
            raise ValueError("guards stack on a fine-tuned recipe (mixed, single:*); for the base model use "
                             "recipe system-prompt or input-guard")
        if len(set(self.guards)) != len(self.guards):
            raise ValueError("guards: each guard once")
        return self

    def ns(self) -> list[int]:
        return [self.n] if isinstance(self.n, int) else list(self.n or [])


def _known_task(name: str) -> None:
    try:
        get_task(name)
    except CrosstaskError as e:  # pydantic reports ValueErrors with their key path
        raise ValueError(str(e)) from None


def _check_tasks(tasks: list[str]) -> list[str]:
    for t in tasks:
        _known_task(t)
    if len(set(tasks)) != len(tasks):
        raise ValueError("tasks repeat")
    return tasks


class DefenseSection(ConfigModel):
    """What goes into each defense dataset besides its recipe and N (passed to the builder)."""

    tasks: list[str] = Field(default_factory=lambda: list(PAPER_TASKS))
    builder: Given[DefenseOptions] = Field(default_factory=DefenseOptions, description="options of the defense builder")

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        return _check_tasks(v)


class EvalSection(ConfigModel):
    tasks: list[str] = Field(default_factory=lambda: list(PAPER_TASKS))
    options: Given[EvalOptions] = Field(default_factory=EvalOptions, description="options of the evaluation")

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, v: list[str]) -> list[str]:
        return _check_tasks(v)


class ReportConfig(ConfigModel):
    samples_per_cell: int = Field(default=2, ge=0)
    max_sample_chars: int = Field(default=600, ge=50)


class ExperimentConfig(ConfigModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    seed: int = Field(default=0, ge=0)
    output_dir: str | None = None  # default: runs/<name> under the working directory
    # Where stage outputs are kept (default: the stages/ folder next to the run folder, runs/stages,
    # shared by every experiment of that output root). Keys are content hashes, so experiments
    # sharing a folder reuse each other's finished stages.
    stages_dir: str | None = None
    model: ModelConfig = Field(default_factory=ModelConfig)
    documents: DocumentsConfig
    defense: DefenseSection = Field(default_factory=DefenseSection)
    models: list[ModelGridEntry] = Field(min_length=1)
    train: Given[TrainSection] = Field(default_factory=TrainSection, description="training options and preset")
    eval: EvalSection = Field(default_factory=EvalSection)
    report: ReportConfig = Field(default_factory=ReportConfig)

    def output_path(self) -> Path:
        return Path(self.output_dir) if self.output_dir else (Path(RUNS_DIR) / self.name).resolve()

    def stages_path(self) -> Path:
        return Path(self.stages_dir) if self.stages_dir else self.output_path().parent / "stages"

    def old_stages_path(self) -> Path:
        """Where the stages of this experiment lived before the store was shared (looked up, never written)."""
        return self.output_path() / "stages"

    def builder_of(self, entry: ModelGridEntry) -> DefenseOptions:
        """``defense.builder`` with the entry's ``builder:`` overrides merged over it."""
        return self.defense.builder.merged(entry.builder)

    def train_of(self, entry: ModelGridEntry) -> TrainSection:
        """``train`` with the entry's ``train:`` overrides merged over it."""
        return self.train.merged(entry.train)

    def train_config(self, section: TrainSection | None = None, *, where: str = "config",
                     prefix: str = "train") -> TrainConfig:
        """The training config of a section (default: ``train``), with the model and seed filled in."""
        return (section or self.train).to_config(where=where, prefix=prefix,
                                                 **train_fields(self.model.model_dump(), self.seed))

    def eval_fields(self) -> dict[str, Any]:
        """The evaluation config's keys this experiment fills besides the documents and the adapter."""
        return {"tasks": list(self.eval.tasks), **eval_model_fields(self.model.model_dump(), self.seed)}


# The fields of each stage's config that the experiment fills from ``model:`` and ``seed``
# (the stage actions fill them from their inputs, `crosstask train|eval run --config` from the file).


def train_fields(model: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"base_model": model["name"], "prompt_format": model["prompt_format"],
            "trust_remote_code": model["trust_remote_code"], "seed": seed}


def defense_fields(model: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"reference_model": model["name"], "prompt_format": model["prompt_format"], "seed": seed}


def eval_model_fields(model: dict[str, Any], seed: int) -> dict[str, Any]:
    return {"model": model["name"], "prompt_format": model["prompt_format"], "seed": seed}


# ---------------------------------------------------------------------------------------------
# Loading: YAML -> extends (deep merge) -> paths resolved -> validated model


_PATH_KEYS = ("path", "output_dir", "stages_dir")


def _resolve_paths(obj: Any, root: Path, where: str = "config") -> Any:
    """Make every ``path``/``output_dir`` value absolute, relative to ``root`` (the file's folder), after
    expanding ``${VAR}``/``${VAR:-default}`` from the environment (``$CROSSTASK_DATA`` in the paper configs)."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in _PATH_KEYS and isinstance(v, str) and "${" in v:
                try:
                    v = expand_path_vars(v)
                except ValueError as e:
                    raise CrosstaskError(f"{where}: {k}: {v}: {e}") from None
            if k in _PATH_KEYS and isinstance(v, str) and v and not Path(v).expanduser().is_absolute():
                out[k] = str((root / Path(v).expanduser()).resolve())
            elif k in _PATH_KEYS and isinstance(v, str):
                out[k] = str(Path(v).expanduser())
            else:
                out[k] = _resolve_paths(v, root, where)
        return out
    if isinstance(obj, list):
        return [_resolve_paths(x, root, where) for x in obj]
    return obj


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CrosstaskError(f"{path}: config file not found")
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CrosstaskError(f"{path}: a config must be a mapping, got {type(data).__name__}")
    return data


def load_raw(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config file and everything it extends, merged, with paths made absolute."""
    path = Path(path).expanduser().resolve()
    if path in _seen:
        chain = " -> ".join(str(p) for p in (*_seen, path))
        raise CrosstaskError(f"{path}: extends itself ({chain})")
    data = _resolve_paths(_read_yaml(path), path.parent, str(path))
    parents = data.pop("extends", None)
    if parents is None:
        return data
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise CrosstaskError(f"{path}: extends: expected a file name or a list of them")
    merged: dict[str, Any] = {}
    for parent in parents:
        merged = deep_merge(merged, load_raw(path.parent / parent, (*_seen, path)))
    return deep_merge(merged, data)


def validate(raw: dict[str, Any], where: str = "config") -> ExperimentConfig:
    try:
        cfg = ExperimentConfig.model_validate(raw)
    except ValidationError as e:
        raise CrosstaskError(format_validation_error(e, where)) from None
    # Each section alone is valid; check what the stages will build from them (a preset and the
    # options over it, a model's overrides merged over the experiment's).
    cfg.train_config(where=where)
    for i, entry in enumerate(cfg.models):
        for name, merge in (("builder", cfg.builder_of), ("train", cfg.train_of)):
            if getattr(entry, name).given():
                try:
                    merged = merge(entry)
                except ValidationError as e:
                    raise CrosstaskError(format_validation_error(e, where, prefix=f"models.{i}.{name}")) from None
                if name == "train":
                    cfg.train_config(merged, where=where, prefix=f"models.{i}.train")
    return cfg


def experiment_or_none(path: str | Path) -> ExperimentConfig | None:
    """The experiment config in a YAML file (validated), or None when the file is not one (no
    ``extends``, ``documents`` or ``models``): stage commands accept either."""
    raw = read_yaml(path)
    if isinstance(raw, dict) and {"extends", "documents", "models"} & set(raw):
        return load_config(path)
    return None


def apply_overrides(raw: dict[str, Any], overrides: list[str], root: Path) -> dict[str, Any]:
    """``key.path=value`` assignments (value parsed as YAML; list items by index), as ``--set`` gives them."""
    # relative paths given on the command line: the working directory
    return _resolve_paths(apply_assignments(raw, overrides), root)


def load_config(
    config: str | Path | dict[str, Any] | ExperimentConfig, overrides: list[str] | None = None
) -> ExperimentConfig:
    """A path to a YAML file, a dict (paths relative to the working directory) or a config.

    ``overrides`` are ``key.path=value`` strings applied after ``extends`` (the CLI's ``--set``).
    """
    if isinstance(config, ExperimentConfig):
        if overrides:
            config = config.model_dump()
        else:
            return config
    if isinstance(config, dict):
        raw = copy.deepcopy(config)
        if "extends" in raw:
            parents = raw.pop("extends")
            base: dict[str, Any] = {}
            for parent in [parents] if isinstance(parents, str) else parents:
                base = deep_merge(base, load_raw(parent))
            raw = deep_merge(base, _resolve_paths(raw, Path.cwd()))
        else:
            raw = _resolve_paths(raw, Path.cwd())
        return validate(apply_overrides(raw, overrides or [], Path.cwd()), "config")
    path = Path(config)
    return validate(apply_overrides(load_raw(path), overrides or [], Path.cwd()), str(config))
