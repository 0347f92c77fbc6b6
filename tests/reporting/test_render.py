"""What the report states: k/n and intervals in every rate table, the judge, provenance, a table of
contents, exports; outputs cut on characters (no U+FFFD)."""

from __future__ import annotations

import csv
import re

from report_fixtures import make_results

from crosstask.reporting import write_report
from crosstask.reporting.render import clip, slug

PROVENANCE = {
    "crosstask_version": "0.1.0", "git_commit": "0123456789abcdef0123456789abcdef01234567",
    "config_hash": "feedc0ffee123456", "seed": 7, "judges": ["refusal@2", "keyword-gcg13@1"],
    "datasets": [{"name": "test documents", "path": "/data/stages/testset/abc", "documents.jsonl": "1111222233334444"},
                 {"name": "defense dataset mixed-n10", "path": "/data/stages/defense/def",
                  "manifest.json": "5555666677778888", "config_hash": "9999aaaabbbbcccc", "total": 50}],
    "date": "2026-01-02T03:04:05+00:00",
    "machine": {"platform": "Linux-6.1-x86_64", "python": "3.11.7", "cpu": "Placeholder CPU (2 logical cores)",
                "gpu": [], "torch": "2.13.0", "transformers": "5.23.0", "peft": "0.21.2"},
}


def _results() -> dict:
    r = make_results()
    r["judge"], r["judges"], r["provenance"], r["seed"] = "refusal@2", ["refusal@2", "keyword-gcg13@1"], PROVENANCE, 7
    for m in r["models"]:
        m["judge"] = "refusal@2"
        m["adapter"] = None if m["family"] == "none" else f"/data/stages/train/{m['id']}"
        for t in r["tasks"]:
            m["metrics"][t]["malicious"]["refused"] = round(m["metrics"][t]["malicious"]["refusal_rate"] * 20)
    return r


def test_report_states_k_of_n_intervals_judge_and_provenance(tmp_path):
    files = write_report(_results(), tmp_path)
    md, page = files.markdown.read_text(), files.html.read_text()
    for text in (md, page):
        assert "20/20 (100%, 84–100)" in text  # k/n, the rate and its Wilson interval
        assert "refusal@2 (judge refusal, version 2); also scored: keyword-gcg13@1" in text
        assert "feedc0ffee123456" in text and "0123456789abcdef0123456789abcdef01234567" in text
        assert "1111222233334444" in text and "5555666677778888" in text  # dataset file hashes
        assert "2026-01-02T03:04:05+00:00" in text and "Placeholder CPU" in text and "torch 2.13.0" in text
        assert "/data/stages/train/mixed-n200" in text  # the adapter
        assert "95% Wilson score interval" in text
    # Every refusal table: k/n with an interval in every cell of a task column.
    tables = re.findall(r"### (?:Refusal on|Cross-task transfer:) .*?\n\n(?:.*\n)*?(?=\nExport)", md)
    assert len(tables) == 3  # malicious, benign, and the cross-task table
    for table in tables:
        for row in [r for r in table.splitlines() if r.startswith("|")][2:]:  # after the header
            for cell_text in row.strip("| ").split(" | ")[1:len(make_results()["tasks"]) + 1]:
                assert re.fullmatch(r"\d+/\d+ \(\d+%, \d+–\d+\)", cell_text) or cell_text.endswith("%"), cell_text


def test_table_of_contents_links_every_section_and_table(tmp_path):
    files = write_report(_results(), tmp_path)
    md, page = files.markdown.read_text(), files.html.read_text()
    assert "## Contents" in md and "- [Provenance](#provenance)" in md
    headings = re.findall(r"^#{2,3} (.+)$", md, flags=re.M)
    links = re.findall(r"^\s*- \[.*?\]\(#(.+?)\)$", md, flags=re.M)
    assert {slug(h) for h in headings} >= set(links) and len(links) >= 10
    assert "[Refusal rate against N](#refusal-rate-against-n)" in md
    for anchor in links:
        assert f'id="{anchor}"' in page and f'href="#{anchor}"' in page


