"""``crosstask train`` and ``crosstask merge``."""

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
    read_section,
    set_option,
)


def train_file_settings(path: Path | None) -> dict[str, Any]:
    """The training settings of a ``--config`` file. An experiment config (``crosstask run``'s) gives
    its ``train:`` section (preset and options) and what it fills itself: ``model:`` and ``seed``,
    so the command trains what the experiment would. Any other file: TrainConfig keys and an
    optional ``preset``, or the same under ``train:``."""
    if path is None:
        return {}
    from crosstask.pipeline.experiment_config import experiment_or_none, train_fields

    exp = experiment_or_none(path)
    if exp is None:
        return read_section(path, "train")
    return {**exp.train.given(), **train_fields(exp.model.model_dump(), exp.seed)}


def register(app: typer.Typer) -> None:
    from crosstask.training.merge import MergeConfig
    from crosstask.training.train_config import TrainConfig

    @app.command("train")
    @config_options(TrainConfig, aliases={"num_epochs": ["--epochs"], "learning_rate": ["--lr"]},
                    names={"base_model": "--model"}, deprecated={"base_model": ["--base-model"]},
                    negative={"train_on_inputs": "--response-only"})
    def train_cmd(
        values: dict[str, Any],
        dataset: Path = typer.Argument(..., help="Defense dataset folder (train.jsonl, manifest.json)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: adapter, metrics, checkpoints."),
        config: Path | None = config_option(TrainConfig, "train", "; or an experiment config: its train:, "
                                                                  "model: and seed"),
        preset: str | None = typer.Option(None, "--preset", help="Start from a preset: paper, cpu or tiny."),
        assignments: list[str] = set_option(),
        resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Start again even if --out holds a run."),
        no_progress: bool = typer.Option(False, "--no-progress", help="Hide the progress bar (e.g. in logs)."),
    ) -> None:
        """Instruction-tune a model on a defense dataset (LoRA by default).

        Settings, later ones winning: --preset, --config (a preset: there wins), --set, then the
        TrainConfig options.
        """
        from crosstask.training import train, train_config_from

        base = {"preset": preset} if preset else {}
        settings = command_settings(TrainConfig, base | train_file_settings(config), assignments, values)
        cfg = train_config_from(settings, where=str(config) if config else "command line")
        result = train(cfg, dataset, out, resume=resume, overwrite=overwrite, progress=not no_progress)
        if not result.is_main_process:
            return
        console.print(escape(
            f"trained {result.steps} steps on {result.n_examples} examples in {result.train_seconds:.0f} s "
            f"({result.tokens_per_second:,.0f} tok/s), final loss {result.final_loss:.4f} -> {result.out_dir}"
            if result.final_loss is not None else f"nothing to do: {result.out_dir} is finished"
        ))

    @app.command("merge")
    @config_options(MergeConfig, names={"base_model": "--model"}, deprecated={"base_model": ["--base-model"]})
    def merge_cmd(
        values: dict[str, Any],
        adapter_arg: Path | None = typer.Argument(None, metavar="ADAPTER",
                                                  help="A trained adapter folder (crosstask train --out); or --adapter."),
        adapter: Path | None = typer.Option(None, "--adapter", help="A trained adapter folder (the same as ADAPTER)."),
        out: Path = typer.Option(..., "--out", "-o", help="New folder for the merged model."),
        config: Path | None = config_option(MergeConfig, "merge"),
        assignments: list[str] = set_option(),
    ) -> None:
        """Merge a LoRA adapter into its base model (standalone safetensors folder with tokenizer).

        Settings, later ones winning: --config, --set, then the MergeConfig options.
        """
        from crosstask.training import merge_adapter

        settings = command_settings(MergeConfig, read_section(config, "merge"), assignments, values)
        cfg = MergeConfig.parse(settings, where=str(config) if config else "command line")
        path = merge_adapter(argument_or_option(adapter_arg, adapter, "adapter"), out, cfg)
        console.print(escape(f"merged model written to {path}"))
