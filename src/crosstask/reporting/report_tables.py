"""The report's tables, as plain rows (header + cells) that every renderer and export shares.

Input is the ``results.json`` structure written by the pipeline::

    {"experiment": ..., "tasks": [...], "judge": "refusal@2", "judges": [...],
     "provenance": {"crosstask_version", "git_commit", "config_hash", "seed", "judges",
                    "datasets": [{"name", "path", "<file>": sha256, ...}], "date", "machine": {...}},
     "models": [
        {"id", "label", "family", "recipe", "n", "judge", "adapter",
         "metrics": {task: {set: {"refusal_rate": float, "count": int, "refused": int,
                                  "ci": [lo, hi], "interval": "wilson", "utility": {metric: float},
                                  "utility_ci": {metric: [lo, hi]}}}},
         "samples": {task: {set: [{"doc_id", "output", "refused"}]}},
         "loss": [[step, loss], ...], "loss_components": {"loss/<task>": [[step, loss], ...]}}]}

Every key but ``models``, ``tasks`` and a model's ``label``/``family``/``metrics`` may be missing
(results of older versions): the tables then leave the cell out or say "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosstask.document import set_label, set_order
from crosstask.evaluation.results import model_cell
from crosstask.evaluation.stats import LEVEL, format_rate

INTERVAL_NOTE = (f"Cells: refused k/n (rate, {LEVEL:.0%} Wilson score interval). mean: all tasks pooled "
                 "(Σk/Σn), without an interval: the same documents under every task are not independent samples.")


@dataclass
class TableData:
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    name: str = ""  # file stem of its CSV/LaTeX export (the title's words when empty)
    numeric: bool = True  # columns after the first right-aligned


def pct(x: float | None) -> str:
    return format_rate(x)


def cell(model: dict[str, Any], task: str, label: str, key: str = "refusal_rate") -> Any:
    c = model_cell(model, task, label)
    return None if c is None else getattr(c, key)


def pooled(model: dict[str, Any], tasks: list[str], set_name: str) -> tuple[int, int] | None:
    """Refused Σk of Σn over the tasks evaluated on a set, or None when a count is unknown."""
    cells = [c for t in tasks if (c := model_cell(model, t, set_name)) is not None]
    if not cells or any(c.refused is None or not c.count for c in cells):
        return None
    return sum(c.refused for c in cells), sum(c.count for c in cells)  # type: ignore[misc]


def mean_rate(model: dict[str, Any], tasks: list[str], label: str) -> float | None:
    """The rate over every task: pooled k/n where the counts are known, else the mean of the rates."""
    p = pooled(model, tasks, label)
    if p is not None:
        return p[0] / p[1]
    values = [v for t in tasks if (v := cell(model, t, label)) is not None]
    return sum(values) / len(values) if values else None


def sets_present(results: dict[str, Any]) -> list[str]:
    """Evaluation sets with results: those from elsewhere (out of distribution) first, then held-out ones."""
    tasks = results.get("tasks", [])
    names = {s for m in results["models"] for t in tasks for s in ((m.get("metrics") or {}).get(t) or {})}
    return set_order(names)


def k_of_n(model: dict[str, Any], task: str, set_name: str, interval: bool = False) -> str:
    """``"47/50 (94%)"`` (with its 95% interval: ``"47/50 (94%, 84–98)"``), or the bare rate when
    the count is unknown."""
    c = model_cell(model, task, set_name)
    if c is None:
        return format_rate(None)
    ci = c.ci if interval and c.ci and c.count is not None and c.refused is not None else None
    return format_rate(c.refusal_rate, k=c.refused, n=c.count, ci=ci, counts="first", ci_style="comma")


def pooled_k_of_n(model: dict[str, Any], tasks: list[str], set_name: str) -> str:
    """``"78/100 (78%)"`` over every task, or the mean of the rates when a count is unknown."""
    p = pooled(model, tasks, set_name)
    if p is None:
        return pct(mean_rate(model, tasks, set_name))
    return format_rate(p[0] / p[1], k=p[0], n=p[1], counts="first")


def describe_set(set_name: str) -> str:
    label = set_label(set_name)
    where = (f"{set_name.split(':', 1)[1]}, out of distribution" if ":" in set_name
             else "held out, in distribution")
    what = "refusal (higher is safer)" if label == "malicious" else "over-refusal (lower is more useful)"
    return f"{label} documents ({where}): {what}"


def refusal_table(results: dict[str, Any], set_name: str) -> TableData:
    """Refused k/n with its interval per model (rows) and evaluated task (columns) on one evaluation set."""
    tasks = results.get("tasks", [])
    rows = []
    for m in results["models"]:
        rows.append([m["label"], *[k_of_n(m, t, set_name, interval=True) for t in tasks],
                     pooled_k_of_n(m, tasks, set_name)])
    return TableData(f"Refusal on {describe_set(set_name)}", ["model", *tasks, "mean"], rows, note=INTERVAL_NOTE,
                     name=f"refusal-{set_name.replace(':', '-')}")


def _fmt_ci(lo: float, hi: float) -> str:
    return f"{lo:.3f}–{hi:.3f}"


def utility_table(results: dict[str, Any]) -> TableData | None:
    """Task quality on benign documents (the metric each task names), per model and task."""
    tasks = results.get("tasks", [])
    rows = []
    for m in results["models"]:
        cells = []
        for t in tasks:
            c = model_cell(m, t, "benign")
            util, util_ci = (c.utility or {}, c.utility_ci or {}) if c else ({}, {})
            parts = []
            for k, v in sorted(util.items()):
                if isinstance(v, int | float):
                    parts.append(f"{k} {v:.3f}" + (f" ({_fmt_ci(*util_ci[k])})" if k in util_ci else ""))
            cells.append(", ".join(parts) or "–")
        rows.append([m["label"], *cells])
    if all(c == "–" for r in rows for c in r[1:]):
        return None
    return TableData("Utility on benign documents", ["model", *tasks], rows, name="utility",
                     note=f"The mean of each task's quality metric (with its {LEVEL:.0%} seeded bootstrap interval "
                          "where recorded: a mean of scores is not a binomial rate).")


def transfer_models(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The undefended model, then each defense family at its largest N."""
    best: dict[str, dict[str, Any]] = {}
    for m in results["models"]:
        fam = m["family"]
        if fam not in best or (m.get("n") or 0) > (best[fam].get("n") or 0):
            best[fam] = m
    return sorted(best.values(), key=lambda m: (m["family"] != "none", m["family"] == "mixed", m["family"]))


