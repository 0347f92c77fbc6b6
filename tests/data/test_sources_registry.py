"""Source specs written on the command line: one parser for every command (``data build|harvest``, ``eval run``)."""

from __future__ import annotations

import pytest

from crosstask.data.sources import parse_source
from crosstask.errors import CrosstaskError

_DOC_RECORD = '{"id": "a", "text": "Placeholder.", "label": "benign", "source": "x"}\n'


def test_parse_source_forms(tmp_path):
    assert parse_source("advbench") == {"kind": "advbench"}
    assert parse_source("{kind: harvest, goals: {kind: advbench}, limit: 5}") == {
        "kind": "harvest", "goals": {"kind": "advbench"}, "limit": 5}
    assert parse_source("documents:/x.jsonl") == {"kind": "documents", "path": "/x.jsonl"}
    p = tmp_path / "d.jsonl"
    p.write_text(_DOC_RECORD)
    assert parse_source(str(p)) == {"kind": "documents", "path": str(p)}
    with pytest.raises(CrosstaskError, match="not a file, a known kind"):
        parse_source("nonsense-kind")


def test_parse_source_forms_with_a_set_label(tmp_path):
    assert parse_source("paper-format:/x", "benign") == {"kind": "paper-format", "path": "/x", "sets": ["benign"]}
    assert parse_source('{"kind": "beavertails", "limit": 3}') == {"kind": "beavertails", "limit": 3}
    p = tmp_path / "d.jsonl"
    p.write_text(_DOC_RECORD)
    assert parse_source(str(p), "benign") == {"kind": "documents", "path": str(p)}  # saved records keep labels
    own = tmp_path / "own.jsonl"
    own.write_text('{"content": "Placeholder text."}\n')
    assert parse_source(str(own), "benign") == {"kind": "file", "path": str(own), "label": "benign"}
    assert parse_source(str(tmp_path), "malicious:mine") == {"kind": "file", "path": str(tmp_path), "label": "malicious"}


def test_the_cli_commands_share_the_parser():
    from crosstask.cli import data, evaluate

    assert data.parse_source is evaluate.parse_source is parse_source
