"""results.json records the judge and the provenance (code, config hash, seed, data, date, machine);
the report shows them; a stage summary of an older version (no judge) still collects."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

from pipeline_standins import StandIns, base_config
from rich.console import Console

import crosstask.version
from crosstask.io import append_jsonl, write_json
from crosstask.pipeline import actions, load_config, run
from crosstask.pipeline.provenance import config_hash, file_sha256, git_commit, machine


class JudgedStandIns(StandIns):
    """Stand-ins whose evaluation writes a summary.json naming its judges, as the evaluator does."""

    def eval(self, ctx):
        out = super().eval(ctx)
        for per_set in out["metrics"].values():
            for c in per_set.values():
                c["refused"] = round(c["refusal_rate"] * c["count"])
        write_json(ctx.work_dir / "summary.json", {"judge": "refusal@2", "judges": ["refusal@2", "keyword-gcg13@1"]})
        return out

    def train(self, ctx):
        out = super().train(ctx)
        for step in (1, 2, 3):
            append_jsonl(ctx.work_dir / "metrics.jsonl", {"step": step, "loss": 1.0, "loss/summarize": 0.5 * step,
                                                          "loss/summarize/malicious": 0.1})
        return out


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def test_results_and_report_record_judge_and_provenance(tmp_path):
    cfg = base_config(tmp_path)
    cfg["seed"] = 11
    result = run(cfg, actions=JudgedStandIns().actions(), console=_quiet())
    results = json.loads((result.output_dir / "results.json").read_text())
    assert results["judge"] == "refusal@2" and results["judges"] == ["refusal@2", "keyword-gcg13@1"]
    assert all(m["judge"] == "refusal@2" for m in results["models"])
    prov = results["provenance"]
    expected_hash = config_hash(load_config(cfg).model_dump(mode="json"))
    assert prov["config_hash"] == expected_hash and prov["seed"] == 11
    assert prov["crosstask_version"] and re.match(r"\d{4}-\d\d-\d\dT", prov["date"])
    assert prov["machine"]["platform"] and prov["machine"]["torch"]
    names = [d["name"] for d in prov["datasets"]]
    assert names[0] == "test documents" and sum(n.startswith("defense dataset") for n in names) == 5
    defense = next(d for d in prov["datasets"] if d["name"].startswith("defense dataset"))
    assert re.fullmatch(r"[0-9a-f]{16}", defense["manifest.json"])
    mixed = result.model("mixed-n2")
    assert mixed["adapter"] and mixed["adapter"].endswith(mixed["stages"]["train"][:8])
    assert mixed["loss_components"] == {"loss/summarize": [[1, 0.5], [2, 1.0], [3, 1.5]]}
    cell = mixed["metrics"]["summarize"]["malicious"]
    assert cell["interval"] == "wilson" and cell["refused"] == 2 and cell["ci"][0] > 0
    md = result.report_md.read_text()
    assert "refusal@2 (judge refusal, version 2)" in md and expected_hash in md and "| seed | 11 |" in md
    assert re.search(r"\| \d/2 \(\d+%, \d+–\d+\) \|", md)  # k/n with its interval
    assert "training_loss_components.png" in md


def test_stage_summaries_of_older_versions_still_collect(tmp_path):
    result = run(base_config(tmp_path), actions=StandIns().actions(), console=_quiet())
    assert result.results["judge"] is None
    assert "unknown (not recorded by the version that wrote these results)" in result.report_md.read_text()


def test_config_hash_leaves_out_where_outputs_go():
    a = {"name": "x", "seed": 1, "output_dir": "/a", "stages_dir": None}
    assert config_hash(a) == config_hash({**a, "output_dir": "/b", "stages_dir": "/s"}) != config_hash({**a, "seed": 2})


def test_git_commit_file_hash_and_machine(tmp_path):
    commit = git_commit()
    here = Path(crosstask.version.__file__).parent  # where the package runs from
    checkout = shutil.which("git") is not None and subprocess.run(
        ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True).returncode == 0
    if checkout:  # running from the repository: the commit is known
        assert commit and re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", commit)
    else:
        assert commit is None
    (tmp_path / "f.txt").write_bytes(b"abc")
    assert file_sha256(tmp_path / "f.txt") == "ba7816bf8f01cfea" and file_sha256(tmp_path / "missing") is None
    m = machine()
    assert m["python"] and "logical cores" in m["cpu"] and isinstance(m["gpu"], list)


def test_loss_components_read_the_per_task_keys(tmp_path):
    for step in (1, 2):
        append_jsonl(tmp_path / "metrics.jsonl", {"step": step, "loss": 2.0 / step, "loss/case": 1.0,
                                                  "loss/case/benign": 0.3, "grad_norm": 1.0})
    assert actions.loss_components(tmp_path) == {"loss/case": [[1, 1.0], [2, 1.0]]}
    assert actions.loss_curve(tmp_path) == [[1, 2.0], [2, 1.0]]