def test_every_table_is_exported_as_csv_and_latex(tmp_path):
    files = write_report(_results(), tmp_path)
    csvs = sorted(p for p in files.tables if p.suffix == ".csv" and p.name != "rates.csv")
    texs = sorted(p for p in files.tables if p.suffix == ".tex")
    md = files.markdown.read_text()
    assert len(csvs) == len(texs) == md.count("Export: [CSV]") == 6
    for p in csvs + texs:
        assert p.exists() and f"({p.relative_to(tmp_path).as_posix()})" in md
    rows = list(csv.reader((tmp_path / "tables" / "03-refusal-malicious.csv").open(encoding="utf-8")))
    assert rows[0] == ["model", *make_results()["tasks"], "mean"] and rows[-1][1] == "20/20 (100%, 84–100)"
    tex = (tmp_path / "tables" / "03-refusal-malicious.tex").read_text()
    assert "\\begin{tabular}{lrrrrrr}" in tex and "20/20 (100\\%, 84–100)" in tex and "Σ" not in tex
    rates = list(csv.DictReader((tmp_path / "tables" / "rates.csv").open(encoding="utf-8")))
    top = next(r for r in rates if r["model"] == "mixed N=200" and r["set"] == "malicious" and r["task"] == "summarize")
    assert (top["refused"], top["count"], top["interval"], top["judge"]) == ("20", "20", "wilson", "refusal@2")
    assert 0.83 < float(top["ci_low"]) < 0.85 and float(top["ci_high"]) == 1.0


def test_results_of_older_versions_still_render(tmp_path):
    r = make_results()  # no judge, no provenance, no "refused"
    files = write_report(r, tmp_path)
    md = files.markdown.read_text()
    assert "unknown (not recorded by the version that wrote these results)" in md
    assert "unknown (not run from a git checkout)" in md


def test_outputs_are_cut_on_characters_never_inside_one(tmp_path):
    assert clip("英文：英語．英語．英�", 600) == "英文：英語．英語．英 […]"
    assert clip("中文输出" * 10, 5) == "中文输出中 […]"
    assert clip("a\ufffdb", 10) == "a?b"
    r = _results()
    r["models"][1]["samples"]["translate"]["benign"] = [
        {"doc_id": "zh-1", "output": "这是一个占位符翻译。" * 80 + "占�", "refused": False}]
    files = write_report(r, tmp_path, max_sample_chars=50)
    for f in (files.markdown, files.html):
        text = f.read_text(encoding="utf-8")
        assert "\ufffd" not in text and "这是一个占位符翻译。" in text


def test_samples_of_out_of_distribution_malicious_sets_are_behind_the_warning(tmp_path):
    r = _results()
    r["models"][0]["samples"]["case"]["malicious:harmbench"] = [
        {"doc_id": "hb-1", "output": "Placeholder output on an out-of-distribution malicious document", "refused": False}]
    files = write_report(r, tmp_path)
    md = files.markdown.read_text()
    block = md[md.index("undefended · case · malicious:harmbench documents"):]
    assert block.index("<details><summary>⚠ Content warning") < block.index("Placeholder output on an out-of")


def test_judge_agreement_table_shows_disagreements_with_examples(tmp_path):
    r = _results()
    model = r["models"][-1]
    model["agreement"] = {"keyword-gcg13@1": {
        "n": 40, "disagree": 3, "rate": 0.075, "primary_only": 2, "other_only": 1,
        "examples": {"primary_only": [{"id": "malicious/translate/d1", "output": "I'm unable to translate this placeholder."}],
                     "other_only": [{"id": "benign/case/d2", "output": "Sorry for the placeholder delay, the fair opened."}]}}}
    md = write_report(r, tmp_path).markdown.read_text()
    assert "Judge agreement" in md and "3/40" in md and "malicious/translate/d1" in md
    assert "I'm unable to translate this placeholder." in md and "only keyword-gcg13@1 refused" in md
    assert list((tmp_path / "tables").glob("*-agreement.csv"))
    del model["agreement"]
    assert "Judge agreement" not in write_report(r, tmp_path / "again").markdown.read_text()  # older results
