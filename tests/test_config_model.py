"""The one config type: lax values, one-line errors with key paths, pipeline keys derived from the types,
sections that hold (and dump) only what was given."""

from __future__ import annotations

import pytest
from pydantic import Field

from crosstask.config_model import ConfigModel, Given, deep_merge, pipeline_field
from crosstask.errors import CrosstaskError


class ToyOptions(ConfigModel):
    config_name = "toy config"

    rate: float = Field(0.5, description="A rate.")
    steps: int = Field(3, gt=0, description="Steps.")
    weights: dict[str, float] = Field(default_factory=dict, description="Weights.")


class ToyConfig(ToyOptions):
    model: str = pipeline_field("m", help="The model.", set_by="model.name")


class ToySection(ToyOptions):
    preset: str | None = Field(None, description="A preset.")


class Holder(ConfigModel):
    toy: Given[ToySection] = Field(default_factory=ToySection)
    others: list[Given[ToyOptions]] = Field(default_factory=list)


def test_yaml_strings_that_are_numbers_are_accepted():
    import yaml

    raw = yaml.safe_load("rate: 1e-3\n")
    assert raw == {"rate": "1e-3"}  # YAML 1.1 reads an exponent without a dot as a string
    assert ToyOptions.parse(raw).rate == 0.001


def test_pipeline_keys_are_derived_from_the_types():
    assert ToyOptions.pipeline_keys() == {"model": "model.name"}
    assert ToySection.pipeline_keys() == {"model": "model.name"}
    assert ToyConfig.pipeline_keys() == {}  # the full config has the field
    assert ToyConfig.parse({"model": "x"}).model == "x"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"toy": {"model": "x"}}, "h.yaml: toy.model: set by the experiment; use model.name instead"),
        ({"others": [{}, {"model": "x"}]}, "h.yaml: others.1.model: set by the experiment; use model.name instead"),
        ({"toy": {"stepz": 1}}, "h.yaml: toy.stepz: unknown key"),
        ({"toy": {"steps": 0}}, "h.yaml: toy.steps: Input should be greater than 0"),
        ({"toy": {"rate": "fast"}}, "h.yaml: toy.rate: Input should be a valid number"),
    ],
)
def test_errors_are_one_line_with_the_key_path(data, expected):
    with pytest.raises(CrosstaskError) as e:
        Holder.parse(data, where="h.yaml")
    assert str(e.value).startswith(expected) and "\n" not in str(e.value)


def test_direct_construction_and_parse_errors_are_crosstask_errors():
    with pytest.raises(CrosstaskError, match=r"^ToyOptions: steps: Input should be greater than 0$"):
        ToyOptions(steps=0)
    with pytest.raises(CrosstaskError, match=r"^cfg: colour: unknown toy config key$"):
        ToyOptions.parse({"colour": 1}, where="cfg")
    with pytest.raises(CrosstaskError, match=r"^cfg: expected a mapping, got list$"):
        ToyOptions.parse([1], where="cfg")
    opts = ToyOptions(rate=0.1)
    assert ToyOptions.parse(opts) is opts


def test_sections_hold_and_dump_what_was_given():
    h = Holder.parse({"toy": {"preset": "p", "weights": {"a": 2}}})
    assert h.toy.steps == 3  # the default lives in the class ...
    assert h.toy.given() == {"preset": "p", "weights": {"a": 2.0}}  # ... and is not part of the section
    assert h.model_dump() == {"toy": {"preset": "p", "weights": {"a": 2.0}}, "others": []}
    merged = h.toy.merged(ToySection(weights={"b": 1}, steps=5))
    assert merged.given() == {"preset": "p", "weights": {"a": 2.0, "b": 1.0}, "steps": 5}
    assert deep_merge({"a": {"x": 1}, "l": [1]}, {"a": {"y": 2}, "l": [2]}) == {"a": {"x": 1, "y": 2}, "l": [2]}


def test_a_misspelt_key_gets_a_suggestion_and_a_far_one_does_not():
    with pytest.raises(CrosstaskError, match=r"^x.yaml: toy.stpes: unknown toy config key; did you mean steps\?$"):
        ToyOptions.parse({"stpes": 2}, where="x.yaml", prefix="toy")
    with pytest.raises(CrosstaskError, match=r"^x.yaml: toy.colour: unknown toy config key$"):
        ToyOptions.parse({"colour": 2}, where="x.yaml", prefix="toy")


def test_trl_names_that_mean_the_same_are_accepted_under_crosstasks_name():
    from crosstask.training.train_config import TrainOptions

    opts = TrainOptions.parse({"num_train_epochs": 2, "lr_scheduler_type": "cosine"})
    assert opts.given() == {"num_epochs": 2, "lr_scheduler": "cosine"}
    # both names at once: the alias is not silently dropped
    with pytest.raises(CrosstaskError, match="num_train_epochs: unknown training config key; did you mean num_epochs"):
        TrainOptions.parse({"num_epochs": 1, "num_train_epochs": 2})


def test_experiment_sections_suggest_too():
    from crosstask.pipeline.experiment_config import load_config

    raw = {"name": "x", "documents": {"sources": [{"kind": "documents", "path": "d.jsonl"}]},
           "models": [{"recipe": "none"}], "trian": {}}
    with pytest.raises(CrosstaskError, match=r"trian: unknown .*did you mean train\?"):
        load_config(raw)
