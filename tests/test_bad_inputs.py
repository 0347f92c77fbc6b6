"""Bad inputs through the real entry point (``crosstask.cli.main.main``): each ends in one line on
stderr that names the key path or the file/record/field, exit code 2, no traceback, and no output
written (the output path given does not exist afterwards).

Every case of issue #14 is here: values that used to pass validation and then crash or mislead
mid-pipeline, duplicate YAML keys, mislabelled documents, impossible N, unwritable outputs, pickle
files; plus the neighbours of each. Text is placeholder text only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from placeholders import placeholder_docs

from crosstask.io import write_jsonl


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Documents, a small defense dataset, configs and fake model/adapter folders."""
    root = tmp_path_factory.mktemp("bad-inputs")
    from crosstask.models.tiny import ensure_tiny_model

    ensure_tiny_model()  # built once here, so no case prints its first-use progress
    mal, ben = root / "mal.jsonl", root / "ben.jsonl"
    write_jsonl(mal, [d.to_dict() for d in placeholder_docs(8, "malicious")])
    write_jsonl(ben, [d.to_dict() for d in placeholder_docs(6, "benign")])
    from crosstask.data.defense import build_defense_dataset, parse_defense_config

    ds = root / "ds"
    build_defense_dataset(parse_defense_config({
        "recipe": "mixed", "n": 2, "tasks": ["summarize", "sentiment"], "test_size": 0, "progress": False,
        "reference_model": "tiny-random", "malicious": [{"kind": "documents", "path": str(mal)}]}), ds)
    a_file = root / "a-file.txt"
    a_file.write_text("placeholder\n", encoding="utf-8")
    exp = root / "exp.yaml"
    exp.write_text(
        "name: bad\nmodel: {name: tiny-random}\n"
        "documents:\n  sources:\n"
        f"    - {{kind: documents, path: {mal}, label: malicious, limit: 6}}\n"
        f"    - {{kind: documents, path: {ben}, label: benign, limit: 6}}\n"
        "  heldout: {malicious: 2, benign: 2}\n"
        "defense: {tasks: [summarize], builder: {progress: false}}\n"
        "models: [{recipe: none}, {recipe: mixed, n: 2}]\n"
        "train: {preset: tiny, max_steps: 1}\n"
        "eval: {tasks: [summarize], options: {max_new_tokens: 4}}\n", encoding="utf-8")
    dup = root / "dup.yaml"
    dup.write_text("name: bad\nseed: 1\nseed: 2\n", encoding="utf-8")
    dup_train = root / "dup-train.yaml"
    dup_train.write_text("train:\n  lora_r: 4\n  learning_rate: 1e-3\n  lora_r: 8\n", encoding="utf-8")
    broken = root / "broken.yaml"
    broken.write_text("train: [unclosed\n", encoding="utf-8")
    labels_nan = root / "labels-nan.csv"
    labels_nan.write_text("assistant_response,human_score\nPlaceholder answer one.,1\nPlaceholder answer two.,nan\n",
                          encoding="utf-8")
    labels_neg = root / "labels-neg.jsonl"
    labels_neg.write_text(json.dumps({"assistant_response": "Placeholder answer.", "human_score": -7}) + "\n",
                          encoding="utf-8")
    # An adapter folder with a pickle file beside an unrelated safetensors file, and a model folder
    # with pickle weights: both must be refused before anything is loaded.
    pickled_adapter = root / "pickled-adapter"
    pickled_adapter.mkdir()
    (pickled_adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}), encoding="utf-8")
    (pickled_adapter / "unrelated.safetensors").write_bytes(b"")
    (pickled_adapter / "adapter_model.bin").write_bytes(b"placeholder, not a real pickle")
    (pickled_adapter / "crosstask_train.json").write_text(json.dumps({"base_model": "tiny-random"}), encoding="utf-8")
    pickled_model = root / "pickled-model"
    pickled_model.mkdir()
    (pickled_model / "config.json").write_text("{}", encoding="utf-8")
    (pickled_model / "pytorch_model.bin").write_bytes(b"placeholder")
    return {"root": root, "mal": mal, "ben": ben, "ds": ds, "file": a_file, "exp": exp, "dup": dup,
            "dup_train": dup_train, "broken": broken, "labels_nan": labels_nan, "labels_neg": labels_neg,
            "pickled_adapter": pickled_adapter, "pickled_model": pickled_model}


