"""Entry point of the ``crosstask`` command.

Each pipeline stage has its own CLI module exposing ``register(app)``; the CLI only
parses arguments and calls the library. Errors caused by input print as one line.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from crosstask.errors import CrosstaskError
from crosstask.version import __version__

app = typer.Typer(
    name="crosstask",
    help="Cross-task content-safety defense: build defense data, LoRA-tune, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)

_COMMAND_MODULES = ("data", "train", "evaluate", "judge", "run")
# Until every stage lands, register only the CLI modules present.
_COMMAND_MODULES = tuple(m for m in _COMMAND_MODULES if importlib.util.find_spec(f"crosstask.cli.{m}"))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crosstask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    threads: int | None = typer.Option(None, "--threads", help=(
        "CPU threads for torch (default: $CROSSTASK_THREADS, else $OMP_NUM_THREADS, else the free cores: "
        "the cores this process may use less the current load).")),
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from crosstask.threads import configure_threads

    choice = configure_threads(threads)
    logging.getLogger("crosstask").info("torch threads: %s (%s)", choice.threads or "OMP_NUM_THREADS", choice.reason)


for _name in _COMMAND_MODULES:
    importlib.import_module(f"crosstask.cli.{_name}").register(app)


def main() -> None:
    try:
        app(standalone_mode=False)
    except CrosstaskError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted; finished work is kept, rerun to resume")
        sys.exit(130)
