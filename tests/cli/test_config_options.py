"""The options of train/eval/data commands come from their typed configs: every config field is
reachable from the CLI, and no option lacks a config field (besides where/how to run, and
shorthands that set a field)."""

from __future__ import annotations

import pytest
import typer

from crosstask.cli.config_options import config_fields
from crosstask.cli.main import app


def _command(*path: str):
    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _train_config():
    from crosstask.training import TrainConfig

    return TrainConfig


def _eval_config():
    from crosstask.evaluation.eval_config import EvalConfig

    return EvalConfig


def _defense_config():
    from crosstask.data.defense.defense_config import DefenseConfig

    return DefenseConfig


def _harvest_settings():
    from crosstask.data.harvest import HarvestSettings

    return HarvestSettings


# command, its config class, its own run options, shorthand options -> the field they set
COMMANDS = [
    (("train",), _train_config,
     {"dataset", "out", "config", "preset", "assignments", "resume", "overwrite", "no_progress"}, {}),
    (("eval", "run"), _eval_config, {"config", "assignments"},
     {"malicious": "sets", "benign": "sets", "sensitive": "sets", "full": "refusal_only"}),
    (("data", "build"), _defense_config, {"config", "assignments", "out", "overwrite"}, {}),
    (("data", "harvest"), _harvest_settings, {"config", "assignments", "out", "kind", "goals", "limit", "n", "prefill"},
     {}),
]


@pytest.mark.parametrize(("path", "config", "run_options", "shorthands"), COMMANDS, ids=lambda x: str(x))
def test_every_field_is_an_option_and_every_option_a_field(path, config, run_options, shorthands):
    cls = config()
    fields = {f.name: f for f in config_fields(cls)}
    params = {p.name: p for p in _command(*path).params if p.name != "help"}
    field_params = {name: p for name, p in params.items() if name.split("__")[0] in fields}
    assert {name.split("__")[0] for name in field_params} == set(fields), "every config field is reachable"
    assert set(params) - set(field_params) == run_options | set(shorthands), "no option lacks a config field"
    assert set(shorthands.values()) <= set(fields)
    for name, p in field_params.items():
        f = fields[name.split("__")[0]]
        assert f.help and p.help.startswith(f.help), name  # the help text is the field's
        assert f"--{name.replace('__', '-').replace('_', '-')}" in p.opts
    assert "assignments" in params and "--set" in params["assignments"].opts


def test_eval_options_reach_the_config(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    import crosstask.evaluation

    seen = {}

    def fake_evaluate(cfg, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(crosstask.evaluation, "evaluate", fake_evaluate)
    (tmp_path / "e.yaml").write_text("eval: {limit: 5, seed: 4}\n")
    r = CliRunner().invoke(app, ["eval", "run", str(tmp_path / "e.yaml"), "--set", "seed=7", "--tasks", "case,cloze",
                                 "--judge", "refusal,keyword-gcg13", "--refusal-only", "", "--no-use-given-prompts",
                                 "--documents", "[{kind: documents, path: d.jsonl}]", "--benign", "documents:b.jsonl",
                                 "--out", str(tmp_path / "o")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cfg = seen["cfg"]
    assert (cfg["limit"], cfg["seed"], cfg["tasks"], cfg["judges"]) == (5, 7, ["case", "cloze"],
                                                                        ["refusal", "keyword-gcg13"])
    assert cfg["refusal_only"] == [] and cfg["use_given_prompts"] is False
    assert cfg["documents"] == [{"kind": "documents", "path": "d.jsonl"}]
    assert cfg["sets"] == {"benign": {"kind": "documents", "path": "b.jsonl"}}
    assert cfg["output_dir"] == str(tmp_path / "o")


def test_data_build_options_reach_the_config(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from crosstask.data.defense import builder

    seen = {}

    def fake_build(cfg, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(builder, "build_defense_dataset", fake_build)
    (tmp_path / "d.yaml").write_text("data: {n: 4, safety: {path: s.json, n: 7}}\n")
    r = CliRunner().invoke(app, ["data", "build", "--config", str(tmp_path / "d.yaml"), "--out", str(tmp_path / "o"),
                                 "--set", "seed=3", "--malicious", "documents:m.jsonl", "--malicious", "advbench",
                                 "--tasks", "case,cloze", "--safety-n", "9", "--general", "g.json",
                                 "--balance-openings", "--benign-ratio", "0.5"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    cfg = seen["cfg"]
    assert (cfg.n, cfg.seed, cfg.tasks, cfg.balance_openings, cfg.benign_ratio) == (4, 3, ["case", "cloze"], True, 0.5)
    assert cfg.malicious == [{"kind": "documents", "path": "m.jsonl"}, {"kind": "advbench"}]
    assert (cfg.safety.path, cfg.safety.n) == ("s.json", 9)
    assert (cfg.general.path, cfg.general.n) == ("g.json", 100)
