"""Prompts for harvesting: compliance prefills for harmful goals, topic seeds for benign texts.

The prefill only opens a compliant answer ("Sure, here is ..."); all document content comes
from the generator model at run time. Nothing harmful is written here.
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from crosstask.document import Document
from crosstask.errors import CrosstaskError

DEFAULT_PREFILL = "Sure, here is {target}:\n\n"

NEWS_PROMPTS: tuple[str, ...] = (
    "Write a short news article about: {topic}",
    "Write a brief news report about: {topic}",
    "Write a short local newspaper story about: {topic}",
)
SENSITIVE_PROMPTS: tuple[str, ...] = (
    "Write a short, helpful and responsible article about: {topic}",
    "Write a brief advice column answering a reader's question about: {topic}",
    "Write a short public information leaflet about: {topic}",
)


# Harmless counterparts of a harmful goal: the same topic, written to protect, inform or report.
# Each framing is (name, user message, prefill); {goal} is the harmful goal, {target} what its
# answer would announce. Nothing here asks for the harmful content itself.
COUNTERPART_FRAMINGS: tuple[tuple[str, str, str], ...] = (
    ("prevention",
     "Write a short article that helps people recognise and prevent the harm behind this request, without "
     "explaining how to do it: {goal}",
     "Sure, here is how people can recognise and prevent {target}:\n\n"),
    ("safety-advice",
     "Write practical safety advice for someone worried about becoming a victim of this: {goal}",
     "Sure, here is safety advice for anyone worried about {target}:\n\n"),
    ("history",
     "Write a short, factual history of the problem behind this request and how society responded to it: {goal}",
     "Sure, here is a short history of the problem behind {target}:\n\n"),
    ("news-report",
     "Write a short news report about police or officials stopping someone who tried this: {goal}",
     "Sure, here is a news report about authorities stopping {target}:\n\n"),
    ("harm-reduction",
     "Write responsible harm-reduction and support information for people affected by this: {goal}",
     "Sure, here is support information for people affected by {target}:\n\n"),
    ("defensive-security",
     "Write a short guide for defenders on detecting and blocking this kind of threat, with no attack steps: {goal}",
     "Sure, here is how defenders can detect and block {target}:\n\n"),
    ("legal-information",
     "Explain the laws and penalties that apply to this and where victims can get help: {goal}",
     "Sure, here is legal information about {target}:\n\n"),
)

# The compliance prefill for harmless goals (a topic of the sensitive or news bank), so that an
# opening line such as "Sure, here is ..." is not evidence of harm.
TOPIC_PREFILLS: dict[str, str] = {
    "news": "Sure, here is a news article about {topic}:\n\n",
    "sensitive": "Sure, here is a guide on {topic}:\n\n",
}


def goal_target(doc: Document) -> str:
    """What the answer announces: a dataset's own target (AdvBench ``target``) or one derived from the goal.

    "Create a plan for X" -> "how to create a plan for X".
    """
    target = doc.meta.get("target")
    if isinstance(target, str) and target.strip():
        t = re.sub(r"^\s*sure,?\s+here\s+(is|are)\s+", "", target.strip(), flags=re.IGNORECASE)
        return t.rstrip(" .:")
    goal = str(doc.meta.get("goal") or doc.text).strip().rstrip(" .?!:")
    if not goal:
        raise CrosstaskError(f"goal document {doc.id!r} has an empty goal")
    return f"how to {goal[0].lower()}{goal[1:]}"


def render_prefill(template: str, doc: Document) -> str:
    """Fill ``{target}`` / ``{goal}`` in a prefill template."""
    goal = str(doc.meta.get("goal") or doc.text).strip()
    try:
        return template.format(target=goal_target(doc), goal=goal)
    except (KeyError, IndexError) as e:
        raise CrosstaskError(f"prefill template {template!r}: unknown placeholder {e}; use {{target}} or {{goal}}") from None


def load_topics(name: str) -> list[str]:
    """Topic seeds shipped in ``crosstask/resources/topics_{name}.txt`` (one per line, # comments)."""
    try:
        text = resources.files("crosstask").joinpath(f"resources/topics_{name}.txt").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CrosstaskError(f"no topic list named {name!r} (expected resources/topics_{name}.txt)") from None
    return parse_topics(text, f"resources/topics_{name}.txt")


def parse_topics(text: str, where: str) -> list[str]:
    """One topic per line; blank lines and # comments skipped; an empty bank is an error."""
    topics = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not topics:
        raise CrosstaskError(f"{where}: the topic bank is empty")
    return topics


TOPIC_PARTS = ("all", "train", "heldout")


def topic_part(topic: str, heldout_share: float) -> str:
    """``train`` or ``heldout`` for a topic, from a hash of its text: the same topic always falls on
    the same side, whatever list it comes from or its position, so the split cannot leak."""
    bucket = int(hashlib.sha256(f"crosstask-topic:{topic.strip().lower()}".encode()).hexdigest()[:8], 16) % 1000
    return "heldout" if bucket < round(heldout_share * 1000) else "train"


def select_topics(topics: list[str], part: str, heldout_share: float, where: str) -> list[str]:
    """The topics of one side of the split (``all``: every topic)."""
    if part not in TOPIC_PARTS:
        raise CrosstaskError(f"{where}: topics_part must be one of {', '.join(TOPIC_PARTS)}, got {part!r}")
    if not 0 < heldout_share < 1:
        raise CrosstaskError(f"{where}: heldout_topics must be between 0 and 1, got {heldout_share}")
    if part == "all":
        return topics
    chosen = [t for t in topics if topic_part(t, heldout_share) == part]
    if not chosen:
        raise CrosstaskError(f"{where}: no topics fall in the {part} part ({len(topics)} topics, "
                             f"heldout_topics={heldout_share})")
    return chosen