def _keep_threads(monkeypatch) -> None:
    """The CLI's thread choice left as this test process has it (OMP_NUM_THREADS set: no change)."""
    import torch

    monkeypatch.delenv("CROSSTASK_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS") or str(torch.get_num_threads()))


def run_cli(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """``crosstask ARGS`` in this process: (exit code, stdout, stderr). Any exception other than the
    exit of a handled error fails the test with its traceback."""
    from crosstask.cli.main import main

    monkeypatch.setattr(sys, "argv", ["crosstask", *args])
    _keep_threads(monkeypatch)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


# (case id, arguments with {placeholders}, what the message must name, the output path that must not appear)
CASES: list[tuple[str, list[str], list[str], str | None]] = [
    # --- crosstask train: ranges checked before any work (each used to crash in torch or mid-loop)
    ("train-lr-negative", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--lr", "-1"],
     ["learning_rate", "greater than 0"], "{out}"),
    ("train-lr-nan", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set", "learning_rate=.nan"],
     ["learning_rate", "finite"], "{out}"),
    ("train-lora-dropout-5", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--lora-dropout", "5"],
     ["lora_dropout", "less than 1"], "{out}"),
    ("train-logging-steps-0", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--logging-steps", "0"],
     ["logging_steps", "greater than or equal to 1"], "{out}"),
    ("train-max-steps-0", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--max-steps", "0"],
     ["max_steps"], "{out}"),
    ("train-max-steps-negative", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--max-steps", "-3"],
     ["max_steps"], "{out}"),
    ("train-lora-r-text", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set", "lora_r=four"],
     ["lora_r", "valid integer"], "{out}"),
    ("train-batch-size-0", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--batch-size", "0"],
     ["batch_size"], "{out}"),
    ("train-warmup-ratio-2", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set", "warmup_ratio=2"],
     ["warmup_ratio", "less than or equal to 1"], "{out}"),
    ("train-epochs-0", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--epochs", "0"],
     ["num_epochs"], "{out}"),
    ("train-scheduler-unknown", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--lr-scheduler", "wobbly"],
     ["lr_scheduler", "linear"], "{out}"),
    ("train-dtype-unknown", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--base-dtype", "int8"],
     ["base_dtype", "unknown dtype 'int8'"], "{out}"),
    ("train-no-target-modules", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set",
                                 "lora_target_modules=[]"], ["lora_target_modules"], "{out}"),
    ("train-task-weight-negative", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set",
                                    "task_weights={{summarize: -1}}"], ["task_weights.summarize"], "{out}"),
    ("train-task-weight-unknown-task", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set",
                                        "task_weights={{juggle: 2}}"], ["task_weights", "unknown task 'juggle'"], "{out}"),
    ("train-divergence-factor-1", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set",
                                   "divergence_factor=1"], ["divergence_factor"], "{out}"),
    ("train-prompt-format-unknown", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--prompt-format",
                                     "vicuna"], ["prompt_format", "unknown prompt format"], "{out}"),
    ("train-seed-negative", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--seed", "-1"],
     ["seed"], "{out}"),
    ("train-unknown-key", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set", "lora_rank=4"],
     ["lora_rank", "unknown training config key"], "{out}"),
    ("train-duplicate-yaml-key", ["train", "{ds}", "--out", "{out}", "--config", "{dup_train}"],
     ["dup-train.yaml", "duplicate key 'lora_r'", "line 4"], "{out}"),
    ("train-malformed-yaml", ["train", "{ds}", "--out", "{out}", "--config", "{broken}"],
     ["broken.yaml", "malformed YAML"], "{out}"),
    ("train-set-duplicate-key", ["train", "{ds}", "--out", "{out}", "--preset", "tiny", "--set",
                                 "task_weights={{summarize: 1, summarize: 2}}"], ["duplicate key 'summarize'"], "{out}"),
    ("train-out-under-a-file", ["train", "{ds}", "--out", "{file}/sub", "--preset", "tiny"],
     ["a-file.txt", "is a file, not a folder"], "{file}/sub"),
    ("train-out-is-a-file", ["train", "{ds}", "--out", "{file}", "--preset", "tiny"],
     ["a-file.txt", "output folder is a file"], None),
    # --- crosstask eval run
    ("eval-limit-negative", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--limit", "-1",
                             "--out", "{out}"], ["limit", "greater than or equal to 1"], "{out}"),
    ("eval-bootstrap-negative", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random",
                                 "--bootstrap-resamples", "-5", "--out", "{out}"], ["bootstrap_resamples"], "{out}"),
    ("eval-max-new-tokens-0", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--set",
                               "max_new_tokens=0", "--out", "{out}"], ["max_new_tokens"], "{out}"),
    ("eval-batch-size-0", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--batch-size", "0",
                           "--out", "{out}"], ["batch_size"], "{out}"),
    ("eval-benign-as-malicious", ["eval", "run", "--malicious", "{ben}", "--model", "tiny-random", "--out", "{out}"],
     ["ben.jsonl", "labelled 'benign'", "'malicious' set", "field 'label'"], "{out}"),
    ("eval-unknown-judge", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--judge", "oracle",
                            "--out", "{out}"], ["judges", "unknown judge 'oracle'"], "{out}"),
    ("eval-refusal-only-bad-set", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--set",
                                   "refusal_only=[evil]", "--out", "{out}"], ["refusal_only", "'evil'"], "{out}"),
    ("eval-generation-dtype", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random",
                               "--generation-dtype", "int4", "--out", "{out}"], ["generation_dtype"], "{out}"),
    ("eval-unknown-task", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--tasks", "juggle",
                           "--out", "{out}"], ["tasks", "unknown task 'juggle'"], "{out}"),
    ("eval-out-under-a-file", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--out",
                               "{file}/sub"], ["a-file.txt", "is a file, not a folder"], "{file}/sub"),
    ("eval-pickled-adapter", ["eval", "run", "--malicious", "{mal}", "--model", "tiny-random", "--adapter",
                              "{pickled_adapter}", "--out", "{out}"], ["pickled-adapter", "adapter_model.bin",
                                                                       "pickle"], "{out}"),
    ("eval-pickled-model", ["eval", "run", "--malicious", "{mal}", "--model", "{pickled_model}", "--out", "{out}"],
     ["pickled-model", "pytorch_model.bin", "pickle"], "{out}"),
    ("eval-source-limit-negative", ["eval", "run", "--malicious", "{{kind: documents, path: {mal}, limit: -2}}",
                                    "--model", "tiny-random", "--out", "{out}"], ["limit", ">= 0"], "{out}"),
    # --- crosstask merge
    ("merge-pickled-adapter", ["merge", "{pickled_adapter}", "--out", "{out}"], ["adapter_model.bin", "pickle"],
     "{out}"),
    ("merge-out-under-a-file", ["merge", "{pickled_adapter}", "--out", "{file}/merged"], ["a-file.txt"],
     "{file}/merged"),
    # --- crosstask data build / harvest
    ("build-n-negative", ["data", "build", "--malicious", "{mal}", "--n", "-1", "--out", "{out}"],
     ["field 'n'", "greater than or equal to 0"], "{out}"),
    ("build-opening-augmentation-2", ["data", "build", "--malicious", "{mal}", "--opening-augmentation", "2",
                                      "--out", "{out}"], ["opening_augmentation"], "{out}"),
    ("build-reference-dtype", ["data", "build", "--malicious", "{mal}", "--reference-dtype", "int8", "--out",
                               "{out}"], ["reference_dtype", "unknown dtype"], "{out}"),
    ("build-source-label-unknown", ["data", "build", "--malicious", "{{kind: documents, path: {mal}, label: evil}}",
                                    "--out", "{out}"], ["label", "'evil'"], "{out}"),
    ("build-out-under-a-file", ["data", "build", "--malicious", "{mal}", "--n", "1", "--recipe", "single:case",
                                "--out", "{file}/ds"], ["a-file.txt", "is a file, not a folder"], "{file}/ds"),
    ("harvest-limit-negative", ["data", "harvest", "--limit", "-2", "--model", "tiny-random", "--out", "{out}"],
     ["--limit", "at least 1"], "{out}"),
    ("harvest-n-zero", ["data", "harvest", "--kind", "news", "--n", "0", "--model", "tiny-random", "--out", "{out}"],
     ["--n", "at least 1"], "{out}"),
    ("harvest-top-p-0", ["data", "harvest", "--top-p", "0", "--model", "tiny-random", "--out", "{out}"],
     ["top_p"], "{out}"),
    ("harvest-min-distinct2", ["data", "harvest", "--min-distinct2", "2", "--model", "tiny-random", "--out", "{out}"],
     ["min_distinct2"], "{out}"),
    ("harvest-out-under-a-file", ["data", "harvest", "--kind", "news", "--n", "1", "--model", "tiny-random",
                                  "--out", "{file}/docs"], ["a-file.txt"], "{file}/docs"),
    # --- crosstask judge
    ("judge-label-nan", ["judge", "validate", "--no-builtin", "--judge", "refusal", "--data", "{labels_nan}"],
     ["labels-nan.csv", "record 2", "field 'human_score'", "'nan'"], None),
    ("judge-label-negative", ["judge", "validate", "--no-builtin", "--judge", "refusal", "--data", "{labels_neg}"],
     ["labels-neg.jsonl", "record 1", "field 'human_score'", "-7"], None),
    ("judge-unknown", ["judge", "validate", "--no-builtin", "--judge", "oracle", "--data", "{labels_neg}"],
     ["judges", "unknown judge"], None),
    ("judge-out-under-a-file", ["judge", "validate", "--no-builtin", "--judge", "refusal", "--data", "{labels_nan}",
                                "--out", "{file}/scores"], ["a-file.txt"], "{file}/scores"),
    # --- crosstask run: all of it caught by validation and planning, before any stage (and by --dry-run)
    ("run-lr-negative", ["run", "{exp}", "-o", "{out}", "--set", "train.learning_rate=-1"],
     ["exp.yaml", "train.learning_rate"], "{out}"),
    ("run-lr-negative-dry-run", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "train.learning_rate=-1"],
     ["train.learning_rate"], "{out}"),
    ("run-eval-limit-negative", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "eval.options.limit=-1"],
     ["eval.options.limit"], "{out}"),
    ("run-bootstrap-negative", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                                "eval.options.bootstrap_resamples=-5"], ["eval.options.bootstrap_resamples"], "{out}"),
    ("run-logging-steps-0", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "train.logging_steps=0"],
     ["train.logging_steps"], "{out}"),
    ("run-model-override-dropout", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                                    "models.1.train={{lora_dropout: 5}}"], ["models.1.train.lora_dropout"], "{out}"),
    ("run-impossible-n", ["run", "{exp}", "-o", "{out}", "--set", "models.1.n=10"],
     ["models.1.n", "at most 6", "2 are held out"], "{out}"),
    ("run-impossible-n-dry-run", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "models.1.n=10"],
     ["models.1.n"], "{out}"),
    ("run-impossible-benign", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                               "defense.builder.benign_per_task=9"], ["defense.builder.benign_per_task"], "{out}"),
    ("run-heldout-too-many", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "documents.heldout.malicious=7"],
     ["documents.heldout.malicious", "at most 6"], "{out}"),
    ("run-source-limit-negative", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                                   "documents.sources.0.limit=-1"], ["documents.sources.0.limit"], "{out}"),
    ("run-unknown-source-kind", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "documents.sources.0.kind=pdfs"],
     ["documents.sources.0.kind", "unknown source kind 'pdfs'"], "{out}"),
    ("run-harvest-option-range", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                                  "documents.sources.0={{kind: harvest, label: malicious, limit: 6, options: "
                                  "{{goals: advbench, max_new_tokens: 0}}}}"],
     ["documents.sources.0.options.max_new_tokens", "greater than or equal to 1"], "{out}"),
    ("run-generated-option-unknown", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                                      "documents.sources.1={{kind: generated-news, options: {{n: 6, tempreature: 1}}}}"],
     ["documents.sources.1.options", "unknown option(s) tempreature"], "{out}"),
    ("run-generated-n-zero", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set",
                              "documents.sources.1={{kind: generated-news, options: {{n: 0}}}}"],
     ["documents.sources.1.options.n"], "{out}"),
    ("run-seed-negative", ["run", "{exp}", "-o", "{out}", "--dry-run", "--set", "seed=-1"], ["seed"], "{out}"),
    ("run-duplicate-yaml-key", ["run", "{dup}", "-o", "{out}", "--dry-run"],
     ["dup.yaml", "duplicate key 'seed'", "line 3"], "{out}"),
    ("run-out-under-a-file", ["run", "{exp}", "-o", "{file}/run"], ["a-file.txt", "is a file, not a folder"],
     "{file}/run"),
    ("run-out-under-a-file-dry-run", ["run", "{exp}", "-o", "{file}/run", "--dry-run"], ["a-file.txt"],
     "{file}/run"),
    ("run-missing-config", ["run", "{root}/no-such.yaml"], ["no-such.yaml", "not found"], None),
    # --- the global --threads option
    ("threads-zero", ["--threads", "0", "judge", "list"], ["--threads", "at least 1"], None),
]


