"""The options of every command come from its typed config: every config field is reachable from
the CLI, and no option lacks a config field (besides where/how to run, and shorthands that set a
field); every such command takes --config and --set."""

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


def _merge_config():
    from crosstask.training import MergeConfig

    return MergeConfig


def _matrix_config():
    from crosstask.evaluation import MatrixConfig

    return MatrixConfig


def _judge_list_config():
    from crosstask.cli.judge import JudgeListConfig

    return JudgeListConfig


def _judge_validation_config():
    from crosstask.judges.validate import JudgeValidationConfig

    return JudgeValidationConfig


def _inspect_config():
    from crosstask.cli.data import InspectConfig

    return InspectConfig


def _serve_config():
    from crosstask.serving.serve_config import ServeConfig

    return ServeConfig


def _guard_train_config():
    from crosstask.judges.input_guard import GuardTrainConfig

    return GuardTrainConfig


# command, its config class, its own run options, shorthand options -> the field they set
COMMANDS = [
    (("train",), _train_config,
     {"dataset", "out", "config", "preset", "assignments", "resume", "overwrite", "no_progress"}, {}),
    (("eval", "run"), _eval_config, {"config_arg", "config", "assignments"},
     {"malicious": "sets", "benign": "sets", "sensitive": "sets", "full": "refusal_only"}),
    (("data", "build"), _defense_config, {"config", "assignments", "out", "overwrite"}, {}),
    (("data", "harvest"), _harvest_settings, {"config", "assignments", "out", "kind", "goals", "limit", "n", "prefill"},
     {}),
    (("merge",), _merge_config, {"adapter_arg", "adapter", "out", "config", "assignments"}, {}),
    (("eval", "matrix"), _matrix_config, {"config", "assignments"}, {"run_folders": "runs"}),
    (("judge", "list"), _judge_list_config, {"config", "assignments"}, {}),
    (("judge", "validate"), _judge_validation_config, {"config", "assignments"}, {}),
    (("data", "inspect"), _inspect_config, {"folder", "config", "assignments"}, {}),
    (("serve",), _serve_config, {"config", "assignments"}, {}),
    (("guard", "train"), _guard_train_config, {"dataset", "out", "config", "assignments"}, {}),
]


# fields whose flag is the one shared vocabulary (--model, --out) rather than --<field-name>
RENAMED = {"base_model": "--model", "reference_model": "--model", "output_dir": "--out"}


def test_every_command_is_covered():
    """A new command must join COMMANDS (or be `run`, whose config is the experiment, or `list`, which
    has no settings)."""
    def leaves(cmd, path=()):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from leaves(sub, (*path, name))
        else:
            yield path

    assert set(leaves(typer.main.get_command(app))) == {c[0] for c in COMMANDS} | {("run",), ("list",)}


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
        if p.hidden:  # an old spelling, kept working
            assert "Deprecated" in p.help, name
            continue
        assert f.help and p.help.startswith(f.help), name  # the help text is the field's
        assert RENAMED.get(name, f"--{name.replace('__', '-').replace('_', '-')}") in p.opts
    assert "assignments" in params and "--set" in params["assignments"].opts
    assert "config" in params and ("--config" in params["config"].opts or not params["config"].opts[0].startswith("-"))


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


def _invoke(args):
    from typer.testing import CliRunner

    return CliRunner().invoke(app, args, catch_exceptions=False)


def test_merge_set_and_config_reach_the_config(monkeypatch, tmp_path):
    from crosstask.training import merge

    seen = {}

    def fake_merge(adapter, out, config=None, **kw):
        seen["cfg"] = config
        return out

    monkeypatch.setattr(merge, "merge_adapter", fake_merge)
    (tmp_path / "m.yaml").write_text("merge: {base_model: tiny-random, dtype: float16}\n")
    r = _invoke(["merge", str(tmp_path / "a"), "--out", str(tmp_path / "o"), "--config", str(tmp_path / "m.yaml"),
                 "--set", "dtype=bfloat16"])
    assert r.exit_code == 0, r.output
    assert (seen["cfg"].base_model, seen["cfg"].dtype) == ("tiny-random", "bfloat16")


