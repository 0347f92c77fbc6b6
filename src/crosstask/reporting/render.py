"""Markdown and self-contained HTML renderings of the report (same sections, same tables).

Sections: a table of contents, provenance (code, config hash, seed, models and adapters,
judge, dataset files, date, machine), the rate tables (k/n with 95% intervals, each with its
CSV and LaTeX export), the plots and sample outputs.

Model outputs on malicious documents may contain harmful text: both formats put them
inside ``<details>`` with a warning summary, so nothing harmful shows until a reader asks.
Outputs are cut on characters, never inside one; a character the generator cut at its token
limit (U+FFFD, the replacement character) is dropped.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.reporting.fonts import FAMILY as CJK_FAMILY
from crosstask.reporting.fonts import font_face_css
from crosstask.reporting.plots import Plot
from crosstask.reporting.report_tables import TableData

_FORMAT = {"csv": "CSV", "tex": "LaTeX"}
WARNING = "⚠ Content warning: model output on a malicious document (may contain harmful text). Click to show."
REPLACEMENT = "\ufffd"
_TRAILING_BROKEN = re.compile(f"{REPLACEMENT}+\\s*$")


@dataclass
class ReportParts:
    """What a renderer shows besides ``results``: tables, plots and where each table's exports are."""

    tables: list[TableData]
    plots: list[Plot]
    provenance: list[TableData] = field(default_factory=list)  # the provenance and models tables
    exports: dict[str, dict[str, str]] = field(default_factory=dict)  # table title -> {"csv"|"tex": relative path}
    rates_csv: str | None = None


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters (code points, so never half a UTF-8 character), " […]" when cut.

    A model stopped at its token limit in the middle of a multi-byte character ends in U+FFFD;
    that broken character is dropped (and marked as a cut). Any other U+FFFD becomes "?".
    """
    cut = False
    stripped = _TRAILING_BROKEN.sub("", text)
    if stripped != text:
        text, cut = stripped, True
    text = text.replace(REPLACEMENT, "?")
    if len(text) > limit:
        text, cut = text[:limit], True
    return text.rstrip() + " […]" if cut else text



def _samples(results: dict[str, Any]) -> list[tuple[str, str, str, list[dict[str, Any]]]]:
    """(model label, task, label, samples) for every cell that has samples."""
    out = []
    for m in results["models"]:
        for task in results.get("tasks", []):
            for label, items in ((m.get("samples") or {}).get(task) or {}).items():
                if items:
                    out.append((m["label"], task, label, items))
    return out


def _header(results: dict[str, Any]) -> list[tuple[str, str]]:
    prov = results.get("provenance") or {}
    rows = [
        ("experiment", str(results.get("experiment", ""))),
        ("base model", str(results.get("base_model", ""))),
        ("models", str(len(results["models"]))),
        ("evaluated tasks", ", ".join(results.get("tasks", []))),
        ("documents evaluated", ", ".join(f"{k}: {v}" for k, v in (results.get("test_counts") or {}).items())),
        ("judge", str(results.get("judge") or "unknown")),
    ]
    if prov.get("config_hash"):
        rows.append(("config hash", str(prov["config_hash"])))
    return rows


def slug(text: str) -> str:
    """The anchor GitHub (and most Markdown viewers) give a heading."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