def _fill(value: str, files: dict[str, Path], out: Path) -> str:
    return value.format(out=out, **{k: str(v) for k, v in files.items()})


@pytest.mark.parametrize(("args", "names", "absent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, names, absent, files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    code, stdout, stderr = run_cli([_fill(a, files, out) for a in args], capsys, monkeypatch)
    text = stderr.strip()
    assert code == 2, (stdout, stderr)
    assert "Traceback" not in stdout + stderr
    assert text.startswith("error: ") and "\n" not in text, stderr
    for name in names:
        assert _fill(name, files, out) in text, text
    if absent is not None:
        assert not Path(_fill(absent, files, out)).exists()


def test_the_suite_has_40_distinct_cases():
    assert len({c[0] for c in CASES}) == len(CASES) >= 40


def test_values_yaml_reads_as_strings_are_numbers(files, tmp_path, capsys, monkeypatch):
    """``1e-3`` (a string to YAML), ``"16"`` and ``"3"`` are numbers once validated: the dry run passes
    and the stage configs hold numbers."""
    from crosstask.pipeline import plan_run

    sets = ["train.learning_rate=1e-3", "eval.options.max_new_tokens='16'", "eval.options.limit='3'",
            "train.lora_r='4'"]
    code_args = ["run", str(files["exp"]), "-o", str(tmp_path / "out"), "--dry-run"]
    for s in sets:
        code_args += ["--set", s]
    from crosstask.cli.main import main

    _keep_threads(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["crosstask", *code_args])
    main()  # no exit: accepted
    assert not (tmp_path / "out").exists()
    plan = plan_run(files["exp"], overrides=sets, output_dir=tmp_path / "out")
    train = plan.config.train_config()
    assert train.learning_rate == 0.001 and train.lora_r == 4
    assert plan.config.eval.options.max_new_tokens == 16 and plan.config.eval.options.limit == 3


def test_markup_in_errors_and_paths_prints_as_text(files, tmp_path, capsys, monkeypatch):
    """An error naming a path with ``[/]`` and ``[red]`` prints it as written (rich used to crash on
    ``[/]`` and swallow ``[red]``)."""
    weird = tmp_path / "run[/]x [red]here" / "exp.yaml"
    code, stdout, stderr = run_cli(["run", str(weird)], capsys, monkeypatch)
    assert code == 2 and "Traceback" not in stdout + stderr
    assert str(weird) in stderr and "\n" not in stderr.strip()


def test_markup_in_example_ids_prints_as_text(files, tmp_path, capsys, monkeypatch):
    docs = tmp_path / "odd.jsonl"
    write_jsonl(docs, [{**d.to_dict(), "id": f"doc[/]{i}[red]"} for i, d in enumerate(placeholder_docs(3, "malicious"))])
    out = tmp_path / "ds[red]"
    from crosstask.cli.main import main

    _keep_threads(monkeypatch)
    monkeypatch.setattr(sys, "argv", ["crosstask", "data", "build", "--malicious", str(docs), "--recipe", "single:case",
                                      "--n", "2", "--test-size", "0", "--out", str(out)])
    main()
    # example ids are the builder's own; give them markup too, as a hand-made dataset might
    records = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    write_jsonl(out / "train.jsonl", [{**r, "id": f"ex[/]{i}[red]"} for i, r in enumerate(records)])
    monkeypatch.setattr(sys, "argv", ["crosstask", "data", "inspect", str(out), "--examples", "2"])
    capsys.readouterr()
    main()
    printed = capsys.readouterr().out
    assert "ds[red]" in printed and "ex[/]0[red]" in printed


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root may write anywhere")
def test_unwritable_out_fails_before_work(files, tmp_path, capsys, monkeypatch):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        code, _, stderr = run_cli(["train", str(files["ds"]), "--out", str(locked / "run"), "--preset", "tiny"],
                                  capsys, monkeypatch)
    finally:
        os.chmod(locked, 0o700)
    assert code == 2 and "not writable" in stderr and not (locked / "run").exists()
