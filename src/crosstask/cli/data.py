"""``crosstask data harvest|build|inspect``: thin wrappers over crosstask.data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import Field
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

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
from crosstask.data.defense.defense_config import DefenseConfig
from crosstask.data.harvest.harvest_settings import HarvestSettings
from crosstask.data.sources.registry import parse_source
from crosstask.errors import CrosstaskError
from crosstask.io import check_writable

__all__ = ["InspectConfig", "data_app", "parse_source", "register"]

data_app = typer.Typer(help="Harvest documents and build defense datasets.", no_args_is_help=True)

HARVEST_FILE = "documents.jsonl"  # what `data harvest --out FOLDER` writes
_MALICIOUS_PREVIEW = 80  # characters of a malicious document shown by `inspect`
_PREVIEW = 400


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")


def defense_file_settings(path: Path | None) -> dict[str, Any]:
    """The defense settings of a ``--config`` file. An experiment config (``crosstask run``'s) gives its
    ``defense.builder`` and what it fills itself: ``defense.tasks``, ``model:`` and ``seed`` (the recipe,
    N and documents come from the command line). Any other file: DefenseConfig keys, or the same under
    ``data:``, and an ``out:`` folder."""
    if path is None:
        return {}
    from crosstask.data.defense.defense_config import read_config_mapping
    from crosstask.pipeline.experiment_config import defense_fields, experiment_or_none

    exp = experiment_or_none(path)
    if exp is None:
        return read_config_mapping(path)
    return {**exp.defense.builder.given(), "tasks": list(exp.defense.tasks),
            **defense_fields(exp.model.model_dump(), exp.seed)}


def _counts_table(manifest: Any) -> Table:
    kinds = list(manifest.by_kind)
    table = Table(title=f"examples per task and kind (total {manifest.total})")
    table.add_column("task")
    for k in kinds:
        table.add_column(k, justify="right")
    table.add_column("total", justify="right")
    for task, per_kind in manifest.counts.items():
        table.add_row(task, *[str(per_kind.get(k, 0)) for k in kinds], str(sum(per_kind.values())))
    table.add_row("[bold]all", *[str(manifest.by_kind[k]) for k in kinds], str(manifest.total))
    return table


def _source_list(label: str) -> Any:
    """The parser of one label's repeatable source option: a bare file's documents take the label."""
    return lambda values: [parse_source(v, label) for v in values]


@data_app.command("build")
@config_options(DefenseConfig, aliases={"safety.path": ["--safety"], "general.path": ["--general"]},
                names={"reference_model": "--model"}, deprecated={"reference_model": ["--reference-model"]},
                custom={name: (list[str], _source_list(label)) for name, label in
                        (("malicious", "malicious"), ("benign", "benign"), ("sensitive", "sensitive-benign"))})
def build(
    values: dict[str, Any],
    config: Path | None = config_option(DefenseConfig, "data", "; 'out:' sets the output folder; or an "
                                        "experiment config: its defense:, model: and seed"),
    assignments: list[str] = set_option(),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
) -> None:
    """Build a defense dataset folder: train.jsonl, test_documents.jsonl, manifest.json.

    Settings, later ones winning: --config, --set, then the DefenseConfig options (a source option
    is repeatable: KIND, KIND:PATH, a mapping, or a .jsonl/.json/.csv/.txt file or folder of .txt files,
    whose documents take the option's label).
    """
    from crosstask.data.defense import build_defense_dataset, parse_defense_config

    settings = defense_file_settings(config)
    out = out or (Path(settings["out"]) if settings.get("out") else None)
    settings.pop("out", None)
    settings = command_settings(DefenseConfig, settings, assignments, values)
    if out is None:
        raise CrosstaskError("no output folder: pass --out or set 'out:' in the config")
    cfg = parse_defense_config(settings, where=str(config) if config else "command line")
    manifest = build_defense_dataset(cfg, out, overwrite=overwrite)
    console.print(f"defense dataset written to [bold]{escape(str(out))}[/] (config hash {manifest.config_hash})")
    console.print(_counts_table(manifest))
    held = ", ".join(f"{k}: {v}" for k, v in manifest.test_documents.items()) or "none"
    console.print(escape(f"held-out test documents: {held}"))


class InspectConfig(ConfigModel):
    """What ``crosstask data inspect`` shows."""

    config_name = "inspect config"

    examples: int = Field(3, ge=0, description="Examples to render (one per kind first).")


@data_app.command("inspect")
@config_options(InspectConfig)
def inspect(
    values: dict[str, Any],
    folder: Path = typer.Argument(..., help="A dataset folder written by `crosstask data build`."),
    config: Path | None = config_option(InspectConfig, "inspect"),
    assignments: list[str] = set_option(),
) -> None:
    """Counts per task and kind, and a few rendered examples (malicious documents shown collapsed).

    Settings, later ones winning: --config, --set, then the InspectConfig options.
    """
    from crosstask.data.defense import read_examples, read_manifest

    cfg = InspectConfig.parse(command_settings(InspectConfig, read_section(config, "inspect"), assignments, values),
                              where=str(config) if config else "command line")
    examples = cfg.examples
    manifest = read_manifest(folder)
    console.print(f"[bold]{escape(str(folder))}[/]: recipe {escape(manifest.recipe)}, seed {manifest.seed}, "
                  f"config hash {manifest.config_hash}")
    console.print(_counts_table(manifest))
    held = ", ".join(f"{k}: {v}" for k, v in manifest.test_documents.items()) or "none"
    console.print(escape(f"held-out test documents: {held}; distinct refusals: {manifest.distinct_refusals}"))
    if manifest.stats:
        console.print(escape("notes: " + ", ".join(f"{k}={v}" for k, v in manifest.stats.items())))
    shown = _pick_examples(read_examples(folder), examples)
    if any(e.kind == "malicious" for e in shown):
        console.print("[yellow]warning: malicious documents are shown collapsed to their first "
                      f"{_MALICIOUS_PREVIEW} characters[/]")
    for e in shown:
        console.print(Panel(_render_example(e), title=escape(f"{e.kind} / {e.task}" + (" (truncated)" if e.truncated else "")),
                            subtitle=escape(e.id), expand=True))


def _pick_examples(all_examples: list[Any], k: int) -> list[Any]:
    """One example per kind first, then the rest in file order, up to k."""
    firsts: dict[str, Any] = {}
    for e in all_examples:
        firsts.setdefault(e.kind, e)
    chosen = list(firsts.values())[:k]
    chosen += [e for e in all_examples if e not in chosen][: max(0, k - len(chosen))]
    return chosen


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]} [... {len(text) - limit} more characters]"


def _collapse_document(content: str, task_name: str) -> str:
    """Show only the start of a malicious document; keep the task instruction readable."""
    from crosstask.tasks import get_task

    instruction, joiner = "", ""
    try:
        task = get_task(task_name)
        if task.position == "after" and content.endswith(task.joiner + task.instruction):
            instruction, joiner = task.instruction, task.joiner
            content = content[: len(content) - len(joiner + instruction)]
    except CrosstaskError:
        pass
    if len(content) > _MALICIOUS_PREVIEW:
        hidden = len(content) - _MALICIOUS_PREVIEW
        content = f"{content[:_MALICIOUS_PREVIEW]} [... {hidden} characters of a malicious document hidden ...]"
    return content + joiner + instruction


def _render_example(e: Any) -> str:
    lines = []
    for m in e.messages:
        content = m["content"]
        if e.kind == "malicious" and m["role"] == "user":
            content = _collapse_document(content, e.task)
        else:
            content = _shorten(content, _PREVIEW)
        lines.append(f"[bold]{m['role']}:[/] {escape(content)}")
    lines.append(f"[bold green]response:[/] {escape(_shorten(e.response, _PREVIEW))}")
    return "\n".join(lines)


@data_app.command("harvest")
@config_options(HarvestSettings)
def harvest(
    values: dict[str, Any],
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: documents.jsonl (Document dicts; readable "
                                                        "by --malicious FOLDER/documents.jsonl)."),
    config: Path | None = config_option(HarvestSettings, "harvest"),
    assignments: list[str] = set_option(),
    kind: str = typer.Option("malicious", help="What to harvest: malicious (answers to harmful goals) | news | "
                                               "sensitive."),
    goals: str = typer.Option("advbench", help="Harmful goals for --kind malicious: a source (advbench, ...)."),
    limit: int | None = typer.Option(None, help="Harvest only the first LIMIT goals."),
    n: int = typer.Option(20, "--n", help="Documents for --kind news|sensitive."),
    prefill: str | None = typer.Option(None, help="Compliance prefill template ({target}, {goal})."),
) -> None:
    """Generate documents (cached and resumable) and write them to a JSONL file.

    Settings, later ones winning: --config, --set, then the HarvestSettings options.
    """
    from crosstask.data.harvest import generate_benign_documents, harvest_malicious_documents
    from crosstask.data.harvest.prompts import DEFAULT_PREFILL
    from crosstask.data.sources import load_source
    from crosstask.io import write_jsonl

    settings = HarvestSettings.parse(command_settings(HarvestSettings, read_section(config, "harvest"), assignments,
                                                      values), where=str(config) if config else "command line")
    if kind not in ("malicious", "news", "sensitive"):
        raise CrosstaskError(f"unknown --kind {kind!r}; use malicious, news or sensitive")
    if limit is not None and limit < 1:
        raise CrosstaskError(f"--limit: must be at least 1, got {limit}")
    if n < 1:
        raise CrosstaskError(f"--n: must be at least 1, got {n}")
    out = output_file(out, HARVEST_FILE)
    check_writable(out, kind="file")
    if kind == "malicious":
        goal_docs = load_source(parse_source(goals))
        if limit is not None:
            goal_docs = goal_docs[:limit]
        result = harvest_malicious_documents(goal_docs, settings, prefill=prefill or DEFAULT_PREFILL)
    else:
        result = generate_benign_documents(kind, n, settings)
    if not result.documents:
        raise CrosstaskError(f"no documents kept ({result.stats()}); try more goals or more tokens")
    write_jsonl(out, (d.to_dict() for d in result.documents))
    stats = result.stats()
    console.print(f"{stats['kept']} documents written to [bold]{escape(str(out))}[/]")
    console.print(escape(", ".join(f"{k}: {v}" for k, v in stats.items())))
