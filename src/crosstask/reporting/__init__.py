"""Reports of an experiment: ``report.md``, a self-contained ``report.html``, ``results.json``, plots,
and every table as CSV and LaTeX under ``tables/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.io import write_json, write_text


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    results: Path
    plots: list[Path]
    tables: list[Path] = field(default_factory=list)  # CSV and LaTeX exports, and tables/rates.csv


def write_report(results: dict[str, Any], out_dir: str | Path, *, max_sample_chars: int | None = None) -> ReportFiles:
    """Write the report files of ``results`` (the ``results.json`` structure) into ``out_dir``."""
    from crosstask.reporting.export import TABLES_DIR, export_tables
    from crosstask.reporting.plots import all_plots
    from crosstask.reporting.render import ReportParts, render_html, render_markdown
    from crosstask.reporting.report_tables import all_tables, models_table, provenance_table, rates_long

    out = Path(out_dir)
    limit = max_sample_chars or int(results.get("max_sample_chars", 600))
    tables = all_tables(results)
    provenance = [provenance_table(results, base=out), models_table(results, base=out)]
    plots = all_plots(results, out / "plots")
    written = export_tables(provenance + tables, out / TABLES_DIR, rates=rates_long(results))
    parts = ReportParts(tables, plots, provenance,
                        {title: {k: p.relative_to(out).as_posix() for k, p in paths.items()}
                         for title, paths in written.items()},
                        rates_csv=f"{TABLES_DIR}/rates.csv")
    write_json(out / "results.json", results)
    write_text(out / "report.md", render_markdown(results, parts, max_chars=limit))
    write_text(out / "report.html", render_html(results, parts, max_chars=limit))
    exported = [p for paths in written.values() for p in paths.values()] + [out / TABLES_DIR / "rates.csv"]
    return ReportFiles(out / "report.md", out / "report.html", out / "results.json", [p.path for p in plots], exported)


__all__ = ["ReportFiles", "write_report"]
