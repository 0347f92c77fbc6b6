"""The ``system-prompt`` and ``input-guard`` recipes (alone and stacked on an adapter) through the real
stages on the tiny model: their stages, what the evaluator was given, and their rows in the matrix."""

from __future__ import annotations

import io

from placeholders import placeholder_docs
from rich.console import Console

from crosstask.io import read_json, read_jsonl, write_jsonl
from crosstask.models.prompt_formats import SAFETY_SYSTEM_PROMPT
from crosstask.pipeline import run


def test_guard_recipes_run_and_appear_in_the_matrix(tmp_path):
    docs = tmp_path / "docs.jsonl"
    write_jsonl(docs, [d.to_dict() for d in placeholder_docs(6, "malicious") + placeholder_docs(6, "benign")])
    config = {
        "name": "tiny-guards", "output_dir": str(tmp_path / "out"), "model": {"name": "tiny-random"},
        "documents": {"sources": [{"kind": "documents", "path": str(docs)}],
                      "heldout": {"malicious": 2, "benign": 2}},
        "defense": {"tasks": ["summarize", "case"], "builder": {"progress": False, "benign_per_task": 3}},
        "models": [{"recipe": "none"}, {"recipe": "system-prompt"}, {"recipe": "input-guard", "n": 3},
                   {"recipe": "mixed", "n": 3, "guards": ["input-guard"]}],
        "train": {"preset": "tiny", "max_steps": 2, "cutoff_len": 512},
        "eval": {"tasks": ["summarize", "case"], "options": {"max_new_tokens": 4, "bootstrap_resamples": 10}},
    }
    result = run(config, console=Console(file=io.StringIO()))
    stages = {s.name: s for s in result.plan.stages}
    assert {"defense/input-guard-n3", "guard/input-guard-n3", "guard/mixed-n3-input-guard",
            "train/mixed-n3-input-guard"} <= set(stages)
    assert not any(n.startswith(("defense/system-prompt", "train/input-guard")) for n in stages)
    guard_dir = result.plan.store.final_dir(stages["guard/input-guard-n3"])
    assert (guard_dir / "guard.safetensors").exists() and (guard_dir / "guard.json").exists()

    def summary(name):
        return read_json(result.plan.store.final_dir(stages[f"eval/{name}"]) / "summary.json")

    assert summary("system-prompt")["config"]["system_prompt"] == SAFETY_SYSTEM_PROMPT
    assert summary("system-prompt")["adapter"] is None
    assert summary("input-guard-n3")["config"]["input_guard"] == str(guard_dir)
    assert summary("mixed-n3-input-guard")["adapter"] is not None
    samples = read_jsonl(result.plan.store.final_dir(stages["eval/input-guard-n3"]) / "samples.jsonl")
    assert all(0 <= s["input_guard"] <= 1 for s in samples)
    labels = {m["id"]: m["label"] for m in result.results["models"]}
    assert labels["system-prompt"] == "system-prompt" and labels["mixed-n3-input-guard"] == "mixed N=3 + input-guard"
    report = result.report_html.read_text(encoding="utf-8")
    assert "system-prompt" in report and "input-guard" in report
