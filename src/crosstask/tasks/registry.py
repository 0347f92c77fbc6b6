"""A registry of NLP tasks (the lm-evaluation-harness pattern).

Adding a task is one :func:`register_task` call with a :class:`Task`; the built-ins are
lazy ``"module:attr"`` targets of :data:`TASKS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator

from crosstask.document import Document
from crosstask.registry import Registry

# How a benign reference answer is made:
#   "self"     - the base model's own answer (self-distilled), unless the document gives one
#   "original" - the document's original text (the task's input is transformed)
#   "next"     - the real next sentence (the document is cut at a sentence boundary)
#   "label"    - a given label (meta["label_value"]); else the model's own answer
#   "given"    - only a reference the document provides
ReferenceKind = Literal["self", "original", "next", "label", "given"]


@dataclass(frozen=True)
class TaskInput:
    """What a task shows the model for one document, and the reference if known."""

    text: str  # the document text as it goes into the prompt
    reference: str | None  # a deterministic/given reference answer, or None


@dataclass(frozen=True)
class Task:
    name: str
    instruction: str
    joiner: str = "\n"  # between document and instruction (paper: per task)
    position: Literal["after", "before"] = "after"  # instruction after the document (the paper) or before
    reference: ReferenceKind = "self"
    metric: str = "rouge_l"  # the utility metric: see crosstask.evaluation.task_metrics
    transform: Callable[[Document], TaskInput] | None = None  # custom input/reference; default: text as is
    description: str = ""
    needs_field: str | None = None  # a Document.meta key the task needs (e.g. "questions")

    def prepare(self, doc: Document) -> TaskInput:
        """The document's text as this task shows it, and the deterministic/given reference."""
        if self.transform is not None:
            return self.transform(doc)
        given = (doc.meta.get("reference") or {}).get(self.name)
        if given is None and self.reference == "label":
            given = doc.meta.get("label_value")
        return TaskInput(text=doc.text, reference=given)

    def applies_to(self, doc: Document) -> bool:
        return self.needs_field is None or bool(doc.meta.get(self.needs_field))

    def render(self, text: str, instruction: str | None = None) -> str:
        """Join a (possibly truncated) document text with the instruction: the user message."""
        instr = self.instruction if instruction is None else instruction
        if self.position == "after":
            return f"{text}{self.joiner}{instr}"
        return f"{instr}{self.joiner}{text}"

    def user_message(self, doc: Document) -> tuple[str, TaskInput]:
        ti = self.prepare(doc)
        return self.render(ti.text), ti


# The built-in tasks are lazy targets in crosstask.tasks.builtin, imported on first use.
TASKS: Registry[Task] = Registry("task")
# A config field holding task names: each must be registered (a one-line error with its key path).
TaskNames = Annotated[list[str], AfterValidator(TASKS.check_all)]
for _name in ("summarize", "translate", "sentiment", "case", "cloze", "qa"):
    TASKS.register(_name, f"crosstask.tasks.builtin:{_name.upper()}")


def register_task(task: Task, *, overwrite: bool = False) -> Task:
    TASKS.register(task.name, task, overwrite=overwrite)
    return task


def get_task(name: str) -> Task:
    return TASKS.get(name)


def list_tasks() -> list[str]:
    return TASKS.names()


_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split English prose at sentence ends (., !, ? followed by a capital)."""
    parts = [p.strip() for p in _SENT_END.split(text.strip())]
    return [p for p in parts if p]
