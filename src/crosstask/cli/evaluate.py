"""``crosstask eval run`` and ``crosstask eval matrix``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from crosstask.cli._common import console
from crosstask.cli.config_options import (
    argument_or_option,
    command_settings,
    config_option,
    config_options,
    output_file,
    read_section,
    set_option,
)
from crosstask.data.sources.registry import parse_source

__all__ = ["MATRIX_FILE", "eval_file_settings", "parse_source", "register"]

MATRIX_FILE = "matrix.json"  # what `eval matrix --out FOLDER` writes


def eval_file_settings(path: Path | None) -> dict[str, Any]:
    """The evaluation settings of a config file. An experiment config (``crosstask run``'s) gives its
    ``eval.options`` and what it fills itself: ``eval.tasks``, ``model:`` and ``seed`` (the documents
    and the adapter come from the command line). Any other file: EvalConfig keys, or the same under
    ``eval:``."""
    if path is None:
        return {}
    from crosstask.pipeline.experiment_config import experiment_or_none

    exp = experiment_or_none(path)
    if exp is None:
        return read_section(path, "eval")
    return {**exp.eval.options.given(), **exp.eval_fields()}


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Evaluate safety (refusal on malicious documents) and utility per task.",
                        no_args_is_help=True)

    from crosstask.evaluation.eval_config import EvalConfig
    from crosstask.evaluation.matrix import MatrixConfig

    @group.command("run")
    @config_options(EvalConfig, aliases={"judges": ["--judge"], "output_dir": ["-o"]},
                    names={"output_dir": "--out"}, deprecated={"output_dir": ["--output-dir"]})
    def run(
        values: dict[str, Any],
        config_arg: Path | None = typer.Argument(None, metavar="CONFIG", help=(
            "YAML evaluation config (EvalConfig keys, or under eval:), or an experiment config (its eval:, model: "
            "and seed); or --config.")),
        config: Path | None = config_option(EvalConfig, "eval", "; or an experiment config: its eval:, model: and "
                                                                "seed; the same as CONFIG"),
        assignments: list[str] = set_option(),
        malicious: list[str] = typer.Option([], help="Shorthand for sets.malicious (repeatable): KIND, KIND:PATH, a "
                                                     "JSON spec, or a .jsonl/.json/.csv/.txt file or folder of .txt "
                                                     "files."),
        benign: list[str] = typer.Option([], help="Shorthand for sets.benign (repeatable; same forms)."),
        sensitive: list[str] = typer.Option([], help="Shorthand for sets.sensitive-benign (repeatable; same forms)."),
        full: bool = typer.Option(False, "--full", help="Shorthand for --refusal-only '': generate malicious answers "
                                                       "in full (no refusal-only stop)."),
    ) -> None:
        """Evaluate one model over document sets x tasks and print rates with 95% CIs.

        Settings, later ones winning: the config file, --set, then the EvalConfig options and shorthands.
        """
        from crosstask.evaluation import evaluate, result_table

        config = argument_or_option(config_arg, config, "config", required=False)
        cfg = command_settings(EvalConfig, eval_file_settings(config), assignments, values)
        sets = dict(cfg.get("sets") or {})
        for label, given in (("malicious", malicious), ("benign", benign), ("sensitive-benign", sensitive)):
            specs = [parse_source(v, label) for v in given]  # the same forms as data build's options
            if specs:
                sets[label] = specs[0] if len(specs) == 1 else specs
        cfg["sets"] = sets
        if full:
            cfg["refusal_only"] = []
        parsed = EvalConfig.parse(cfg, where=str(config) if config else "command line")  # errors name the file
        if not parsed.output_dir:  # every evaluation is kept: a folder named by the model and the settings
            cfg["output_dir"] = str(parsed.default_output_dir())
            console.print(escape(f"no --out: writing to {cfg['output_dir']}"))
        result = evaluate(cfg)
        console.print(result_table(result.summary))
        for w in result.summary["warnings"]:
            console.print(f"[yellow]warning:[/] {escape(w)}")
        if result.output_dir:
            console.print(escape(f"wrote {result.output_dir}/summary.json and samples.jsonl"))

    @group.command("matrix")
    @config_options(MatrixConfig)
    def matrix(
        values: dict[str, Any],
        run_folders: list[str] | None = typer.Argument(None, metavar="RUNS",
                                                       help="Shorthand for runs: NAME=FOLDER (or FOLDER) items."),
        config: Path | None = config_option(MatrixConfig, "matrix"),
        assignments: list[str] = set_option(),
    ) -> None:
        """Cross-task matrix: defenses x tasks, refusal on malicious / over-refusal on benign.

        Settings, later ones winning: --config, --set, then the MatrixConfig options and RUNS.
        """
        from crosstask.errors import CrosstaskError
        from crosstask.evaluation import cross_task_matrix, load_runs, matrix_table
        from crosstask.io import check_writable, write_json

        settings = command_settings(MatrixConfig, read_section(config, "matrix"), assignments, values)
        if run_folders:
            settings["runs"] = list(run_folders)
        cfg = MatrixConfig.parse(settings, where=str(config) if config else "command line")
        if not cfg.runs:
            raise CrosstaskError("no evaluations to compare: give NAME=FOLDER items (or runs: in --config)")
        out = output_file(cfg.out, MATRIX_FILE) if cfg.out else None
        if out:
            check_writable(out, kind="file")
        m = cross_task_matrix(load_runs(cfg.runs))
        console.print(matrix_table(m))
        if out:
            write_json(out, m)
            console.print(escape(f"wrote {out}"))

    app.add_typer(group, name="eval")
