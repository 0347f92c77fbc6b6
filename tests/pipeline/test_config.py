"""Experiment configs: one-line errors with key paths, extends with deep merge and relative paths."""

from __future__ import annotations

import pytest
import yaml

from crosstask.errors import CrosstaskError
from crosstask.pipeline.experiment_config import deep_merge, load_config


def write(path, data) -> str:
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def minimal() -> dict:
    return {"name": "x", "documents": {"sources": [{"kind": "advbench", "label": "malicious"}]},
            "models": [{"recipe": "none"}]}


def error_of(config) -> str:
    with pytest.raises(CrosstaskError) as e:
        load_config(config)
    msg = str(e.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"train": {"lora_r": "eight"}}, "x.yaml: train.lora_r: Input should be a valid integer"),
        ({"train": {"lora_rank": 8}}, "x.yaml: train.lora_rank: unknown key"),
        ({"train": {"base_model": "m"}}, "x.yaml: train.base_model: set by the experiment; use model.name instead"),
        ({"train": {"preset": "gpu9"}}, "x.yaml: train.preset: unknown preset 'gpu9'"),
        ({"models": [{"recipe": "mixed"}]}, "x.yaml: models.0: recipe 'mixed' needs n"),
        ({"models": [{"recipe": "single:poetry", "n": 3}]}, "x.yaml: models.0.recipe: unknown task 'poetry'"),
        ({"models": [{"recipe": "mixed", "n": [10, 0]}]}, "x.yaml: models.0.n: every N must be at least 1"),
        ({"seeed": 1}, "x.yaml: seeed: unknown key"),
        ({"documents": {"sources": [{"kind": "advbench", "label": "evil"}]}}, "x.yaml: documents.sources.0.label: Input"),
        ({"model": {"prompt_format": "vicuna"}}, "x.yaml: model.prompt_format: Input should be"),
        ({"eval": {"options": {"max_new_tokens": "many"}}}, "x.yaml: eval.options.max_new_tokens: Input should be"),
        ({"eval": {"options": {"tasks": ["case"]}}}, "x.yaml: eval.options.tasks: set by the experiment; use eval.tasks"),
        ({"defense": {"builder": {"benign_per_task": -1}}}, "x.yaml: defense.builder.benign_per_task: Input should be"),
        ({"defense": {"builder": {"nonsense": 1}}}, "x.yaml: defense.builder.nonsense: unknown key"),
    ],
)
def test_errors_name_the_key_path(tmp_path, change, expected):
    path = write(tmp_path / "x.yaml", deep_merge(minimal(), change))
    msg = error_of(path)
    assert msg.startswith(str(tmp_path / "x.yaml")) and expected.split(": ", 1)[1] in msg, msg


def test_several_errors_are_counted(tmp_path):
    msg = error_of(write(tmp_path / "x.yaml", {**minimal(), "a": 1, "b": 2}))
    assert msg.endswith("(and 1 more error)")


def test_malformed_yaml_and_missing_file(tmp_path):
    assert "malformed YAML at line 3" in error_of(write(tmp_path / "bad.yaml", "name: x\nseed: [1, 2\nother: 3\n"))
    assert "config file not found" in error_of(str(tmp_path / "nope.yaml"))
    assert "a config must be a mapping" in error_of(write(tmp_path / "list.yaml", "- 1\n"))


def test_extends_deep_merges_and_resolves_paths_relative_to_each_file(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base" / "base.yaml", {
        **minimal(), "seed": 3, "output_dir": "runs/base",
        "documents": {"sources": [{"kind": "jsonl", "label": "benign", "path": "docs.jsonl"}],
                      "heldout": {"malicious": 5, "benign": 7}},
        "train": {"preset": "cpu", "max_steps": 10},
    })
    child = write(tmp_path / "child.yaml", {
        "extends": "base/base.yaml", "name": "child",
        "documents": {"heldout": {"benign": 2}}, "train": {"max_steps": 20},
    })
    cfg = load_config(child)
    assert cfg.name == "child" and cfg.seed == 3
    assert cfg.documents.heldout.malicious == 5 and cfg.documents.heldout.benign == 2
    assert cfg.train.given() == {"preset": "cpu", "max_steps": 20}
    assert cfg.documents.sources[0].path == str(tmp_path / "base" / "docs.jsonl")
    assert cfg.output_path() == tmp_path / "base" / "runs" / "base"


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b.yaml", "name": "a"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml"})
    assert "extends itself" in error_of(str(tmp_path / "a.yaml"))


def test_dict_config_with_extends(tmp_path, monkeypatch):
    base = write(tmp_path / "base.yaml", {**minimal(), "seed": 9})
    monkeypatch.chdir(tmp_path)
    cfg = load_config({"extends": base, "name": "from-dict", "output_dir": "out"})
    assert cfg.seed == 9 and cfg.name == "from-dict" and cfg.output_path() == tmp_path / "out"
    assert error_of({"name": "bad name!", "documents": minimal()["documents"], "models": [{"recipe": "none"}]}
                    ).startswith("config: name: String should match pattern")


