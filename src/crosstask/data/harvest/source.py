"""Source kinds that generate documents: ``harvest``, ``harvest-counterparts``, ``generated-news``,
``generated-sensitive``.

``{kind: harvest, goals: {kind: advbench}, limit: 50, max_new_tokens: 128}`` answers the first
50 AdvBench goals under a compliance prefill (``opening: remove`` drops that opening line from
every document: the held-out check that a defense does not key on it).
``{kind: harvest-counterparts, goals: {kind: advbench}, limit: 50}`` writes a harmless text on the
topic of each goal (label sensitive-benign). ``{kind: generated-news, n: 20, topics_part: train}``
writes 20 news articles from the train side of the shipped topic seeds. Generations are cached,
so loading again is instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstask.data.harvest.harvest_settings import check_source_options
from crosstask.data.harvest.harvester import (
    HarvestSettings,
    generate_benign_documents,
    harvest_counterpart_documents,
    harvest_malicious_documents,
)
from crosstask.data.harvest.prompts import DEFAULT_PREFILL, parse_topics
from crosstask.data.quality import strip_opening
from crosstask.data.sources.registry import SourceSpec, load_source
from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.io import read_text


def settings_from_options(kind: str, options: dict[str, Any]) -> HarvestSettings:
    """HarvestSettings from a spec's options, every option checked; a problem is a one-line error."""
    try:
        return check_source_options(kind, options)
    except ValueError as e:
        raise CrosstaskError(f"source kind {kind!r}: {e}") from None


def _goals(kind: str, spec: SourceSpec) -> list[Document]:
    goals_spec = spec.options.get("goals")
    if not goals_spec:
        raise CrosstaskError(f"source kind {kind!r} needs 'goals', a source spec such as {{kind: advbench}}")
    if isinstance(goals_spec, str):
        goals_spec = {"kind": goals_spec}
    goals = load_source(goals_spec)
    if spec.limit is not None:
        goals = goals[: spec.limit]
    if not goals:
        raise CrosstaskError(f"source kind {kind!r}: the goal set {goals_spec.get('kind')!r} gave no goals")
    return goals


def load_harvest(spec: SourceSpec) -> list[Document]:
    """Malicious documents: a model answers harmful goals (``goals``: a nested source spec)."""
    settings = settings_from_options("harvest", spec.options)
    goals = _goals("harvest", spec)
    prefill = spec.options.get("prefill", DEFAULT_PREFILL)
    docs = harvest_malicious_documents(goals, settings, prefill=prefill).documents
    opening = spec.options.get("opening", "keep")
    if opening == "remove":
        return [Document(f"{d.id}-noopen", strip_opening(d.text), d.label, f"{d.source}:no-opening",
                         d.meta | {"opening": "removed"}) for d in docs]
    if opening != "keep":
        raise CrosstaskError(f"source kind 'harvest': opening must be keep or remove, got {opening!r}")
    return docs


def load_counterparts(spec: SourceSpec) -> list[Document]:
    """Sensitive-benign documents: harmless texts on the topics of harmful goals (``goals``, ``framings``)."""
    settings = settings_from_options("harvest-counterparts", spec.options)
    goals = _goals("harvest-counterparts", spec)
    return harvest_counterpart_documents(goals, settings, framings=spec.options.get("framings"),
                                         per_goal=int(spec.options.get("per_goal", 1))).documents


def _benign_loader(kind: str):
    def load(spec: SourceSpec) -> list[Document]:
        where = f"generated-{kind}"
        o = spec.options
        settings = settings_from_options(where, o)
        n = o.get("n", spec.limit)
        if n is None:
            raise CrosstaskError(f"source kind '{where}' needs 'n' (how many documents)")
        topics = o.get("topics")
        if o.get("topics_file"):
            topics = parse_topics(read_text(Path(o["topics_file"])), str(o["topics_file"]))
        elif topics is not None and (not isinstance(topics, list) or not all(isinstance(t, str) for t in topics)):
            raise CrosstaskError(f"source kind '{where}': topics must be a list of strings")
        return generate_benign_documents(
            kind, int(n), settings, topics=topics, topics_part=o.get("topics_part", "all"),
            heldout_topics=float(o.get("heldout_topics", 0.25)), prefill_share=float(o.get("prefill_share", 0.0)),
        ).documents

    load.__doc__ = (f"Source kind 'generated-{kind}': options n, model, max_new_tokens, seed, topics (a list) or "
                    "topics_file, topics_part (all|train|heldout), heldout_topics, prefill_share.")
    return load


load_generated_news = _benign_loader("news")
load_generated_sensitive = _benign_loader("sensitive")
