"""Every report table as CSV and as a LaTeX ``table`` (``tables/NN-name.csv|.tex``), and every
rate in one long CSV (``tables/rates.csv``: model, set, task, k, n, rate, interval)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from crosstask.io import write_text
from crosstask.reporting.report_tables import TableData

TABLES_DIR = "tables"
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "Σ": r"$\Sigma$", "×": r"$\times$", "≥": r"$\geq$", "≤": r"$\leq$"}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIAL))


def file_stem(index: int, table: TableData) -> str:
    """``"03-refusal-malicious-harmbench"``: numbered in report order, safe on every file system."""
    base = table.name or table.title
    slug = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:60].rstrip("-") or "table"
    return f"{index:02d}-{slug}"


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(["" if c is None else c for c in r] for r in rows)
    return buf.getvalue()


def latex_escape(text: str) -> str:
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIAL[m.group(0)], str(text))


def to_latex(table: TableData) -> str:
    """A ``table`` environment with a plain ``tabular`` (no package needed; UTF-8 input)."""
    cols = "l" + ("r" if table.numeric else "l") * (len(table.header) - 1)
    lines = [r"\begin{table}[ht]", r"\centering", f"\\caption{{{latex_escape(table.title)}}}",
             f"\\begin{{tabular}}{{{cols}}}", r"\hline",
             " & ".join(latex_escape(h) for h in table.header) + r" \\", r"\hline"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in table.rows]
    lines += [r"\hline", r"\end{tabular}"]
    if table.note:
        lines.append(f"\\par\\smallskip{{\\footnotesize {latex_escape(table.note)}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def export_tables(tables: list[TableData], out_dir: Path, rates: tuple[list[str], list[list[Any]]] | None = None
                  ) -> dict[str, dict[str, Path]]:
    """Write each table's CSV and LaTeX into ``out_dir``; returns ``{table title: {"csv", "tex"}}``."""
    written: dict[str, dict[str, Path]] = {}
    for i, t in enumerate(tables, start=1):
        stem = file_stem(i, t)
        paths = {"csv": out_dir / f"{stem}.csv", "tex": out_dir / f"{stem}.tex"}
        write_text(paths["csv"], to_csv(t.header, t.rows))
        write_text(paths["tex"], to_latex(t))
        written[t.title] = paths
    if rates is not None:
        write_text(out_dir / "rates.csv", to_csv(*rates))
    keep = {p.name for paths in written.values() for p in paths.values()}
    for old in out_dir.glob("[0-9][0-9]-*"):  # tables of an earlier report that this one no longer has
        if old.suffix in (".csv", ".tex") and old.name not in keep:
            old.unlink(missing_ok=True)
    return written
