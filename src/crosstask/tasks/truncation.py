"""Keep prompts within a token budget by cutting the DOCUMENT in the middle.

The one truncation of the project, used by the defense dataset (training) and by the
evaluator: the head and tail of the document are kept around " ... ", the instruction is
never cut, and the task's transform runs on the cut document, so references derived from
the text (case: original casing; cloze: next sentence) match what the model sees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.tasks.registry import Task, TaskInput

CUT_MARK = " ... "

# From a (possibly cut) document text: the task input and the user message.
Shown = Callable[[str], tuple[TaskInput, str]]


def middle_cut(tokenizer: Any, ids: list[int], keep: int) -> str:
    """The text of the first ceil(keep/2) and last floor(keep/2) tokens joined by " ... "."""
    head = tokenizer.decode(ids[: (keep + 1) // 2], skip_special_tokens=True).rstrip()
    tail = tokenizer.decode(ids[len(ids) - keep // 2 :], skip_special_tokens=True).lstrip() if keep // 2 else ""
    return f"{head}{CUT_MARK}{tail}".strip() or CUT_MARK.strip()


def task_shown(task: Task, doc: Document) -> Shown:
    """How ``task`` shows ``doc`` with its text replaced: the transform runs on the given text."""

    def shown(text: str) -> tuple[TaskInput, str]:
        ti = task.prepare(doc if text == doc.text else replace(doc, text=text))
        return ti, task.render(ti.text)

    return shown


def fit_text(
    text: str,
    shown: Shown,
    *,
    tokenizer: Any,
    max_prompt_tokens: int,
    prompt_of: Callable[[str], str],
    what: str,
    budget_key: str = "max_prompt_tokens",
) -> tuple[str, TaskInput, str, bool]:
    """(text as used, its task input, user message, truncated?) with the prompt within budget.

    ``shown(text)`` gives the task input and user message for a document text;
    ``prompt_of(user_message)`` formats the full prompt (system message, chat template);
    ``what`` and ``budget_key`` name the prompt and the budget's config key in the error. The kept text is the longest middle cut of ``text`` whose prompt fits.
    """

    def attempt(t: str) -> tuple[TaskInput, str, int]:
        ti, user = shown(t)
        n = len(tokenizer(prompt_of(user), add_special_tokens=False)["input_ids"])
        return ti, user, n

    ti, user, n = attempt(text)
    if n <= max_prompt_tokens:
        return text, ti, user, False
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    lo, hi, best = 0, len(ids) - 1, None
    while lo <= hi:  # the largest number of kept tokens whose prompt fits
        mid = (lo + hi) // 2
        cut = middle_cut(tokenizer, ids, mid)
        cti, cuser, cn = attempt(cut)
        if cn <= max_prompt_tokens:
            best, lo = (cut, cti, cuser), mid + 1
        else:
            hi = mid - 1
    if best is None:
        raise CrosstaskError(
            f"{budget_key} {max_prompt_tokens} is too small for {what}: even an empty document "
            f"gives a longer prompt"
        )
    return best[0], best[1], best[2], True


def fit_document(
    doc: Document,
    task: Task,
    *,
    tokenizer: Any,
    max_prompt_tokens: int,
    prompt_of: Callable[[str], str],
) -> tuple[Document, TaskInput, str, bool]:
    """(document as used, its task input, user message, truncated?) with the prompt within budget.

    The task's transform (and so its reference) is computed from the cut document.
    """
    text, ti, user, truncated = fit_text(
        doc.text, task_shown(task, doc), tokenizer=tokenizer, max_prompt_tokens=max_prompt_tokens, prompt_of=prompt_of,
        what=f"task {task.name!r}",
    )
    return (replace(doc, text=text) if truncated else doc), ti, user, truncated
