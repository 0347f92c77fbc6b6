"""Refusal judges: a registry of named, versioned judges chosen in config (``judges: [refusal]``)."""

from crosstask.judges.base import VERDICT_LABELS, Judge, Verdict, get_judge, list_judges, register_judge

__all__ = ["VERDICT_LABELS", "Judge", "Verdict", "get_judge", "list_judges", "register_judge"]
