"""Reports of an experiment: ``report.md``, a self-contained ``report.html``, ``results.json``, plots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosstask.io import write_json, write_text


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    results: Path
    plots: list[Path]


def write_report(results: dict[str, Any], out_dir: str | Path, *, max_sample_chars: int | None = None) -> ReportFiles:
    """Write the report files of ``results`` (the ``results.json`` structure) into ``out_dir``."""
    from crosstask.reporting.plots import all_plots
    from crosstask.reporting.render import render_html, render_markdown
    from crosstask.reporting.report_tables import all_tables

    out = Path(out_dir)
    limit = max_sample_chars or int(results.get("max_sample_chars", 600))
    tables = all_tables(results)
    plots = all_plots(results, out / "plots")
    write_json(out / "results.json", results)
    write_text(out / "report.md", render_markdown(results, tables, plots, limit))
    write_text(out / "report.html", render_html(results, tables, plots, limit))
    return ReportFiles(out / "report.md", out / "report.html", out / "results.json", [p.path for p in plots])


__all__ = ["ReportFiles", "write_report"]