def transfer_matrix(results: dict[str, Any]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Defense (the undefended model, then each family at its largest N) × evaluated task."""
    tasks = results.get("tasks", [])
    chosen = transfer_models(results)
    rows = [m["label"] for m in chosen]
    values = [[cell(m, t, "malicious") for t in tasks] for m in chosen]
    return rows, tasks, values


def cross_task_table(results: dict[str, Any]) -> TableData:
    tasks = results.get("tasks", [])
    chosen = transfer_models(results)
    return TableData(
        "Cross-task transfer: refusal on malicious documents (defense × evaluated task)",
        ["defense", *tasks], [[m["label"], *[k_of_n(m, t, "malicious", interval=True) for t in tasks]] for m in chosen],
        note="Each defense family at its largest N. Off-diagonal cells of single-task defenses show transfer. "
             + INTERVAL_NOTE.split(" mean:")[0],
        name="cross-task-transfer",
    )


def all_tables(results: dict[str, Any]) -> list[TableData]:
    tables = [refusal_table(results, name) for name in sets_present(results)]
    if any(m["family"] != "none" for m in results["models"]):
        tables.append(cross_task_table(results))
    util = utility_table(results)
    if util is not None:
        tables.append(util)
    agree = agreement_table(results)
    if agree is not None:
        tables.append(agree)
    return tables


def agreement_table(results: dict[str, Any], example_chars: int = 90) -> TableData | None:
    """How often each other judge disagrees with the primary one, per model, with example outputs."""
    rows = []
    for m in results["models"]:
        for other, a in (m.get("agreement") or {}).items():
            shown = []
            for side, who in (("primary_only", "only primary refused"), ("other_only", f"only {other} refused")):
                for e in (a.get("examples") or {}).get(side, [])[:1]:
                    text = " ".join(str(e.get("output", "")).split())
                    text = text if len(text) <= example_chars else text[: example_chars - 1] + "…"
                    shown.append(f"{who}: {e.get('id', '')}: \u201c{text}\u201d")
            rows.append([m["label"], other, f"{a.get('disagree', 0)}/{a.get('n', 0)}", pct(a.get("rate")),
                         str(a.get("primary_only", 0)), str(a.get("other_only", 0)), " / ".join(shown) or "–"])
    if not rows:
        return None
    return TableData("Judge agreement", ["model", "other judge", "disagree", "rate", "only primary refused",
                                         "only other refused", "examples"], rows, name="agreement", numeric=False,
                     note="Every evaluated output judged by the primary judge and by each other configured judge "
                          "(e.g. the paper's keyword-gcg13): where they differ, the paper's metric would read differently.")


# --- provenance ----------------------------------------------------------------------------


def _shown_path(path: str | None, base: Path | None) -> str:
    """A path relative to the report's folder when it lies inside it."""
    if not path:
        return "–"
    if base is not None:
        try:
            return str(Path(path).resolve().relative_to(Path(base).resolve()))
        except ValueError:
            pass
    return str(path)


def judge_text(judge_id: str | None, others: list[str] | None = None) -> str:
    """``"refusal@2 (judge refusal, version 2); also scored: keyword-gcg13@1"``."""
    if not judge_id:
        return "unknown (not recorded by the version that wrote these results)"
    name, _, version = str(judge_id).partition("@")
    text = f"{judge_id} (judge {name}, version {version})" if version else str(judge_id)
    rest = [j for j in (others or []) if j != judge_id]
    return text + (f"; also scored: {', '.join(rest)}" if rest else "")


def _machine_text(machine: dict[str, Any]) -> list[tuple[str, str]]:
    gpu = machine.get("gpu")
    libs = ", ".join(f"{k} {machine[k]}" for k in ("torch", "transformers", "peft") if machine.get(k))
    return [
        ("machine", f"{machine.get('platform', 'unknown')}, Python {machine.get('python', '?')}"),
        ("CPU", str(machine.get("cpu") or "unknown")),
        ("GPU", ", ".join(gpu) if gpu else "none"),
        ("libraries", libs or "unknown"),
    ]


def provenance_table(results: dict[str, Any], base: Path | None = None) -> TableData:
    """Where the numbers come from: code, config, seed, models, judge, data, date, machine."""
    prov = results.get("provenance") or {}
    unknown = "unknown (not recorded)"
    rows: list[tuple[str, str]] = [
        ("crosstask version", str(prov.get("crosstask_version") or unknown)),
        ("git commit", str(prov.get("git_commit") or "unknown (not run from a git checkout)")),
        ("config hash", (f"{prov['config_hash']} (of config.yaml, without output_dir and stages_dir)"
                         if prov.get("config_hash") else unknown)),
        ("seed", str(prov.get("seed", results.get("seed", unknown)))),
        ("base model", f"{results.get('base_model', unknown)} (prompt format {results.get('prompt_format', '?')})"),
        ("judge", judge_text(results.get("judge"), results.get("judges") or prov.get("judges"))),
        ("intervals", f"{LEVEL:.0%} Wilson score interval of every rate (scipy.stats.binomtest); seeded "
                      "bootstrap for means of task-quality scores"),
    ]
    for d in prov.get("datasets") or []:
        hashes = ", ".join(f"{k} sha256 {v}" for k, v in d.items() if k.endswith((".json", ".jsonl")) and v)
        extra = ", ".join(f"{k} {d[k]}" for k in ("recipe", "total", "config_hash") if k in d)
        rows.append((str(d.get("name", "dataset")), "; ".join(x for x in (_shown_path(d.get("path"), base), hashes,
                                                                            extra) if x)))
    rows.append(("date", f"{prov['date']} (when the newest stage finished)" if prov.get("date") else unknown))
    rows += _machine_text(prov.get("machine") or {}) if prov.get("machine") else [("machine", unknown)]
    return TableData("Run: code, config, judge, data, machine", ["item", "value"], [list(r) for r in rows],
                     name="provenance", numeric=False,
                     note="Machine: the one that wrote this report (stages found cached may have run elsewhere).")


def models_table(results: dict[str, Any], base: Path | None = None) -> TableData:
    """One row per model: recipe, N, adapter folder, judge and training summary."""
    rows = []
    for m in results["models"]:
        train = m.get("train") or {}
        loss = train.get("final_loss")
        rows.append([
            m["label"], str(m.get("recipe", m["family"])), str(m.get("n") or "–"),
            _shown_path(m.get("adapter"), base) if m.get("adapter") else ("none (base model)" if m["family"] == "none"
                                                                          else "–"),
            str(m.get("judge") or results.get("judge") or "unknown"),
            str(train.get("steps", "–")), f"{loss:.4f}" if isinstance(loss, int | float) else "–",
        ])
    return TableData("Models", ["model", "recipe", "N", "adapter", "judge", "train steps", "final loss"], rows,
                     name="models", numeric=False, note="Adapters load with peft.PeftModel.from_pretrained(base, folder).")


def rates_long(results: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Every rate in one long table (for ``tables/rates.csv``): one row per model, set and task."""
    header = ["model", "family", "n_train", "set", "task", "refused", "count", "rate", "ci_low", "ci_high",
              "interval", "judge"]
    rows = []
    for m in results["models"]:
        for set_name in sets_present(results):
            for t in results.get("tasks", []):
                c = model_cell(m, t, set_name)
                if c is None:
                    continue
                lo, hi = c.ci if c.ci else (None, None)
                rows.append([m["label"], m["family"], m.get("n"), set_name, t, c.refused, c.count, c.refusal_rate,
                             lo, hi, ("wilson" if c.refused is not None else "stored") if c.ci else "",
                             m.get("judge") or results.get("judge") or ""])
    return header, rows
