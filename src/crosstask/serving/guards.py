"""The server's guards: the input guard in front of generation, the output guard after it.

- input guard (:class:`crosstask.judges.input_guard.InputGuard`): the last user message scored
  for harm; at or above the threshold the request is answered with a task-aware refusal from
  the defense dataset's refusal bank, and the model never sees it;
- output guard: the default refusal judge labels every response (refused / processed /
  off-task), counted per task at ``/metrics``.

The task of a request is recognised by a registered task's instruction in its text.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

UNKNOWN_TASK = "other"


def detect_task(text: str) -> str:
    """The registered task whose instruction the text contains, else ``other``."""
    from crosstask.tasks.registry import get_task, list_tasks

    for name in list_tasks():
        if get_task(name).instruction.strip() in text:
            return name
    return UNKNOWN_TASK


def task_refusal(task: str, text: str) -> str:
    """A refusal that names the task, chosen from the refusal bank by the request's hash (stable)."""
    from crosstask.data.defense.refusal_bank import stable_refusal

    return stable_refusal(task if task != UNKNOWN_TASK else "process", text)


@dataclass
class GuardDecision:
    score: float
    refused: bool
    refusal: str | None


class Guards:
    def __init__(self, input_guard_dir: str | None, threshold: float | None, output_guard: bool):
        from crosstask.judges import get_judge
        from crosstask.judges.input_guard import InputGuard

        self.input = InputGuard.load(input_guard_dir, threshold) if input_guard_dir else None
        self.judge = get_judge("refusal") if output_guard else None
        self._lock = threading.Lock()  # the encoder is one model shared by the request threads

    def check_input(self, text: str, task: str) -> GuardDecision | None:
        if self.input is None:
            return None
        with self._lock:
            score = self.input.scores([text])[0]
        refused = score >= self.input.threshold
        return GuardDecision(score, refused, task_refusal(task, text) if refused else None)

    def verdict(self, output: str) -> str | None:
        return self.judge.judge(output).label if self.judge is not None else None
