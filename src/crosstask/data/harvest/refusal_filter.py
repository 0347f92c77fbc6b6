"""Which check decides that a harvested generation is itself a refusal (and is dropped)."""

from __future__ import annotations

from collections.abc import Callable

from crosstask.judges import get_judge

DEFAULT_JUDGE = "refusal"  # the phrase judge of crosstask.judges (multilingual, position-weighted)


def refusal_checker(name: str = DEFAULT_JUDGE) -> Callable[[str], bool]:
    """The refusal judge ``name`` as a predicate on a generated text."""
    return get_judge(name).is_refusal
