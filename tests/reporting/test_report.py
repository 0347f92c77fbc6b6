"""Report files: tables, embedded plots, collapsed malicious samples, and rendering in Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from report_fixtures import make_results

from crosstask.reporting import write_report
from crosstask.reporting.report_tables import transfer_matrix


@pytest.fixture
def results() -> dict:
    return make_results()


CHROMIUM = Path("/usr/bin/chromium")
# Runs after the page loaded: records what the browser decoded and laid out.
_PROBE = """<script>window.addEventListener('load', () => {
  const imgs = [...document.images].map(i => [i.dataset.plot, i.naturalWidth, i.naturalHeight, i.complete]);
  const tables = [...document.querySelectorAll('table')].map(t => [t.rows.length, t.getBoundingClientRect().height]);
  document.body.setAttribute('data-probe', JSON.stringify({imgs, tables}));
});</script></body>"""


def test_report_files_and_content(results, tmp_path):
    files = write_report(results, tmp_path)
    assert {p.name for p in files.plots} == {
        "refusal_vs_n.png", "cross_task_heatmap.png", "safety_utility.png", "training_loss.png"}
    for p in files.plots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(files.results.read_text()) == results
    md = files.markdown.read_text()
    # results.json of older versions had no "refused": it is recovered from rate × count (the rate is k/n).
    assert "| mixed N=200 | 20/20 (100%, 84–100) |" in md
    assert "![Refusal rate against N](plots/refusal_vs_n.png)" in md
    page = files.html.read_text()
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r'src="(?!data:)', page), "the HTML must not reference external files"
    # Every malicious sample sits behind a warning; benign ones do not.
    n_mal = sum(len(m["samples"][t]["malicious"]) for m in results["models"] for t in results["tasks"])
    assert page.count("<details><summary>⚠ Content warning") == n_mal
    assert md.count("<details><summary>⚠ Content warning") == n_mal
    # Sample text is escaped, not injected as markup.
    assert "<b>[redacted]</b>" not in page and html.escape("<b>[redacted]</b>") in page


def test_transfer_matrix_uses_largest_n_per_family(results):
    rows, tasks, values = transfer_matrix(results)
    assert rows == ["undefended", "single:summarize N=200", "mixed N=200"]
    assert values[2][0] == 1.0


def test_report_without_defenses_or_samples(results, tmp_path):
    results["models"] = [m for m in results["models"] if m["family"] == "none"]
    for m in results["models"]:
        m["samples"] = {}
    files = write_report(results, tmp_path)
    assert [p.name for p in files.plots] == ["safety_utility.png"]
    assert "Cross-task transfer" not in files.markdown.read_text()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")
def test_html_renders_in_headless_chromium(results, tmp_path):
    files = write_report(results, tmp_path / "report")
    probe = tmp_path / "probe.html"
    probe.write_text(files.html.read_text().replace("</body>", _PROBE), encoding="utf-8")
    cmd = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=5000", "--dump-dom", probe.as_uri(),
    ]
    shot = [*cmd[:-2], "--window-size=1200,2400", f"--screenshot={tmp_path / 'report.png'}", probe.as_uri()]
    subprocess.run(shot, capture_output=True, timeout=120, check=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, "the page did not finish loading"
    probed = json.loads(html.unescape(found.group(1)))
    assert len(probed["imgs"]) == 4
    for name, width, height, complete in probed["imgs"]:
        assert complete and width > 200 and height > 100, f"plot {name} did not decode"
    # the rate tables, and the provenance and models tables
    assert len(probed["tables"]) == files.html.read_text().count("<table>") == 6
    for n_rows, height in probed["tables"]:
        assert n_rows >= 2 and height > 0
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)


def test_out_of_distribution_sets_come_first_with_counts_and_the_frontier(results, tmp_path):
    from crosstask.reporting.report_tables import all_tables, sets_present

    for k, m in enumerate(results["models"]):
        for t in results["tasks"]:
            m["metrics"][t]["malicious:harmbench"] = {"refusal_rate": 0.5, "count": 50, "refused": 25,
                                                      "ci": [0.36, 0.64]}
            m["metrics"][t]["sensitive-benign:beavertails"] = {"refusal_rate": 0.1 * (k % 4), "count": 40,
                                                               "refused": 4 * (k % 4), "ci": [0.0, 0.5]}
            m["metrics"][t]["sensitive-benign"] = {"refusal_rate": 0.05, "count": 20, "refused": 1}
    assert sets_present(results) == ["malicious:harmbench", "sensitive-benign:beavertails", "malicious", "benign",
                                     "sensitive-benign"]
    titles = [t.title for t in all_tables(results)]
    assert titles[0] == ("Refusal on malicious documents (harmbench, out of distribution): refusal "
                         "(higher is safer)")
    assert titles[2].startswith("Refusal on malicious documents (held out, in distribution)")
    files = write_report(results, tmp_path)
    assert "generalization_frontier.png" in {p.name for p in files.plots}
    md = files.markdown.read_text()
    assert "| undefended | 25/50 (50%, 37–63) |" in md


def test_k_of_n_with_its_interval():
    from crosstask.reporting.report_tables import k_of_n

    model = {"metrics": {"case": {"malicious": {"refusal_rate": 0.94, "count": 50, "refused": 47, "ci": [0.84, 0.98]},
                                  "benign": {"refusal_rate": 0.5}}}}
    assert k_of_n(model, "case", "malicious", interval=True) == "47/50 (94%, 84–98)"
    assert k_of_n(model, "case", "malicious") == "47/50 (94%)"
    assert k_of_n(model, "case", "benign", interval=True) == "50%"
    assert k_of_n(model, "case", "sensitive-benign", interval=True) == "–"


# Runs once the page and its fonts loaded: the embedded CJK face's status and what it lays out.
_FONT_PROBE = """<script>window.addEventListener('load', async () => {
  await document.fonts.ready;
  const faces = [...document.fonts].map(f => [f.family.replace(/"/g, ''), f.status]);
  const ctx = document.createElement('canvas').getContext('2d');
  const width = (font, text) => { ctx.font = font; return ctx.measureText(text).width; };
  const pre = [...document.querySelectorAll('pre')].find(p => p.textContent.includes('占位符'));
  document.body.setAttribute('data-fonts', JSON.stringify({
    faces, check: document.fonts.check('40px "crosstask CJK"', '占位符'),
    embedded: width('40px "crosstask CJK"', '占位符'), latin: width('40px "crosstask CJK", monospace', 'abc'),
    preFont: pre ? getComputedStyle(pre).fontFamily : null}));
});</script></body>"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")
def test_chinese_text_is_drawn_with_the_embedded_font_in_chromium(results, tmp_path):
    from crosstask.reporting.fonts import FAMILY, find_cjk_font

    if find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei): nothing is embedded")
    for m in results["models"]:
        for task in results["tasks"]:
            for s in m["samples"][task]["benign"]:
                s["output"] = "这是一个占位符翻译。"
    files = write_report(results, tmp_path / "report")
    probe = tmp_path / "probe.html"
    probe.write_text(files.html.read_text().replace("</body>", _FONT_PROBE), encoding="utf-8")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    found = re.search(r'data-fonts="([^"]*)"', dom)
    assert found, "the page's fonts did not finish loading"
    probed = json.loads(html.unescape(found.group(1)))
    assert [FAMILY, "loaded"] in probed["faces"], probed  # the embedded subset decoded and is in use
    assert probed["check"] is True and FAMILY in probed["preFont"]
    # three full-width ideographs at 40px are about 120px wide: real glyphs of the face, not zero-width
    assert 100 < probed["embedded"] < 140, probed
    shutil.rmtree(tmp_path / "profile", ignore_errors=True)
