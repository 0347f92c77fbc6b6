"""Long BeaverTails answers as collected by Fu et al. (2023): one JSON object of parallel lists.

``outputs`` (the documents) is required; ``goals`` (the question each answer responds
to), ``questions`` (a question about the document, for closed-domain QA) and
``models`` (the model that wrote the answer) are optional. A list whose length does
not match ``outputs`` cannot be aligned with the documents: it is ignored with a
warning (the released file has 10,000 goals for 1,000 outputs).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from crosstask.data.sources._records import check_text, require_list
from crosstask.data.sources.registry import SourceSpec
from crosstask.document import Document
from crosstask.errors import CrosstaskError, InputError
from crosstask.io import read_json

log = logging.getLogger(__name__)

# parallel list -> meta key
_EXTRA_FIELDS: dict[str, str] = {"goals": "goal", "questions": "questions", "models": "model"}


def read_beavertails(path: str | Path, label: str = "malicious") -> list[Document]:
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError(f"expected an object of parallel lists, got {type(data).__name__}", path=path)
    if "outputs" not in data:
        raise InputError("missing", path=path, field="outputs")
    outputs = require_list(data["outputs"], path, "outputs")
    texts = [check_text(o, "outputs", path, i) for i, o in enumerate(outputs)]
    extras: dict[str, list[Any]] = {}
    for name in _EXTRA_FIELDS:
        if name not in data:
            continue
        values = require_list(data[name], path, name)
        if len(values) != len(texts):
            log.warning("%s: field '%s' has %d entries but 'outputs' has %d; ignoring it",
                        path, name, len(values), len(texts))
            continue
        extras[name] = values
    docs = []
    for i, text in enumerate(texts):
        meta: dict[str, Any] = {}
        for name, values in extras.items():
            meta[_EXTRA_FIELDS[name]] = _extra_value(name, values[i], path, i)
        docs.append(Document(id=f"beavertails-{i:04d}", text=text, label=label, source="beavertails", meta=meta))  # type: ignore[arg-type]
    return docs


def _extra_value(name: str, value: Any, path: Path, i: int) -> Any:
    if name == "questions":  # the qa task reads a list of questions
        items = value if isinstance(value, list) else [value]
        return [check_text(q, name, path, i) for q in items]
    return check_text(value, name, path, i, allow_empty=True)


HAND_LABELS = "resources/beavertails_long_labels.jsonl"
_HAND_TO_LABEL = {"harmful": "malicious", "harmless": "sensitive-benign"}


def hand_labels() -> dict[int, tuple[str, str]]:
    """index -> (sha256 prefix of the text, label) from the shipped hand labels of
    ``beavertails-long-1000.json`` (each answer read by a person: harmful, harmless or unclear)."""
    from importlib import resources

    lines = resources.files("crosstask").joinpath(HAND_LABELS).read_text(encoding="utf-8").splitlines()
    out = {}
    for line in lines[1:]:  # the first line describes the file
        rec = json.loads(line)
        out[int(rec["index"])] = (rec["sha"], rec["label"])
    return out


def select_by_hand_label(docs: list[Document], wanted: str, path: str) -> list[Document]:
    """The documents a person labelled ``wanted``; each text must be the one that was labelled."""
    if wanted not in _HAND_TO_LABEL:
        raise CrosstaskError(f"source kind 'beavertails': hand_labels must be harmful or harmless, got {wanted!r}")
    labels = hand_labels()
    kept = []
    for i, d in enumerate(docs):
        sha, label = labels.get(i, ("", ""))
        if sha and hashlib.sha256(d.text.encode("utf-8")).hexdigest()[:16] != sha:
            raise InputError("text differs from the hand-labelled file (hand_labels only fit "
                             "beavertails-long-1000.json)", path=path, record=i, field="outputs")
        if label == wanted:
            kept.append(Document(d.id, d.text, _HAND_TO_LABEL[wanted], d.source, d.meta | {"hand_label": label}))  # type: ignore[arg-type]
    return kept


def load_beavertails(spec: SourceSpec) -> list[Document]:
    """Option ``path``: the JSON file. Label: malicious unless the spec says otherwise.

    ``hand_labels: harmful`` (or ``harmless``) keeps the answers a person read and labelled so
    (shipped for ``beavertails-long-1000.json``); harmless ones get the label sensitive-benign.
    """
    if not spec.path:
        raise CrosstaskError("source kind 'beavertails' needs 'path': a JSON file of parallel lists")
    unknown = set(spec.options) - {"hand_labels"}
    if unknown:
        raise CrosstaskError(f"source kind 'beavertails': unknown option(s) {', '.join(sorted(unknown))}; "
                             "known: hand_labels")
    wanted = spec.options.get("hand_labels")
    if wanted is None:
        return read_beavertails(spec.path, label=spec.label or "malicious")
    return select_by_hand_label(read_beavertails(spec.path), wanted, spec.path)
