"""``crosstask judge validate`` and ``crosstask judge list``."""

from __future__ import annotations

from pathlib import Path

import typer

from crosstask.cli._common import console
from crosstask.errors import CrosstaskError


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Refusal judges: list them, validate them against human labels.", no_args_is_help=True)

    @group.command("list")
    def list_() -> None:
        """List the registered judges."""
        from crosstask.judges import get_judge, list_judges

        for n in list_judges():
            j = get_judge(n)
            console.print(f"[bold]{j.id}[/]  {j.description}")

    @group.command("validate")
    def validate(
        data: list[Path] = typer.Option([], "--data", help="Labelled CSV/JSONL file(s) to add to the built-in sets."),
        text_field: str = typer.Option("assistant_response", help="Field holding the model answer."),
        label_field: str = typer.Option("human_score", help="Field holding the label (1/0, true/false)."),
        prompt_field: str = typer.Option("objective", help="Field holding the request, if any."),
        judges: str | None = typer.Option(None, "--judge", help="Comma-separated judges (default: all)."),
        builtin: bool = typer.Option(True, help="Include the labelled sets shipped in the pyrit package."),
        out: Path | None = typer.Option(None, "--out", help="Write the scores as JSON here."),
    ) -> None:
        """Accuracy, precision, recall and F1 of each judge on each labelled dataset."""
        from crosstask.evaluation.terminal_tables import scores_table
        from crosstask.io import write_json
        from crosstask.judges import list_judges
        from crosstask.judges.validate import (
            builtin_sets,
            load_labelled,
            scores_to_json,
            validate_judges,
        )

        names = [j.strip() for j in judges.split(",") if j.strip()] if judges else list_judges()
        sets = builtin_sets() if builtin else []
        for path in data:
            sets.append(load_labelled(path, text_field=text_field, label_field=label_field, prompt_field=prompt_field))
        if not sets:
            raise CrosstaskError("no labelled data: pyrit's files are not installed; pass --data FILE")
        scores = validate_judges(names, sets)
        console.print(scores_table(scores))
        if out:
            write_json(out, {"scores": scores_to_json(scores)})
            console.print(f"wrote {out}")

    app.add_typer(group, name="judge")
