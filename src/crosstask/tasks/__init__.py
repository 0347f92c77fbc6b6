"""NLP tasks: instruction text, how it joins the document, references and metrics."""

from crosstask.tasks.registry import Task, TaskInput, get_task, list_tasks, register_task

__all__ = ["Task", "TaskInput", "get_task", "list_tasks", "register_task"]

PAPER_TASKS: tuple[str, ...] = ("summarize", "translate", "sentiment", "case", "cloze")
