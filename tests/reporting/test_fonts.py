"""Chinese in the report: a CJK font subset embedded in report.html where the machine has one, the CSS
font stack (and a note) where it has none, and plots drawn without missing glyphs."""

from __future__ import annotations

import base64
import re
import warnings

import pytest
from report_fixtures import make_results

from crosstask.reporting import fonts, write_report

CHINESE = "这是一个占位符翻译，仅用于测试。"

needs_font = pytest.mark.skipif(fonts.find_cjk_font() is None,
                                reason="no CJK font installed (apt-get install fonts-wqy-microhei)")


@pytest.fixture
def chinese_results():
    results = make_results()
    results["models"][1]["label"] = "混合防御 N=200"  # a label drawn in the plots
    for m in results["models"]:
        for task in results["tasks"]:
            for s in m["samples"][task].get("benign", []):
                s["output"] = CHINESE
    return results


@pytest.fixture
def no_font(monkeypatch):
    fonts.find_cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "_candidates", lambda: [])
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    yield
    fonts.find_cjk_font.cache_clear()


def test_cjk_chars():
    assert fonts.cjk_chars("abc 中文，中 ⚠ – ü") == "中文，"


@needs_font
def test_the_page_embeds_a_subset_holding_exactly_its_chinese_characters(chinese_results, tmp_path):
    from fontTools.ttLib import TTFont

    page = write_report(chinese_results, tmp_path).html.read_text(encoding="utf-8")
    assert "<!-- CJK font embedded:" in page and f'font-family:"{fonts.FAMILY}"' in page
    data = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", page).group(1)
    woff = tmp_path / "subset.woff"
    woff.write_bytes(base64.b64decode(data))
    cmap = TTFont(str(woff)).getBestCmap()
    assert {chr(c) for c in cmap if fonts.is_cjk(chr(c))} == set(fonts.cjk_chars(page))
    assert len(data) < 200_000  # a subset, not the whole font (several MiB)


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # expected: no CJK font here
def test_without_a_cjk_font_the_page_falls_back_and_says_so(chinese_results, tmp_path, no_font, caplog):
    page = write_report(chinese_results, tmp_path).html.read_text(encoding="utf-8")
    assert "@font-face" not in page and "<!-- no CJK font found on this machine" in page
    assert '"Noto Sans CJK SC"' in page and CHINESE in page  # the font stack; the text itself unchanged
    assert "no CJK font on this machine" in caplog.text


def test_a_page_without_cjk_text_embeds_nothing(tmp_path):
    page = write_report(make_results(), tmp_path).html.read_text(encoding="utf-8")
    assert "@font-face" not in page and "CJK font" not in page.split("<style>")[0]


@needs_font
def test_plots_with_chinese_labels_have_no_missing_glyphs(chinese_results, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(chinese_results, tmp_path)
    assert not [w for w in caught if "missing from font" in str(w.message)]


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")  # expected: no CJK font here
def test_plots_without_a_cjk_font_still_draw(chinese_results, tmp_path, no_font):
    files = write_report(chinese_results, tmp_path)
    assert all(p.exists() for p in files.plots)
