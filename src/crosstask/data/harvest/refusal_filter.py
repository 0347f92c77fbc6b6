"""Which check decides that a harvested generation is itself a refusal (and is dropped)."""

from __future__ import annotations

from collections.abc import Callable

from crosstask.judges import get_judge

DEFAULT_JUDGE = "refusal"  # the phrase judge of crosstask.judges (multilingual, position-weighted)
# Source kinds whose documents pass through the filter: which documents survive depends on the judge's version.
FILTERED_KINDS = frozenset({"harvest", "harvest-counterparts", "generated-news", "generated-sensitive"})


def refusal_checker(name: str = DEFAULT_JUDGE) -> Callable[[str], bool]:
    """The refusal judge ``name`` as a predicate on a generated text."""
    return get_judge(name).is_refusal


def filter_id(kinds: list[str]) -> dict[str, str]:
    """The filter's versioned judge id, for the key of a stage that loads sources of ``kinds``.

    A new judge version drops other generations, so it must be a new stage; sources that are not
    generated (files, goal sets) keep their keys."""
    return {"refusal_filter": get_judge(DEFAULT_JUDGE).id} if FILTERED_KINDS.intersection(kinds) else {}
