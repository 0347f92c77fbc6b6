"""Duplicate YAML keys, writable-output checks, locks, content hashes and cache writes under
concurrent first use."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crosstask.errors import CrosstaskError, InputError
from crosstask.io import (
    append_jsonl,
    apply_assignments,
    check_writable,
    content_hash,
    file_lock,
    load_yaml,
    publish_folder_once,
    read_jsonl_tolerant,
    read_yaml,
)


def test_duplicate_yaml_keys_are_refused_with_file_and_line(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("train:\n  lora_r: 4\n  lr: 1\n  lora_r: 8\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"c\.yaml: line 4 column 3: duplicate key 'lora_r' \(also at line 2\)"):
        read_yaml(f)
    assert load_yaml("a: {b: 1}\nc: {b: 2}\n") == {"a": {"b": 1}, "c": {"b": 2}}  # same key, other mappings
    assert load_yaml("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n")["other"] == {"x": 1, "y": 2}  # merge keys
    with pytest.raises(CrosstaskError, match="duplicate key 'a'"):
        apply_assignments({}, ["x={a: 1, a: 2}"])


def test_check_writable(tmp_path):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(CrosstaskError, match="f.txt is a file, not a folder"):
        check_writable(a_file / "deep" / "out")
    with pytest.raises(CrosstaskError, match="output folder is a file"):
        check_writable(a_file)
    with pytest.raises(CrosstaskError, match="output file is a folder"):
        check_writable(tmp_path, kind="file")
    assert check_writable(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # nothing created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # the probe file is gone


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        with pytest.raises(CrosstaskError, match="not writable"):
            check_writable(ro / "out")
    finally:
        os.chmod(ro, 0o700)


def test_file_lock_without_waiting(tmp_path):
    lock = tmp_path / ".lock"
    with file_lock(lock), pytest.raises(CrosstaskError, match="busy here"), file_lock(lock, wait=False,
                                                                                       busy="busy here"):
        pass
    with file_lock(lock, wait=False):  # released
        pass


def test_content_hash_follows_content_not_place(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d / "sub").mkdir(parents=True)
        (tmp_path / d / "w.bin").write_bytes(b"weights")
        (tmp_path / d / "sub" / "c.json").write_text("{}", encoding="utf-8")
    assert content_hash(tmp_path / "a") == content_hash(tmp_path / "b")
    assert content_hash(tmp_path / "a" / "w.bin") == content_hash(tmp_path / "b" / "w.bin")
    (tmp_path / "b" / "w.bin").write_bytes(b"other weights")
    assert content_hash(tmp_path / "a") != content_hash(tmp_path / "b")


def test_publish_folder_once_cleans_up_after_a_failed_build(tmp_path):
    def broken(tmp):
        (tmp / "half").write_text("x", encoding="utf-8")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        publish_folder_once(tmp_path / "model", broken, complete=lambda t: (t / "done").exists())
    (tmp_path / "model.tmp999").mkdir()  # an orphan of an earlier version, left by a kill
    built = publish_folder_once(tmp_path / "model", lambda t: (t / "done").write_text("1"),
                                complete=lambda t: (t / "done").exists())
    assert (built / "done").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model.lock", "model"]


def test_concurrent_first_use_of_the_tiny_model_leaves_no_temporaries(tmp_path):
    """Three processes load the tiny model into an empty cache at once: one builds it, none leaves
    a temporary folder behind (issue #14 found orphan ``*.tmpNNNN`` folders)."""
    cache = tmp_path / "cache"
    code = textwrap.dedent("""
        import sys, time
        from crosstask.models.tiny import ensure_tiny_model
        while time.time() < float(sys.argv[1]):
            time.sleep(0.01)
        print(ensure_tiny_model())
    """)
    import time

    env = {**os.environ, "CROSSTASK_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    start = f"{time.time() + 8:.3f}"  # after every process has imported torch
    procs = [subprocess.Popen([sys.executable, "-c", code, start], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    folders = {o[0].strip() for o in outs}
    assert len(folders) == 1
    models = cache / "models"
    assert [p.name for p in models.iterdir() if "tmp" in p.name] == []
    assert (Path(folders.pop()) / "model.safetensors").exists()


def test_append_jsonl_lines_never_interleave(tmp_path):
    """Several processes appending long records to one cache file: every line stays whole."""
    path = tmp_path / "cache.jsonl"
    code = textwrap.dedent("""
        import sys
        from crosstask.io import append_jsonl
        for i in range(40):
            append_jsonl(sys.argv[1], {"who": sys.argv[2], "i": i, "output": sys.argv[2] * 20000})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), w]) for w in "abc"]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = path.read_text(encoding="utf-8").splitlines()
    records = read_jsonl_tolerant(path)
    assert len(lines) == len(records) == 120
    append_jsonl(path, {"last": True})
    assert read_jsonl_tolerant(path)[-1] == {"last": True}
