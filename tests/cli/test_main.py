"""The ``crosstask`` entry point: every failure is one line on stderr (no traceback) unless --debug."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crosstask.cli import main as cli_main


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The real console entry point in a fresh interpreter: what a user's shell sees."""
    code = "import sys; from crosstask.cli.main import main; sys.argv[0] = 'crosstask'; main()"
    environ = {k: v for k, v in os.environ.items() if k != "CROSSTASK_DEBUG"}
    environ.update({"COLUMNS": "100", "OMP_NUM_THREADS": "1", **(env or {})})
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env=environ)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("args", "expected"), [
    (["eval", "run", "--limt", "3"], "error: No such option: --limt; did you mean --limit? "
                                     "(see 'crosstask eval run --help')"),
    (["evaluate"], "error: No such command 'evaluate'. Did you mean 'eval'? (see 'crosstask --help')"),
    (["run"], "error: Missing argument 'config' (or --config). (see 'crosstask run --help')"),
    (["train"], "error: Missing argument 'dataset'. (see 'crosstask train --help')"),
])
def test_usage_errors_are_one_line_with_the_suggestion(args, expected):
    r = _run(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr
    assert _lines(r.stderr) == [expected] and r.stdout == ""


def test_bare_command_prints_the_help_without_a_traceback():
    r = _run()
    assert r.returncode == 2
    assert "Traceback" not in r.stdout + r.stderr
    assert "Usage: crosstask" in r.stdout + r.stderr and "eval" in r.stdout + r.stderr


def test_debug_shows_the_traceback_from_anywhere_on_the_line():
    r = _run("evaluate", "--debug")
    assert "Traceback" in r.stderr and "No such command 'evaluate'" in r.stderr
    assert "Traceback" in _run("evaluate", env={"CROSSTASK_DEBUG": "1"}).stderr


def _in_process(monkeypatch, capsys, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("CROSSTASK_DEBUG", raising=False)
    try:
        cli_main.main(list(args))
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    return code, capsys.readouterr().err


def test_an_unexpected_error_is_one_line_with_its_type(monkeypatch, capsys, tmp_path):
    import crosstask.pipeline

    def boom(*a, **k):
        raise RuntimeError("out of memory\nmore detail on a second line")

    monkeypatch.setattr(crosstask.pipeline, "run", boom)
    code, err = _in_process(monkeypatch, capsys, "run", str(tmp_path / "x.yaml"))
    assert code == 1
    assert _lines(err) == ["error: RuntimeError: out of memory; more detail on a second line "
                           "(rerun with --debug for the traceback)"]
    with pytest.raises(RuntimeError):
        cli_main.main(["run", str(tmp_path / "x.yaml"), "--debug"])


def test_crosstask_errors_keep_brackets_and_interrupts_exit_130(monkeypatch, capsys, tmp_path):
    import crosstask.pipeline
    from crosstask.errors import CrosstaskError

    def bad(*a, **k):
        raise CrosstaskError("x.yaml: models[0]: [bold]not markup[/bold]")

    monkeypatch.setattr(crosstask.pipeline, "run", bad)
    code, err = _in_process(monkeypatch, capsys, "run", "x.yaml")
    assert code == 2 and _lines(err) == ["error: x.yaml: models[0]: [bold]not markup[/bold]"]

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(crosstask.pipeline, "run", interrupted)
    code, err = _in_process(monkeypatch, capsys, "run", "x.yaml")
    assert code == 130 and _lines(err) == ["interrupted; finished work is kept, rerun to resume"]


def test_version_and_help_exit_zero(monkeypatch, capsys):
    code, _ = _in_process(monkeypatch, capsys, "--version")
    assert code == 0
