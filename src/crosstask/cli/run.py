"""``crosstask run CONFIG.yaml``: the whole experiment, resumable, ending in a report."""

from __future__ import annotations

from pathlib import Path

import typer

from crosstask.cli._common import console
from crosstask.cli.config_options import argument_or_option, deprecated_option, prefer, set_option


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        config_arg: Path | None = typer.Argument(None, metavar="CONFIG",
                                                 help="Experiment config (YAML; may `extends:` another); or --config."),
        config: Path | None = typer.Option(None, "--config", "-c", help="Experiment config (the same as CONFIG)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the stages (their folders, what is cached or "
                                                              "reused from another experiment); run nothing."),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output folder of the results and report "
                                                                  "(default: output_dir of the config, runs/<name>)."),
        output_dir: Path | None = deprecated_option("--out", "--output-dir"),
        overrides: list[str] = set_option(),
    ) -> None:
        """Documents -> defense datasets -> training -> evaluation -> report. Finished stages are skipped.

        Stages are kept in the stage store next to the output folder (runs/stages), shared by every
        experiment there: a variant experiment reuses the stages it has in common with another.
        """
        from crosstask.pipeline import run

        path = argument_or_option(config_arg, config, "config")
        out = prefer(out, output_dir, "--output-dir", "--out")
        run(path, output_dir=out, dry_run=dry_run, console=console, overrides=overrides)
