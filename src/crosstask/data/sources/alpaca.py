"""Alpaca-format instruction data: a JSON list or JSONL of ``{instruction, input, output}``.

Used two ways: as a document source (text = instruction + input), and through
:func:`load_alpaca` by the defense builder for its extras (short safety examples such
as Safety-Tuned LLaMAs, general instruction data) which keep their own answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crosstask.data.sources._records import read_jsonl_lines, require_mapping, require_text
from crosstask.data.sources.registry import SourceSpec
from crosstask.document import Document
from crosstask.errors import CrosstaskError, InputError
from crosstask.io import read_json


@dataclass(frozen=True)
class AlpacaRecord:
    instruction: str
    input: str
    output: str
    record: int | str  # 0-based index (JSON) or line number (JSONL), for messages

    @property
    def prompt(self) -> str:
        """The user message: the instruction, then the input if there is one (as in Alpaca)."""
        return f"{self.instruction}\n\n{self.input}" if self.input.strip() else self.instruction


def _records(path: Path) -> list[tuple[int, Any]]:
    if path.suffix == ".jsonl":
        return read_jsonl_lines(path)
    data = read_json(path)
    if not isinstance(data, list):
        raise InputError(f"expected a JSON list of records (or a .jsonl file), got {type(data).__name__}", path=path)
    return list(enumerate(data))


def load_alpaca(path: str | Path) -> list[AlpacaRecord]:
    """Every record, validated: ``instruction`` and ``output`` non-empty, ``input`` optional."""
    path = Path(path)
    out = []
    for rec_no, rec in _records(path):
        rec = require_mapping(rec, path, rec_no)
        instruction = require_text(rec, "instruction", path, rec_no)
        inp = require_text(rec, "input", path, rec_no, allow_empty=True) if rec.get("input") is not None else ""
        output = require_text(rec, "output", path, rec_no)
        out.append(AlpacaRecord(instruction=instruction, input=inp, output=output, record=rec_no))
    return out


def load_alpaca_source(spec: SourceSpec) -> list[Document]:
    """Option ``path``. Text = instruction + input; the answer is kept in ``meta["output"]``.

    The default label is benign; give ``label: malicious`` for harmful instructions.
    """
    if not spec.path:
        raise CrosstaskError("source kind 'alpaca' needs 'path': a JSON list or JSONL of {instruction, input, output}")
    path = Path(spec.path)
    return [
        Document(
            id=f"alpaca-{path.stem}-{i:05d}",
            text=r.prompt,
            label=spec.label or "benign",  # type: ignore[arg-type]
            source="alpaca",
            meta={"instruction": r.instruction, "input": r.input, "output": r.output},
        )
        for i, r in enumerate(load_alpaca(path))
    ]
