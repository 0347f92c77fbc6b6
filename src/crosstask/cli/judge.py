"""``crosstask judge validate`` and ``crosstask judge list``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import Field
from rich.markup import escape

from crosstask.cli._common import console
from crosstask.cli.config_options import (
    command_settings,
    config_option,
    config_options,
    output_file,
    read_section,
    set_option,
)
from crosstask.config_model import ConfigModel
from crosstask.errors import CrosstaskError
from crosstask.judges.base import JudgeNames

SCORES_FILE = "judge_scores.json"  # what `judge validate --out FOLDER` writes


class JudgeListConfig(ConfigModel):
    """What ``crosstask judge list`` shows."""

    config_name = "judge list config"

    judges: JudgeNames = Field(default_factory=list, description="Only these judges (default: all).")


def register(app: typer.Typer) -> None:
    from crosstask.judges.validate import JudgeValidationConfig

    group = typer.Typer(help="Refusal judges: list them, validate them against human labels.", no_args_is_help=True)

    @group.command("list")
    @config_options(JudgeListConfig)
    def list_(
        values: dict[str, Any],
        config: Path | None = config_option(JudgeListConfig, "list"),
        assignments: list[str] = set_option(),
    ) -> None:
        """List the registered judges.

        Settings, later ones winning: --config, --set, then the JudgeListConfig options.
        """
        from crosstask.judges import get_judge, list_judges

        cfg = JudgeListConfig.parse(command_settings(JudgeListConfig, read_section(config, "list"), assignments,
                                                     values), where=str(config) if config else "command line")
        for n in cfg.judges or list_judges():
            j = get_judge(n)
            console.print(f"[bold]{escape(j.id)}[/]  {escape(j.description)}")

    @group.command("validate")
    @config_options(JudgeValidationConfig, aliases={"judges": ["--judge"]},
                    custom={"data": (list[Path], lambda paths: [str(p) for p in paths])})
    def validate(
        values: dict[str, Any],
        config: Path | None = config_option(JudgeValidationConfig, "validate"),
        assignments: list[str] = set_option(),
    ) -> None:
        """Accuracy, precision, recall and F1 of each judge on each labelled dataset.

        Settings, later ones winning: --config, --set, then the JudgeValidationConfig options (--data is
        repeatable).
        """
        from crosstask.evaluation.terminal_tables import scores_table
        from crosstask.io import check_writable, write_json
        from crosstask.judges import list_judges
        from crosstask.judges.validate import (
            builtin_sets,
            load_labelled,
            objective_achieved_set,
            scores_to_json,
            validate_judges,
            wheel_sets,
        )

        cfg = JudgeValidationConfig.parse(
            command_settings(JudgeValidationConfig, read_section(config, "validate"), assignments, values),
            where=str(config) if config else "command line")
        out = output_file(cfg.out, SCORES_FILE) if cfg.out else None
        if out:
            check_writable(out, kind="file")
        names = cfg.judges or list_judges()
        sets = (builtin_sets() + objective_achieved_set()) if cfg.builtin else []
        if cfg.pyrit_wheel:
            sets += wheel_sets(cfg.pyrit_wheel)
        for path in cfg.data:
            sets.append(load_labelled(path, text_field=cfg.text_field, label_field=cfg.label_field,
                                      prompt_field=cfg.prompt_field))
        from crosstask.judges.doc_labels import SPLITS, doc_examples, doc_task_sets, score_off_task

        docs, coverage = doc_examples(cfg.outputs)
        sets.extend(doc_task_sets(docs, breakdown=cfg.breakdown))
        if not sets:
            raise CrosstaskError("no labelled data: pyrit's files are not installed and no labelled outputs were "
                                 "found under --outputs; pass --data FILE")
        scores = validate_judges(names, sets)
        for split in SPLITS:  # the third verdict, on the document-task labels
            part = [e for e in docs if e.split == split]
            if part:
                scores.extend(score_off_task(n, f"doc:{split} off-task", part) for n in names)
        console.print(scores_table(scores))
        console.print(f"{coverage.line()} under {', '.join(cfg.outputs)} (docs/JUDGES.md: how to regenerate them); "
                      "doc:dev was used for tuning, doc:held-out never")
        if out:
            write_json(out, {"scores": scores_to_json(scores),
                             "doc_labels": {"labelled": coverage.labelled, "found": coverage.found}})
            console.print(escape(f"wrote {out}"))

    app.add_typer(group, name="judge")
