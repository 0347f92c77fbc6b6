"""``crosstask list tasks|sources|judges|presets``: tables read from the registries."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from crosstask.cli.main import app, main


@pytest.mark.parametrize(("kind", "expected"), [
    ("tasks", ["summarize", "Summarize the above article"]),
    ("sources", ["file", "text_field", "label", "paper-format"]),
    ("judges", ["refusal@", "keyword-gcg13"]),
    ("presets", ["paper", "lora_r=8", "tiny"]),
])
def test_list_kinds(kind, expected):
    r = CliRunner().invoke(app, ["list", kind], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    for text in expected:
        assert text in r.output


def test_list_unknown_kind_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["list", "nope"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown list 'nope'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
