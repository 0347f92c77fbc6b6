"""The unit every source yields: a document with a safety label."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from crosstask.errors import InputError

Label = Literal["malicious", "benign", "sensitive-benign"]
LABELS: tuple[str, ...] = ("malicious", "benign", "sensitive-benign")
# An evaluation set is named by its label, optionally with a qualifier: "malicious" (held-out
# documents like the training ones) or "malicious:harmbench" (documents from elsewhere, e.g. a
# goal set, topic or writer that training never saw). Documents carry it in meta["eval_set"].
EVAL_SET_KEY = "eval_set"
_SET_NAME = re.compile(r"^(malicious|benign|sensitive-benign)(?::[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def set_label(set_name: str) -> str:
    """The label of an evaluation set name ("malicious:harmbench" -> "malicious")."""
    if not _SET_NAME.match(set_name):
        raise InputError(f"bad evaluation set name {set_name!r}: use a label ({', '.join(LABELS)}), optionally "
                         "followed by ':name' (letters, digits, . _ -)", field="set")
    return set_name.split(":", 1)[0]


def set_order(names: Iterable[str]) -> list[str]:
    """Set names with those from elsewhere (qualified) first, then held-out ones; by label within each."""
    return sorted(set(names), key=lambda n: (":" not in n, LABELS.index(set_label(n)), n))


@dataclass(frozen=True)
class Document:
    """A long document to be processed by an NLP task.

    ``meta`` holds source-specific extras: ``goal`` (the harmful goal it answers),
    ``questions`` (for closed-domain QA), ``label_value`` (a sentiment label),
    ``reference`` (a given reference answer per task, ``{"summarize": "..."}``),
    and provenance of harvested text.
    """

    id: str
    text: str
    label: Label
    source: str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise InputError(f"unknown label {self.label!r}; expected one of {', '.join(LABELS)}", field="label")
        if not isinstance(self.text, str) or not self.text.strip():
            raise InputError(f"document {self.id!r} is empty", field="text")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Document:
        return cls(id=str(d["id"]), text=d["text"], label=d["label"], source=d["source"], meta=dict(d.get("meta") or {}))
