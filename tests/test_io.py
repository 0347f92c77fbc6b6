"""Atomic writes and read errors."""

from __future__ import annotations

import pytest

from crosstask.errors import InputError
from crosstask.io import (
    append_jsonl,
    atomic_path,
    read_json,
    read_jsonl,
    read_jsonl_tolerant,
    read_text,
    stable_hash,
    write_json,
    write_jsonl,
)


def test_atomic_write_leaves_nothing_on_exception(tmp_path):
    target = tmp_path / "out" / "result.json"

    def records():
        yield {"a": 1}
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        write_jsonl(target, records())
    assert list(target.parent.iterdir()) == []


def test_atomic_write_keeps_old_file_on_exception(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise ValueError("boom")
    assert target.read_text(encoding="utf-8") == "old" and [p.name for p in tmp_path.iterdir()] == ["result.txt"]


def test_write_read_round_trip(tmp_path):
    write_json(tmp_path / "a.json", {"b": [1, "é"]})
    assert read_json(tmp_path / "a.json") == {"b": [1, "é"]}
    assert write_jsonl(tmp_path / "a.jsonl", [{"x": 1}, {"x": 2}]) == 2
    assert read_jsonl(tmp_path / "a.jsonl") == [{"x": 1}, {"x": 2}]


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match=r"missing\.json: file not found"):
        read_json(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a folder"):
        read_text(tmp_path)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1\.txt: not valid UTF-8 \(byte 3\)"):
        read_text(bad)
    j = tmp_path / "bad.json"
    j.write_text('{\n  "a": 1,\n  "b": \n}', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.json: malformed JSON at line 4"):
        read_json(j)
    jl = tmp_path / "bad.jsonl"
    jl.write_text('{"a": 1}\n\n{"a": \n', encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_jsonl(jl)
    assert str(e.value).startswith(f"{jl}: record 3: malformed JSON (line 3)")


def test_tolerant_reader_drops_torn_last_line(tmp_path):
    f = tmp_path / "cache.jsonl"
    append_jsonl(f, {"i": 0})
    append_jsonl(f, {"i": 1})
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('{"i": 2, "tex')  # a kill mid-append
    assert read_jsonl_tolerant(f) == [{"i": 0}, {"i": 1}]
    assert read_jsonl_tolerant(tmp_path / "absent.jsonl") == []


def test_stable_hash_ignores_key_order():
    assert stable_hash({"a": 1, "b": [2]}) == stable_hash({"b": [2], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2}) and len(stable_hash("x")) == 16


def test_one_validation_error_formatter():
    import pydantic

    from crosstask.errors import format_validation_error

    class M(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        n: int = 0

    with pytest.raises(pydantic.ValidationError) as e:
        M.model_validate({"n": "x", "colour": 1})
    assert format_validation_error(e.value, "c.yaml") == "c.yaml: n: Input should be a valid integer, unable to " \
        "parse string as an integer (and 1 more error)"
    assert format_validation_error(e.value, "c.yaml", prefix="train").startswith("c.yaml: train.n: ")
    assert format_validation_error(e.value, "cfg", quote_field=True).startswith("cfg: field 'n': Input should")
    with pytest.raises(pydantic.ValidationError) as e:
        M.model_validate({"colour": 1})
    assert format_validation_error(e.value, "c.yaml") == "c.yaml: colour: unknown key"
