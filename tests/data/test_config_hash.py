"""A defense dataset's config hash names its source files by content, not by absolute path."""

from __future__ import annotations

import shutil

from placeholders import placeholder_docs

from crosstask.data.defense import parse_defense_config
from crosstask.io import write_jsonl


def _hash(path) -> str:
    return parse_defense_config({"recipe": "mixed", "n": 2, "malicious": [{"kind": "documents", "path": str(path)}],
                                 "safety": {"path": str(path), "n": 1}}).config_hash()


def test_config_hash_survives_a_move_and_follows_edits(tmp_path):
    first = tmp_path / "a" / "docs.jsonl"
    first.parent.mkdir()
    write_jsonl(first, [d.to_dict() for d in placeholder_docs(3, "malicious")])
    moved = tmp_path / "b" / "docs.jsonl"
    moved.parent.mkdir()
    shutil.copy(first, moved)
    assert _hash(first) == _hash(moved)
    write_jsonl(moved, [d.to_dict() for d in placeholder_docs(4, "malicious")])
    assert _hash(first) != _hash(moved)
