"""``crosstask eval run`` and ``crosstask eval matrix``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from crosstask.cli._common import console
from crosstask.cli.config_options import config_options
from crosstask.errors import CrosstaskError


def parse_source(value: str, label: str | None = None) -> dict:
    """A source spec from the command line: JSON (``{"kind": ...}``), ``KIND:PATH`` or a
    ``.jsonl`` path of documents. ``label`` names the set the documents go into."""
    value = value.strip()
    if value.startswith("{"):
        try:
            spec = json.loads(value)
        except json.JSONDecodeError as e:
            raise CrosstaskError(f"source spec {value!r} is not valid JSON: {e.msg}") from None
    elif ":" in value and not Path(value).exists():
        kind, _, path = value.partition(":")
        spec = {"kind": kind, "path": path} if path else {"kind": kind}
    else:
        spec = {"kind": "documents", "path": value}
    if label and spec.get("kind") == "paper-format":
        spec.setdefault("sets", [label])
    return spec


def _read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    from crosstask.io import read_yaml_section

    return read_yaml_section(path, "eval")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Evaluate safety (refusal on malicious documents) and utility per task.",
                        no_args_is_help=True)

    from crosstask.evaluation.eval_config import EvalConfig

    @group.command("run")
    @config_options(EvalConfig, aliases={"judges": ["--judge"], "output_dir": ["--out"]})
    def run(
        values: dict[str, Any],
        config: Path | None = typer.Argument(None, help="YAML evaluation config (EvalConfig keys, or under eval:)."),
        assignments: list[str] = typer.Option([], "--set", "-s", help="Set a config value: key.path=value (YAML value)."),
        malicious: str | None = typer.Option(None, help="Shorthand for sets.malicious: KIND:PATH, JSON spec, or .jsonl."),
        benign: str | None = typer.Option(None, help="Shorthand for sets.benign (same forms)."),
        sensitive: str | None = typer.Option(None, help="Shorthand for sets.sensitive-benign (same forms)."),
        full: bool = typer.Option(False, "--full", help="Shorthand for --refusal-only '': generate malicious answers "
                                                       "in full (no refusal-only stop)."),
    ) -> None:
        """Evaluate one model over document sets x tasks and print rates with 95% CIs.

        Settings, later ones winning: the config file, --set, then the EvalConfig options and shorthands.
        """
        from crosstask.evaluation import evaluate, result_table
        from crosstask.io import apply_assignments

        cfg = apply_assignments(_read_config(config), assignments)
        cfg.update(values)
        sets = dict(cfg.get("sets") or {})
        for label, value in (("malicious", malicious), ("benign", benign), ("sensitive-benign", sensitive)):
            if value:
                sets[label] = parse_source(value, label)
        cfg["sets"] = sets
        if full:
            cfg["refusal_only"] = []
        result = evaluate(cfg)
        console.print(result_table(result.summary))
        for w in result.summary["warnings"]:
            console.print(f"[yellow]warning:[/] {w}")
        if result.output_dir:
            console.print(f"wrote {result.output_dir}/summary.json and samples.jsonl")

    @group.command("matrix")
    def matrix(
        runs: list[str] = typer.Argument(..., help="NAME=FOLDER (or FOLDER) of finished `eval run` outputs."),
        out: Path | None = typer.Option(None, "--out", help="Write the matrix as JSON here."),
    ) -> None:
        """Cross-task matrix: defenses x tasks, refusal on malicious / over-refusal on benign."""
        from crosstask.evaluation import cross_task_matrix, load_result, matrix_table
        from crosstask.io import write_json

        results = {}
        for item in runs:
            label, sep, folder = item.partition("=")
            res = load_result(folder if sep else label)
            results[label if sep else res.name] = res
        m = cross_task_matrix(results)
        console.print(matrix_table(m))
        if out:
            write_json(out, m)
            console.print(f"wrote {out}")

    app.add_typer(group, name="eval")
