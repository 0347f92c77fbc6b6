"""Markdown and self-contained HTML renderings of the report (same sections, same tables).

Model outputs on malicious documents may contain harmful text: both formats put them
inside ``<details>`` with a warning summary, so nothing harmful shows until a reader asks.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from crosstask.reporting.plots import Plot
from crosstask.reporting.report_tables import TableData

WARNING = "⚠ Content warning: model output on a malicious document (may contain harmful text). Click to show."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " […]"


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
    return [
        ("experiment", str(results.get("experiment", ""))),
        ("base model", str(results.get("base_model", ""))),
        ("models", str(len(results["models"]))),
        ("evaluated tasks", ", ".join(results.get("tasks", []))),
        ("documents evaluated", ", ".join(f"{k}: {v}" for k, v in (results.get("test_counts") or {}).items())),
    ]


# --- Markdown ------------------------------------------------------------------------------


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(t: TableData) -> str:
    lines = [f"### {t.title}", ""]
    if t.note:
        lines += [t.note, ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in t.header) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(t.header) - 1)) + "|")
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in t.rows]
    return "\n".join(lines) + "\n"


def render_markdown(results: dict[str, Any], tables: list[TableData], plots: list[Plot], max_chars: int) -> str:
    parts = [f"# Cross-task defense report: {results.get('experiment', '')}", ""]
    if results.get("description"):
        parts += [results["description"], ""]
    parts += [f"- **{k}**: {v}" for k, v in _header(results)] + [""]
    parts += ["## Tables", ""] + [_md_table(t) for t in tables]
    if plots:
        parts += ["## Plots", ""]
        for p in plots:
            parts += [f"### {p.title}", "", f"![{p.title}](plots/{p.path.name})", "", p.caption, ""]
    samples = _samples(results)
    if samples:
        parts += ["## Sample outputs", ""]
        for model, task, label, items in samples:
            parts += [f"### {model} · {task} · {label} documents", ""]
            for s in items:
                status = "refused" if s.get("refused") else "answered"
                body = html.escape(_clip(str(s.get("output", "")), max_chars))
                if label == "malicious":
                    parts += [f"<details><summary>{WARNING}</summary>", "",
                              f"<p>{html.escape(str(s.get('doc_id', '')))} ({status})</p>",
                              f"<pre>{body}</pre>", "", "</details>", ""]
                else:
                    parts += [f"*{s.get('doc_id', '')} ({status})*", "", f"<pre>{body}</pre>", ""]
    return "\n".join(parts).rstrip() + "\n"


# --- HTML ----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}
img{max-width:100%;border:1px solid #eee}
details{margin:.3em 0 .8em;border:1px solid #e0b4b4;background:#fff7f7;padding:.3em .6em}
summary{cursor:pointer;color:#9f3a38;font-weight:600}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.5em;font-size:.85em}
.note{color:#555;font-size:.9em}
"""


def _html_table(t: TableData) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in t.header)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    note = f'<p class="note">{e(t.note)}</p>' if t.note else ""
    return f"<h3>{e(t.title)}</h3>{note}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(p: Plot) -> str:
    data = base64.b64encode(Path(p.path).read_bytes()).decode("ascii")
    e = html.escape
    return (f'<figure><img alt="{e(p.title)}" data-plot="{e(p.name)}" src="data:image/png;base64,{data}">'
            f"<figcaption class=\"note\">{e(p.caption)}</figcaption></figure>")


def render_html(results: dict[str, Any], tables: list[TableData], plots: list[Plot], max_chars: int) -> str:
    e = html.escape
    title = f"Cross-task defense report: {results.get('experiment', '')}"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]
    if results.get("description"):
        parts.append(f"<p>{e(results['description'])}</p>")
    parts.append("<ul>" + "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in _header(results)) + "</ul>")
    parts.append("<h2>Tables</h2>" + "".join(_html_table(t) for t in tables))
    if plots:
        parts.append("<h2>Plots</h2>" + "".join(f"<h3>{e(p.title)}</h3>{_img(p)}" for p in plots))
    samples = _samples(results)
    if samples:
        parts.append("<h2>Sample outputs</h2>")
        for model, task, label, items in samples:
            parts.append(f"<h3>{e(model)} · {e(task)} · {e(label)} documents</h3>")
            for s in items:
                status = "refused" if s.get("refused") else "answered"
                body = f"<pre>{e(_clip(str(s.get('output', '')), max_chars))}</pre>"
                meta = f"<p>{e(str(s.get('doc_id', '')))} ({status})</p>"
                if label == "malicious":
                    parts.append(f"<details><summary>{e(WARNING)}</summary>{meta}{body}</details>")
                else:
                    parts.append(meta + body)
    parts.append("</body></html>")
    return "\n".join(parts)
