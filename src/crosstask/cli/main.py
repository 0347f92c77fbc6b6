"""Entry point of the ``crosstask`` command.

Each pipeline stage has its own CLI module exposing ``register(app)``; the CLI only
parses arguments and calls the library. Every failure prints one line on stderr, never a
traceback (``--debug``, anywhere on the command line, or ``CROSSTASK_DEBUG=1`` shows it):

- a usage error (unknown option or command, missing argument, bad value) prints click's
  message with its suggestion ("did you mean ...") and where to find help; exit code 2;
- a command group called without a command (``crosstask``, ``crosstask eval``) prints its help; exit code 2;
- a :class:`CrosstaskError` (bad input, config, file) prints its message; exit code 2;
- anything else prints its type and message; exit code 1; Ctrl-C exits 130.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

import typer
from rich.markup import escape

from crosstask.cli._common import err_console
from crosstask.errors import CrosstaskError
from crosstask.version import __version__

app = typer.Typer(
    name="crosstask",
    help="Cross-task content-safety defense: build defense data, LoRA-tune, evaluate, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = ("data", "train", "evaluate", "judge", "run", "catalog", "serve")
# Until every stage lands, register only the CLI modules present.
_COMMAND_MODULES = tuple(m for m in _COMMAND_MODULES if importlib.util.find_spec(f"crosstask.cli.{m}"))

DEBUG_FLAG = "--debug"
USAGE_EXIT = 2  # click's code for usage errors; also used for CrosstaskError (bad input)
INTERRUPTED_EXIT = 130


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crosstask {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more."),
    debug: bool = typer.Option(False, DEBUG_FLAG, help="On an error, show the full Python traceback "
                                                       "(also accepted after the command; or CROSSTASK_DEBUG=1)."),
    threads: int | None = typer.Option(None, "--threads", help=(
        "CPU threads for torch (default: $CROSSTASK_THREADS, else $OMP_NUM_THREADS, else the free cores: "
        "the cores this process may use less the current load).")),
) -> None:
    # --debug is taken out of the arguments by main() (it may stand anywhere); this option documents it.
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from crosstask.threads import configure_threads

    choice = configure_threads(threads)
    logging.getLogger("crosstask").info("torch threads: %s (%s)", choice.threads or "OMP_NUM_THREADS", choice.reason)


for _name in _COMMAND_MODULES:
    importlib.import_module(f"crosstask.cli.{_name}").register(app)


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def usage_message(e: Exception) -> str:
    """One line for a click/typer usage error: the message, the suggestion, where help is."""
    possibilities = sorted(getattr(e, "possibilities", None) or [])
    message = getattr(e, "message", "") if possibilities else ""
    if message:  # NoSuchOption: "No such option: --limt; did you mean --limit?"
        text = f"{message}; did you mean {' or '.join(possibilities)}?"
    else:
        fmt = getattr(e, "format_message", None)
        text = fmt() if callable(fmt) else str(e)
    ctx = getattr(e, "ctx", None)
    if ctx is not None and ctx.command.get_help_option(ctx) is not None:
        text = f"{_one_line(text)} (see '{ctx.command_path} {ctx.help_option_names[0]}')"
    return _one_line(text)


def _split_debug(args: Sequence[str]) -> tuple[list[str], bool]:
    """``--debug`` may stand anywhere before ``--``; it is taken out of the arguments."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    debug = DEBUG_FLAG in args[:end] or os.environ.get("CROSSTASK_DEBUG", "") not in ("", "0")
    return [a for i, a in enumerate(args) if i >= end or a != DEBUG_FLAG], debug


def _error(text: str) -> None:
    err_console.print(f"[bold red]error:[/] {text}", highlight=False, soft_wrap=True, markup=True)


def main(argv: Sequence[str] | None = None) -> None:
    args, debug = _split_debug(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="crosstask", standalone_mode=False)
    except CrosstaskError as e:
        if debug:
            raise
        _error(escape(_one_line(str(e))))
        sys.exit(USAGE_EXIT)
    except KeyboardInterrupt:
        code = INTERRUPTED_EXIT
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except typer.TyperException as e:  # click's exceptions (typer vendors click as typer._click)
        if debug:
            raise
        if type(e).__name__ != "NoArgsIsHelpError":  # that one printed the help when it was made
            _error(escape(usage_message(e)))
        sys.exit(int(getattr(e, "exit_code", 1)))
    except Exception as e:
        if debug:
            raise
        where = f" (rerun with {DEBUG_FLAG} for the traceback)"
        _error(escape(_one_line(f"{type(e).__name__}: {e}") or type(e).__name__) + where)
        sys.exit(1)
    # typer returns the code of a typer.Exit (and turns Ctrl-C inside a command into Exit(130)).
    if code == INTERRUPTED_EXIT:
        err_console.print("interrupted; finished work is kept, rerun to resume")
    if isinstance(code, int) and code:
        sys.exit(code)