def test_set_on_new_commands_is_validated(tmp_path):
    from typer.testing import CliRunner

    from crosstask.errors import CrosstaskError

    r = CliRunner().invoke(app, ["merge", str(tmp_path / "a"), "--out", str(tmp_path / "o"), "--set", "dtype=int3"])
    assert isinstance(r.exception, CrosstaskError)
    assert str(r.exception) == "command line: dtype: Input should be 'float32', 'bfloat16' or 'float16'"
    r = CliRunner().invoke(app, ["judge", "list", "--set", "colour=red"])
    assert str(r.exception) == "command line: colour: unknown judge list config key"
    r = CliRunner().invoke(app, ["data", "inspect", str(tmp_path), "--set", "examples=-1"])
    assert str(r.exception) == "command line: examples: Input should be greater than or equal to 0"


def test_judge_list_set_selects_judges():
    r = _invoke(["judge", "list", "--set", "judges=[keyword-gcg13]"])
    assert r.exit_code == 0 and "keyword-gcg13@1" in r.output and "refusal@4" not in r.output


def test_eval_matrix_config_and_set(monkeypatch, tmp_path):
    import crosstask.evaluation

    seen = {}
    monkeypatch.setattr(crosstask.evaluation, "load_runs", lambda runs: seen.setdefault("runs", runs) and {})
    monkeypatch.setattr(crosstask.evaluation, "cross_task_matrix", lambda results: {"tasks": [], "rows": []})
    (tmp_path / "m.yaml").write_text("matrix: {runs: [a=x, b=y]}\n")
    r = _invoke(["eval", "matrix", "--config", str(tmp_path / "m.yaml"), "--set", f"out={tmp_path / 'm.json'}"])
    assert r.exit_code == 0, r.output
    assert seen["runs"] == ["a=x", "b=y"] and (tmp_path / "m.json").exists()
    seen.clear()
    assert _invoke(["eval", "matrix", "c=z", "--config", str(tmp_path / "m.yaml")]).exit_code == 0
    assert seen["runs"] == ["c=z"]  # RUNS given on the command line win


def _experiment(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "name: exp\nseed: 7\nmodel: {name: tiny-random}\n"
        "documents: {sources: [{kind: advbench, label: malicious}]}\nmodels: [{recipe: none}]\n"
        "train: {preset: tiny, num_epochs: 2, learning_rate: 1e-3}\n"
        "eval: {tasks: [case], options: {max_new_tokens: 8, judges: [keyword-gcg13]}}\n")
    return path


def test_train_config_takes_an_experiments_train_section(monkeypatch, tmp_path):
    from crosstask.training import trainer

    seen = {}

    def fake_train(cfg, dataset, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(trainer, "train", fake_train)
    _invoke(["train", str(tmp_path), "--out", str(tmp_path / "o"), "--config", str(_experiment(tmp_path)),
             "--set", "max_steps=3"])
    cfg = seen["cfg"]
    assert (cfg.base_model, cfg.seed, cfg.num_epochs, cfg.learning_rate, cfg.max_steps) == ("tiny-random", 7, 2, 0.001, 3)
    assert cfg.lora_r == 4  # the tiny preset


def test_eval_run_takes_an_experiments_eval_section(monkeypatch, tmp_path):
    import crosstask.evaluation

    seen = {}

    def fake_evaluate(cfg, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(crosstask.evaluation, "evaluate", fake_evaluate)
    _invoke(["eval", "run", str(_experiment(tmp_path)), "--benign", "documents:b.jsonl"])
    cfg = seen["cfg"]
    assert (cfg["model"], cfg["seed"], cfg["tasks"], cfg["max_new_tokens"], cfg["judges"]) == (
        "tiny-random", 7, ["case"], 8, ["keyword-gcg13"])


def test_data_build_takes_an_experiments_defense_section(monkeypatch, tmp_path):
    from crosstask.data.defense import builder

    seen = {}

    def fake_build(cfg, out, **kw):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(builder, "build_defense_dataset", fake_build)
    path = _experiment(tmp_path)
    path.write_text(path.read_text() + "defense: {tasks: [case, cloze], builder: {benign_ratio: 0.5}}\n")
    _invoke(["data", "build", "--config", str(path), "--out", str(tmp_path / "o"), "--n", "3"])
    cfg = seen["cfg"]
    assert (cfg.reference_model, cfg.seed, cfg.tasks, cfg.benign_ratio, cfg.n) == ("tiny-random", 7, ["case", "cloze"],
                                                                                   0.5, 3)