class _Anchors:
    """Unique anchors in document order (a repeated heading gets -1, -2, as on GitHub)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        base = slug(text)
        n = self.seen.get(base, 0)
        self.seen[base] = n + 1
        return base if n == 0 else f"{base}-{n}"


def _toc(parts: ReportParts, has_samples: bool) -> list[tuple[int, str, str]]:
    """(level, title, anchor) of every section and table/plot, in document order."""
    anchors = _Anchors()
    anchors("contents")
    entries = [(1, "Provenance", anchors("Provenance"))]
    entries += [(2, t.title, anchors(t.title)) for t in parts.provenance]
    entries.append((1, "Tables", anchors("Tables")))
    entries += [(2, t.title, anchors(t.title)) for t in parts.tables]
    if parts.plots:
        entries.append((1, "Plots", anchors("Plots")))
        entries += [(2, p.title, anchors(p.title)) for p in parts.plots]
    if has_samples:
        entries.append((1, "Sample outputs", anchors("Sample outputs")))
    return entries


# --- Markdown ------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(t: TableData, exports: dict[str, str] | None = None) -> str:
    lines = [f"### {t.title}", ""]
    if t.note:
        lines += [t.note, ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in t.header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:" if t.numeric else "---"] * (len(t.header) - 1)) + "|")
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in t.rows]
    if exports:
        lines += ["", "Export: " + " · ".join(f"[{_FORMAT.get(k, k)}]({v})" for k, v in exports.items())]
    return "\n".join(lines) + "\n"


def render_markdown(results: dict[str, Any], tables: list[TableData] | ReportParts, plots: list[Plot] | None = None,
                    max_chars: int = 600) -> str:
    parts = tables if isinstance(tables, ReportParts) else ReportParts(tables, plots or [])
    samples = _samples(results)
    out = [f"# Cross-task defense report: {results.get('experiment', '')}", ""]
    if results.get("description"):
        out += [results["description"], ""]
    out += [f"- **{k}**: {v}" for k, v in _header(results)] + [""]
    out += ["## Contents", ""]
    out += [f"{'  ' * (level - 1)}- [{title}](#{anchor})" for level, title, anchor in _toc(parts, bool(samples))]
    out += [""]
    out += ["## Provenance", ""] + [_md_table(t, parts.exports.get(t.title)) for t in parts.provenance]
    out += ["## Tables", ""]
    if parts.rates_csv:
        out += [f"Every rate with its k, n and interval in one file: [{parts.rates_csv}]({parts.rates_csv}).", ""]
    out += [_md_table(t, parts.exports.get(t.title)) for t in parts.tables]
    if parts.plots:
        out += ["## Plots", ""]
        for p in parts.plots:
            out += [f"### {p.title}", "", f"![{p.title}](plots/{p.path.name})", "", p.caption, ""]
    if samples:
        out += ["## Sample outputs", ""]
        for model, task, label, items in samples:
            out += [f"### {model} · {task} · {label} documents", ""]
            for s in items:
                status = "refused" if s.get("refused") else "answered"
                body = html.escape(clip(str(s.get("output", "")), max_chars))
                if label.startswith("malicious"):
                    out += [f"<details><summary>{WARNING}</summary>", "",
                            f"<p>{html.escape(str(s.get('doc_id', '')))} ({status})</p>",
                            f"<pre>{body}</pre>", "", "</details>", ""]
                else:
                    out += [f"*{s.get('doc_id', '')} ({status})*", "", f"<pre>{body}</pre>", ""]
    return "\n".join(out).rstrip() + "\n"


# --- HTML ----------------------------------------------------------------------------------

# Chinese, Japanese and Korean outputs: the embedded subset of this machine's CJK font where there is
# one (reporting/fonts.py; it holds only CJK glyphs, so other text falls through to the next fonts),
# then the fonts that hold CJK characters on each system, then the browser's own fallback.
_FONTS = ('system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Source Han Sans SC",'
          '"PingFang SC","Hiragino Sans GB","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif')


def _css(fonts: str) -> str:
    return _CSS_TEMPLATE.replace("FONTS", fonts)


_CSS_TEMPLATE = """
body{font-family:FONTS;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 .4em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child,.text th,.text td{text-align:left}
th{background:#f3f3f3}
img{max-width:100%;border:1px solid #eee}
details{margin:.3em 0 .8em;border:1px solid #e0b4b4;background:#fff7f7;padding:.3em .6em}
summary{cursor:pointer;color:#9f3a38;font-weight:600}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5em;font-size:.85em;font-family:ui-monospace,Menlo,Consolas,monospace,FONTS}
.note{color:#555;font-size:.9em}
.export{font-size:.85em;margin:0 0 1.5em}
nav ul{margin:.2em 0}
"""


def _html_table(t: TableData, anchor: str, exports: dict[str, str] | None = None) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if not t.numeric:
        table = f'<div class="text">{table}</div>'
    note = f'<p class="note">{e(t.note)}</p>' if t.note else ""
    links = ""
    if exports:
        links = '<p class="export">Export: ' + " · ".join(
            f'<a href="{e(v)}">{e(_FORMAT.get(k, k))}</a>' for k, v in exports.items()) + "</p>"
    return f'<h3 id="{e(anchor)}">{e(t.title)}</h3>{note}{table}{links}'


def _img(p: Plot) -> str:
    data = base64.b64encode(Path(p.path).read_bytes()).decode("ascii")
    e = html.escape
    return (f'<figure><img alt="{e(p.title)}" data-plot="{e(p.name)}" src="data:image/png;base64,{data}">'
            f"<figcaption class=\"note\">{e(p.caption)}</figcaption></figure>")


def _html_toc(entries: list[tuple[int, str, str]]) -> str:
    e = html.escape
    out, open_sub = ["<nav><h2 id=\"contents\">Contents</h2><ul>"], False
    for level, title, anchor in entries:
        if level == 2 and not open_sub:
            out.append("<ul>")
            open_sub = True
        elif level == 1 and open_sub:
            out.append("</ul>")
            open_sub = False
        out.append(f'<li><a href="#{e(anchor)}">{e(title)}</a></li>')
    out.append("</ul>" * (2 if open_sub else 1) + "</nav>")
    return "".join(out)


def render_html(results: dict[str, Any], tables: list[TableData] | ReportParts, plots: list[Plot] | None = None,
                max_chars: int = 600) -> str:
    parts = tables if isinstance(tables, ReportParts) else ReportParts(tables, plots or [])
    e = html.escape
    samples = _samples(results)
    entries = _toc(parts, bool(samples))
    anchor = {title: a for _, title, a in entries}
    title = f"Cross-task defense report: {results.get('experiment', '')}"
    out = [f"<h1>{e(title)}</h1>"]
    if results.get("description"):
        out.append(f"<p>{e(results['description'])}</p>")
    out.append("<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in _header(results)) + "</ul>")
    out.append(_html_toc(entries))
    out.append(f'<h2 id="{anchor["Provenance"]}">Provenance</h2>'
               + "".join(_html_table(t, anchor[t.title], parts.exports.get(t.title)) for t in parts.provenance))
    out.append(f'<h2 id="{anchor["Tables"]}">Tables</h2>')
    if parts.rates_csv:
        out.append(f'<p class="note">Every rate with its k, n and interval in one file: '
                   f'<a href="{e(parts.rates_csv)}">{e(parts.rates_csv)}</a>.</p>')
    out.append("".join(_html_table(t, anchor[t.title], parts.exports.get(t.title)) for t in parts.tables))
    if parts.plots:
        out.append(f'<h2 id="{anchor["Plots"]}">Plots</h2>' + "".join(
            f'<h3 id="{e(anchor[p.title])}">{e(p.title)}</h3>{_img(p)}' for p in parts.plots))
    if samples:
        out.append(f'<h2 id="{anchor["Sample outputs"]}">Sample outputs</h2>')
        for model, task, label, items in samples:
            out.append(f"<h3>{e(model)} · {e(task)} · {e(label)} documents</h3>")
            for s in items:
                status = "refused" if s.get("refused") else "answered"
                body = f"<pre>{e(clip(str(s.get('output', '')), max_chars))}</pre>"
                meta = f"<p>{e(str(s.get('doc_id', '')))} ({status})</p>"
                if label.startswith("malicious"):
                    out.append(f"<details><summary>{e(WARNING)}</summary>{meta}{body}</details>")
                else:
                    out.append(meta + body)
    body = "\n".join(out)
    face, comment = font_face_css(title + body)
    fonts = f'"{CJK_FAMILY}",{_FONTS}' if face else _FONTS
    head = (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
            + (f"\n{comment}" if comment else "") + f"\n<style>{face}{_css(fonts)}</style></head><body>")
    return f"{head}\n{body}\n</body></html>"
