"""``crosstask train`` and ``crosstask merge``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from crosstask.cli._common import console
from crosstask.cli.config_options import config_options


def register(app: typer.Typer) -> None:
    from crosstask.training.train_config import TrainConfig

    @app.command("train")
    @config_options(TrainConfig, aliases={"num_epochs": ["--epochs"], "learning_rate": ["--lr"]},
                    negative={"train_on_inputs": "--response-only"})
    def train_cmd(
        values: dict[str, Any],
        dataset: Path = typer.Argument(..., help="Defense dataset folder (train.jsonl, manifest.json)."),
        out: Path = typer.Option(..., "--out", "-o", help="Output folder: adapter, metrics, checkpoints."),
        config: Path | None = typer.Option(None, "--config", "-c",
                                           help="YAML training config (TrainConfig keys, or an experiment's train:)."),
        preset: str | None = typer.Option(None, "--preset", help="Start from a preset: paper, cpu or tiny."),
        assignments: list[str] = typer.Option([], "--set", "-s",
                                              help="Set a config value: key.path=value (YAML value)."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint in --out."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Start again even if --out holds a run."),
        no_progress: bool = typer.Option(False, "--no-progress"),
    ) -> None:
        """Instruction-tune a model on a defense dataset (LoRA by default).

        Settings, later ones winning: --preset, --config, --set, then the TrainConfig options.
        """
        from crosstask.training import load_train_config, train

        cfg = load_train_config(config, preset_name=preset, assignments=assignments, **values)
        result = train(cfg, dataset, out, resume=resume, overwrite=overwrite, progress=not no_progress)
        if not result.is_main_process:
            return
        console.print(
            f"trained {result.steps} steps on {result.n_examples} examples in {result.train_seconds:.0f} s "
            f"({result.tokens_per_second:,.0f} tok/s), final loss {result.final_loss:.4f} -> {result.out_dir}"
            if result.final_loss is not None else f"nothing to do: {result.out_dir} is finished"
        )

    @app.command("merge")
    def merge_cmd(
        adapter: Path = typer.Argument(..., help="A trained adapter folder (crosstask train --out)."),
        out: Path = typer.Option(..., "--out", "-o", help="New folder for the merged model."),
        base_model: str | None = typer.Option(None, "--base-model", help="Override the base model."),
        dtype: str = typer.Option("float32", "--dtype", help="float32, bfloat16 or float16."),
    ) -> None:
        """Merge a LoRA adapter into its base model (standalone safetensors folder with tokenizer)."""
        from crosstask.training import merge_adapter

        path = merge_adapter(adapter, out, dtype=dtype, base_model=base_model)
        console.print(f"merged model written to {path}")
