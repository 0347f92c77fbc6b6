"""``crosstask serve`` and ``crosstask guard train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from crosstask.cli._common import console
from crosstask.cli.config_options import (
    command_settings,
    config_option,
    config_options,
    read_section,
    set_option,
)


def register(app: typer.Typer) -> None:
    from crosstask.judges.input_guard import GuardTrainConfig
    from crosstask.serving.serve_config import ServeConfig

    @app.command("serve")
    @config_options(ServeConfig)
    def serve_cmd(
        values: dict[str, Any],
        config: Path | None = config_option(ServeConfig, "serve"),
        assignments: list[str] = set_option(),
    ) -> None:
        """Serve a model (+ adapter, merged) behind an OpenAI-compatible HTTP API, with optional guards.

        Settings, later ones winning: --config, --set, then the ServeConfig options.
        """
        import importlib.util

        from crosstask.errors import CrosstaskError

        missing = [m for m in ("fastapi", "uvicorn", "prometheus_client") if importlib.util.find_spec(m) is None]
        if missing:
            raise CrosstaskError(f"crosstask serve needs {', '.join(missing)}: pip install -e '.[serve]'")
        from crosstask.serving import ServeConfig as Config
        from crosstask.serving import serve

        settings = command_settings(Config, read_section(config, "serve"), assignments, values)
        cfg = Config.parse(settings, where=str(config) if config else "command line")

        def ready(url: str) -> None:
            console.print(escape(f"serving {cfg.model_id()} at {url} (Ctrl-C stops)"), highlight=False)

        serve(cfg, ready=ready)

    guard = typer.Typer(help="The input guard: a harm classifier on MiniLM embeddings in front of a model.",
                        no_args_is_help=True)

    @guard.command("train")
    @config_options(GuardTrainConfig)
    def guard_train(
        values: dict[str, Any],
        dataset: Path = typer.Argument(..., help="Defense dataset folder (train.jsonl: crosstask data build)."),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for guard.safetensors and guard.json."),
        config: Path | None = config_option(GuardTrainConfig, "guard"),
        assignments: list[str] = set_option(),
    ) -> None:
        """Train the input guard on a defense dataset: malicious vs benign and sensitive-benign documents.

        Settings, later ones winning: --config, --set, then the GuardTrainConfig options.
        """
        from crosstask.io import check_writable
        from crosstask.judges.input_guard import train_input_guard

        settings = command_settings(GuardTrainConfig, read_section(config, "guard"), assignments, values)
        cfg = GuardTrainConfig.parse(settings, where=str(config) if config else "command line")
        check_writable(out)
        g = train_input_guard(dataset, out, cfg)
        console.print(escape(f"input guard trained on {g.meta['n']} documents ({g.meta['malicious']} malicious), "
                             f"threshold {g.threshold} -> {out}"))

    app.add_typer(guard, name="guard")
