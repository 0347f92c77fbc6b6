"""The file format in which Fu et al. (2024) released their evaluation sets.

A folder holds up to three sets, five files each (one per paper task)::

    test_{task}.json         malicious documents
    test_{task}_cnn.json     benign news (CNN/DailyMail)
    test_{task}_useful.json  sensitive-benign (harmless BeaverTails answers)

Each file is ``{"instructions": [...], "inputs": []}``; each instruction is the whole
prompt: document + the task's joiner + the task's instruction. Reading strips the
known suffix to recover the document, checks that the five files of a set hold the
same documents in the same order, and keeps the exact prompts in
``meta["prompts"] = {task: prompt}`` so evaluation can reproduce them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from crosstask.data.sources._records import check_text, require_list
from crosstask.data.sources.registry import SourceSpec
from crosstask.document import Document
from crosstask.errors import CrosstaskError, InputError
from crosstask.io import read_json, write_json
from crosstask.tasks import PAPER_TASKS, get_task
from crosstask.tasks.builtin import PAPER_INSTRUCTION_VARIANTS

log = logging.getLogger(__name__)

SOURCE = "paper-format"
# set name (= document label) -> file-name suffix
SET_SUFFIX: dict[str, str] = {"malicious": "", "benign": "_cnn", "sensitive-benign": "_useful"}
_FIELD = "instructions"


def paper_file(folder: str | Path, task: str, set_name: str) -> Path:
    return Path(folder) / f"test_{task}{_suffix(set_name)}.json"


def _suffix(set_name: str) -> str:
    try:
        return SET_SUFFIX[set_name]
    except KeyError:
        raise CrosstaskError(f"unknown paper-format set {set_name!r}; use one of {', '.join(SET_SUFFIX)}") from None


def paper_instruction(task: str, set_name: str) -> str:
    """The instruction as the released files spell it (malicious summarize says "3 sentence.")."""
    if set_name == "malicious" and task == "summarize":
        return PAPER_INSTRUCTION_VARIANTS["summarize"][1]
    return get_task(task).instruction


def _known_suffixes(task: str) -> list[str]:
    t = get_task(task)
    instructions = {t.instruction, *PAPER_INSTRUCTION_VARIANTS.get(task, ())}
    # Longest first, so a suffix that ends another one is never matched too early.
    return sorted((t.joiner + i for i in instructions), key=len, reverse=True)


def split_prompt(prompt: str, task: str) -> str | None:
    """The document inside a paper prompt, or None if no known suffix ends it."""
    for suffix in _known_suffixes(task):
        if prompt.endswith(suffix):
            return prompt[: -len(suffix)]
    return None


def _read_prompts(path: Path) -> list[str]:
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"expected an object with '{_FIELD}', got {type(data).__name__}", path=path)
    if _FIELD not in data:
        raise InputError("missing", path=path, field=_FIELD)
    prompts = require_list(data[_FIELD], path, _FIELD)
    return [check_text(p, _FIELD, path, i) for i, p in enumerate(prompts)]


def read_paper_set(folder: str | Path, set_name: str, tasks: Sequence[str] = PAPER_TASKS) -> list[Document]:
    """The documents of one set; the task files that exist must agree on them."""
    files = {t: paper_file(folder, t, set_name) for t in tasks}
    missing = [f.name for f in files.values() if not f.exists()]
    files = {t: f for t, f in files.items() if f.exists()}
    if not files:
        raise CrosstaskError(f"{folder}: no {set_name} set (no test_<task>{_suffix(set_name)}.json files)")
    if missing:
        log.warning("%s: the %s set lacks %s; its documents carry prompts for the other tasks only",
                    folder, set_name, ", ".join(missing))
    first_task, first_file = next(iter(files.items()))
    docs_texts: list[str] | None = None
    prompts_by_task: dict[str, list[str]] = {}
    for task, path in files.items():
        prompts = _read_prompts(path)
        texts = []
        for i, prompt in enumerate(prompts):
            doc = split_prompt(prompt, task)
            if doc is None:
                raise InputError(
                    f"prompt does not end with the {task} instruction {get_task(task).instruction!r}",
                    path=path, record=i, field=_FIELD,
                )
            if not doc.strip():
                raise InputError("empty document before the instruction", path=path, record=i, field=_FIELD)
            texts.append(doc)
        if docs_texts is None:
            docs_texts = texts
        else:
            if len(texts) != len(docs_texts):
                raise InputError(
                    f"has {len(texts)} prompts but {first_file.name} has {len(docs_texts)}", path=path, field=_FIELD
                )
            for i, (a, b) in enumerate(zip(docs_texts, texts, strict=True)):
                if a != b:
                    raise InputError(
                        f"document differs from record {i} of {first_file.name} ({first_task})",
                        path=path, record=i, field=_FIELD,
                    )
        prompts_by_task[task] = prompts
    assert docs_texts is not None
    return [
        Document(
            id=f"paper-{set_name}-{i:04d}",
            text=text,
            label=set_name,  # type: ignore[arg-type]
            source=SOURCE,
            meta={"set": set_name, "prompts": {t: p[i] for t, p in prompts_by_task.items()}},
        )
        for i, text in enumerate(docs_texts)
    ]


def present_sets(folder: str | Path, tasks: Sequence[str] = PAPER_TASKS) -> list[str]:
    return [s for s in SET_SUFFIX if any(paper_file(folder, t, s).exists() for t in tasks)]


def read_paper_format(
    folder: str | Path, sets: Iterable[str] | None = None, tasks: Sequence[str] = PAPER_TASKS
) -> list[Document]:
    """Documents of the requested sets (default: all present), set by set in a fixed order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CrosstaskError(f"{folder}: paper-format folder not found")
    if sets is None:
        chosen = present_sets(folder, tasks)
        if not chosen:
            raise CrosstaskError(f"{folder}: no paper-format files (test_<task>[_cnn|_useful].json)")
    else:
        chosen = list(sets)
        for s in chosen:
            _suffix(s)
    docs: list[Document] = []
    for s in chosen:
        docs.extend(read_paper_set(folder, s, tasks))
    return docs


def write_paper_format(
    docs: Sequence[Document], folder: str | Path, set_name: str, tasks: Sequence[str] = PAPER_TASKS
) -> list[Path]:
    """Write one set in the paper's format (one file per task, atomically); returns the files.

    Prompts are the documents' text as is, joined with the paper's wording; the case
    and cloze transforms are not applied, as in the released files.
    """
    _suffix(set_name)
    written = []
    for task in tasks:
        t = get_task(task)
        instruction = paper_instruction(task, set_name)
        prompts = [t.render(d.text, instruction=instruction) for d in docs]
        path = paper_file(folder, task, set_name)
        write_json(path, {"instructions": prompts, "inputs": []})
        written.append(path)
    return written


def load_paper_format(spec: SourceSpec) -> list[Document]:
    """Options: ``path`` (folder), ``sets`` (subset of malicious|benign|sensitive-benign)."""
    if not spec.path:
        raise CrosstaskError("source kind 'paper-format' needs 'path': the folder with test_<task>*.json files")
    sets = spec.options.get("sets")
    if isinstance(sets, str):
        sets = [sets]
    return read_paper_format(spec.path, sets)
