"""The task registry: the paper's exact prompts, input transforms, references, registration."""

from __future__ import annotations

import pytest

from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.tasks import PAPER_TASKS, Task, get_task, list_tasks, register_task
from crosstask.tasks import registry as task_registry

TEXT = (
    "Placeholder article about the town fair. The fair opened on Monday. Visitors bought bread. "
    "The mayor thanked the volunteers. Organisers said it will return next year."
)
DOC = Document(id="d0", text=TEXT, label="benign", source="test")

# Literal expected user messages (Fu et al. 2024, released evaluation files).
EXPECTED = {
    "summarize": TEXT + "Summarize the above article briefly in 3 sentences.",
    "translate": TEXT + "Translate the above article from English to Chinese: ",
    "sentiment": TEXT + "\nHow would you describe the sentiment of this document?",
    "case": TEXT.lower() + "\nWrite the above sentence using proper case.",
    "cloze": (
        "Placeholder article about the town fair. The fair opened on Monday. Visitors bought bread."
        "\n\nWrite the next sentence."
    ),
}


def test_paper_tasks_registered_in_order():
    assert PAPER_TASKS == ("summarize", "translate", "sentiment", "case", "cloze")
    assert set(PAPER_TASKS) <= set(list_tasks()) and "qa" in list_tasks()


@pytest.mark.parametrize("name", PAPER_TASKS)
def test_paper_prompt_exact(name):
    message, _ = get_task(name).user_message(DOC)
    assert message == EXPECTED[name]


def test_render_uses_given_instruction():
    assert get_task("summarize").render("Doc.", "Summarize the above article briefly in 3 sentence.") == (
        "Doc.Summarize the above article briefly in 3 sentence."
    )


def test_case_lowercases_input_and_references_original():
    ti = get_task("case").prepare(DOC)
    assert ti.text == TEXT.lower() and ti.reference == TEXT


def test_cloze_cuts_at_sentence_boundary_with_next_sentence_reference():
    ti = get_task("cloze").prepare(DOC)
    assert TEXT.startswith(ti.text) and ti.text.endswith("Visitors bought bread.")
    assert ti.reference == "The mayor thanked the volunteers."
    one = Document(id="d1", text="Only one sentence here", label="benign", source="test")
    assert get_task("cloze").prepare(one).reference is None


def test_sentiment_reference_from_label_value_and_given_reference():
    doc = Document(id="d2", text=TEXT, label="benign", source="test", meta={"label_value": "positive"})
    assert get_task("sentiment").prepare(doc).reference == "positive"
    doc = Document(id="d3", text=TEXT, label="benign", source="test", meta={"reference": {"summarize": "Short."}})
    assert get_task("summarize").prepare(doc).reference == "Short."
    assert get_task("summarize").prepare(DOC).reference is None


def test_qa_needs_questions():
    qa = get_task("qa")
    assert not qa.applies_to(DOC)
    doc = Document(id="d4", text=TEXT, label="benign", source="test", meta={"questions": ["When did it open?"]})
    assert qa.applies_to(doc)
    message, _ = qa.user_message(doc)
    assert message == f"{TEXT}\n\nQuestion: When did it open?\nAnswer the question above using only the document."


def test_unknown_task():
    with pytest.raises(CrosstaskError, match="unknown task 'nope'; known tasks: "):
        get_task("nope")


def test_register_new_task_is_one_call(monkeypatch):
    monkeypatch.setattr(task_registry.TASKS, "_entries", task_registry.TASKS.snapshot())
    task = register_task(Task(name="headline", instruction="Write a headline for the above article.",
                              position="before", joiner="\n\n"))
    assert get_task("headline") is task and "headline" in list_tasks()
    assert task.user_message(DOC)[0] == "Write a headline for the above article.\n\n" + TEXT
    with pytest.raises(CrosstaskError, match="already registered"):
        register_task(Task(name="headline", instruction="x"))