def test_single_star_expands_to_every_defense_task(tmp_path):
    from crosstask.pipeline.plan import expand_models

    cfg = load_config({**minimal(), "defense": {"tasks": ["summarize", "case"]},
                       "models": [{"recipe": "single:*", "n": [1, 5]}, {"recipe": "mixed", "n": 1}]})
    assert [m.id for m in expand_models(cfg)] == [
        "single-summarize-n1", "single-summarize-n5", "single-case-n1", "single-case-n5", "mixed-n1"]


def test_overrides_set_values_by_key_path(tmp_path, monkeypatch):
    path = write(tmp_path / "x.yaml", {**minimal(), "models": [{"recipe": "mixed", "n": 2}]})
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path, ["models.0.n=[5, 10]", "train.max_steps=3", "documents.sources.0.path=goals.yaml"])
    assert cfg.models[0].n == [5, 10] and cfg.train.given() == {"max_steps": 3}
    assert cfg.documents.sources[0].path == str(tmp_path / "goals.yaml")
    assert "models.3: no such list item" in error_of_overrides(path, ["models.3.n=1"])
    assert "train.max_steps: Input should be a valid integer" in error_of_overrides(path, ["train.max_steps=lots"])


def error_of_overrides(path, overrides) -> str:
    with pytest.raises(CrosstaskError) as e:
        load_config(path, overrides)
    return str(e.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # the typed sections: a bad key or value anywhere is one line with its key path
        ({"models": [{"recipe": "mixed", "n": 2, "builder": {"sensitive_ratoi": 1}}]},
         "x.yaml: models.0.builder.sensitive_ratoi: unknown key"),
        ({"models": [{"recipe": "mixed", "n": 2, "train": {"num_epochs": "two"}}]},
         "x.yaml: models.0.train.num_epochs: Input should be a valid integer"),
        ({"eval": {"options": {"judges": "refusal"}}}, "x.yaml: eval.options.judges: Input should be a valid list"),
        ({"defense": {"builder": {"opening_augmentation": 2}}},
         "x.yaml: defense.builder.opening_augmentation: Input should be less than or equal to 1"),
        # keys the experiment fills are refused wherever a section takes the stage's options
        ({"defense": {"builder": {"seed": 1}}}, "x.yaml: defense.builder.seed: set by the experiment; use seed instead"),
        ({"defense": {"builder": {"reference_model": "m"}}},
         "x.yaml: defense.builder.reference_model: set by the experiment; use model.name instead"),
        ({"models": [{"recipe": "mixed", "n": 2, "train": {"base_model": "m"}}]},
         "x.yaml: models.0.train.base_model: set by the experiment; use model.name instead"),
        ({"models": [{"recipe": "mixed", "n": 2, "builder": {"n": 5}}]},
         "x.yaml: models.0.builder.n: set by the experiment; use models instead"),
        ({"eval": {"options": {"output_dir": "o"}}}, "x.yaml: eval.options.output_dir: set by the experiment"),
        # what the stages will build: a preset and the options over it, a model's overrides merged in
        ({"train": {"preset": "cpu", "cutoff_len": 2048}},
         "x.yaml: train: max_tokens_per_micro_batch (1024) must be at least cutoff_len (2048)"),
        ({"train": {"preset": "cpu"}, "models": [{"recipe": "mixed", "n": 2, "train": {"cutoff_len": 2048}}]},
         "x.yaml: models.0.train: max_tokens_per_micro_batch (1024) must be at least cutoff_len (2048)"),
    ],
)
def test_typed_sections_name_the_key_path(tmp_path, change, expected):
    path = write(tmp_path / "x.yaml", deep_merge(minimal(), change))
    msg = error_of(path)
    assert msg.startswith(str(tmp_path / "x.yaml")) and expected.split(": ", 1)[1] in msg, msg


def test_sections_are_the_stages_option_types(tmp_path):
    from crosstask.data.defense import DefenseOptions
    from crosstask.evaluation import EvalOptions
    from crosstask.pipeline.plan import expand_models
    from crosstask.training import TrainSection

    path = tmp_path / "x.yaml"
    path.write_text(yaml.safe_dump({**minimal(), "models": [
        {"recipe": "mixed", "n": 2, "name": "v", "builder": {"sensitive_ratio": 2.0}, "train": {"task_weights": {"case": 2.0}}}]})
        + "train: {preset: cpu, learning_rate: 1e-3, task_weights: {cloze: 3.0}}\n"
        + "defense: {builder: {benign_ratio: 0.5}}\neval: {options: {max_new_tokens: 8}}\n")
    cfg = load_config(str(path))
    assert isinstance(cfg.train, TrainSection) and isinstance(cfg.defense.builder, DefenseOptions)
    assert isinstance(cfg.eval.options, EvalOptions) and isinstance(cfg.models[0].train, TrainSection)
    assert cfg.train.learning_rate == 0.001  # YAML reads 1e-3 as a string
    assert cfg.eval.options.max_new_tokens == 8 and cfg.eval.options.batch_size == 16
    assert cfg.train_config().learning_rate == 0.001 and cfg.train_config().lora_r == 16  # the cpu preset
    (m,) = expand_models(cfg)
    assert dict(m.builder) == {"benign_ratio": 0.5, "sensitive_ratio": 2.0}  # merged, only what was given
    assert dict(m.train) == {"preset": "cpu", "learning_rate": 0.001, "task_weights": {"cloze": 3.0, "case": 2.0}}
