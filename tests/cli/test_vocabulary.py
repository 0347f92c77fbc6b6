"""One option vocabulary across commands: --model, --adapter, --out (a folder), --config, --set; help on
every option; old spellings still work, hidden, with a one-line note."""

from __future__ import annotations

import json

import pytest
import typer
from placeholders import placeholder_docs
from typer.testing import CliRunner

from crosstask.cli.main import app


def _leaves(cmd=None, path=()):
    cmd = cmd or typer.main.get_command(app)
    if hasattr(cmd, "commands"):
        yield path, cmd
        for name, sub in cmd.commands.items():
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


def test_every_option_and_argument_of_every_command_has_help():
    missing = []
    for path, cmd in _leaves():
        assert (cmd.help or "").strip() or path == (), f"command {path} has no help"
        for p in cmd.params:
            if not (getattr(p, "help", None) or "").strip():
                missing.append(f"{' '.join(path) or 'crosstask'} {p.opts or p.name}")
    assert missing == []


def _flags(cmd) -> dict:
    return {o: p for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", ()))}


# what each command takes from the shared vocabulary
VOCABULARY = {
    ("train",): {"--model", "--out", "--config", "--set"},
    ("merge",): {"--model", "--adapter", "--out", "--config", "--set"},
    ("run",): {"--out", "--config", "--set"},
    ("eval", "run"): {"--model", "--adapter", "--out", "--config", "--set"},
    ("eval", "matrix"): {"--out", "--config", "--set"},
    ("data", "build"): {"--model", "--out", "--config", "--set"},
    ("data", "harvest"): {"--model", "--out", "--config", "--set"},
    ("data", "inspect"): {"--config", "--set"},
    ("judge", "list"): {"--config", "--set"},
    ("judge", "validate"): {"--out", "--config", "--set"},
}
OLD_SPELLINGS = {"--base-model", "--reference-model", "--output-dir"}


@pytest.mark.parametrize("path", list(VOCABULARY), ids=" ".join)
def test_the_shared_options_are_visible_and_old_spellings_hidden(path):
    cmd = dict(_leaves())[path]
    flags = _flags(cmd)
    for flag in VOCABULARY[path]:
        assert flag in flags and not flags[flag].hidden, flag
    for flag in OLD_SPELLINGS & set(flags):
        assert flags[flag].hidden and "Deprecated" in flags[flag].help
    help_text = CliRunner().invoke(app, [*path, "--help"], terminal_width=200).output
    assert not any(f"{old} " in help_text for old in OLD_SPELLINGS), help_text


def test_malicious_has_one_type_in_data_build_and_eval_run():
    commands = dict(_leaves())
    build, ev = _flags(commands[("data", "build")])["--malicious"], _flags(commands[("eval", "run")])["--malicious"]
    assert build.multiple and ev.multiple and build.bare_type() == ev.bare_type()


def _docs(tmp_path, label, n):
    path = tmp_path / f"{label}.jsonl"
    path.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in placeholder_docs(n, label)), encoding="utf-8")
    return path


def test_an_old_spelling_works_with_a_one_line_note(tmp_path):
    mal = _docs(tmp_path, "malicious", 2)
    args = ["eval", "run", "--model", "tiny-random", "--malicious", str(mal), "--tasks", "case",
            "--max-new-tokens", "2"]
    r = CliRunner().invoke(app, [*args, "--output-dir", str(tmp_path / "old")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "old" / "summary.json").exists()
    notes = [line for line in r.stderr.splitlines() if "deprecated" in line]
    assert notes == ["note: --output-dir is deprecated; use --out"]
    both = CliRunner().invoke(app, [*args, "--output-dir", str(tmp_path / "a"), "--out", str(tmp_path / "b")])
    assert both.exit_code != 0 and "disagree" in str(both.exception)


def test_eval_run_joins_repeated_malicious_sources(tmp_path):
    docs = placeholder_docs(5, "malicious")
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in docs[:2]), encoding="utf-8")
    b.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in docs[2:]), encoding="utf-8")
    r = CliRunner().invoke(app, ["eval", "run", "--model", "tiny-random", "--malicious", str(a), "--malicious", str(b),
                                 "--tasks", "case", "--max-new-tokens", "2", "--out", str(tmp_path / "ev")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "ev" / "summary.json").read_text())
    assert summary["sets"]["malicious"]["documents"] == 5


def test_the_config_may_be_the_argument_or_config(tmp_path):
    r = CliRunner().invoke(app, ["run", "--config", "configs/smoke.yaml", "--dry-run", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "to run" in r.output
    twice = CliRunner().invoke(app, ["run", "configs/smoke.yaml", "--config", "configs/demo.yaml", "--dry-run"])
    assert twice.exit_code == 2 and "given twice" in twice.output
    none = CliRunner().invoke(app, ["run"])
    assert none.exit_code == 2 and "Missing argument 'config' (or --config)" in none.output


def test_out_naming_a_json_file_is_still_written_with_a_note(tmp_path):
    from crosstask.cli.config_options import output_file

    assert output_file(tmp_path / "folder", "matrix.json") == tmp_path / "folder" / "matrix.json"
    assert output_file(tmp_path / "m.json", "matrix.json") == tmp_path / "m.json"
