"""Hugging Face datasets: kind ``hf`` (``datasets.load_dataset``) with a named text field.

Options: ``name`` (dataset id or local folder; ``path`` works too), ``split``
(default ``train``), ``config``, ``revision``, ``text_field`` (required), ``id_field``,
``label_field``, ``cache_dir``, ``trust_remote_code`` (off unless set to true).
Offline (``HF_HUB_OFFLINE=1``) a hub id fails at once with a one-line error; local
folders still load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crosstask.data.sources.registry import SourceSpec
from crosstask.data.sources.tabular import records_to_documents
from crosstask.document import Document
from crosstask.errors import CrosstaskError


def _offline_hint(name: str, why: str) -> CrosstaskError:
    return CrosstaskError(
        f"could not load dataset {name!r} from the Hugging Face hub ({why}); on an offline machine, download it "
        f"elsewhere, export it to JSONL or CSV, copy the file here and use source kind 'jsonl' or 'csv' with its "
        f"local path and 'text_field'"
    )


def _hub_offline() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def load_hf_records(name: str, *, split: str = "train", config: str | None = None, revision: str | None = None,
                    cache_dir: str | None = None, trust_remote_code: bool = False) -> list[dict[str, Any]]:
    """All rows of one split, as dicts, in the dataset's order."""
    is_local = Path(name).expanduser().exists()
    if not is_local and _hub_offline():
        raise _offline_hint(name, "HF_HUB_OFFLINE is set")
    import datasets

    kwargs: dict[str, Any] = {"split": split}
    if config is not None:
        kwargs["name"] = config
    if revision is not None:
        kwargs["revision"] = revision
    if cache_dir is not None:
        kwargs["cache_dir"] = cache_dir
    if trust_remote_code:  # only when asked for; recent `datasets` no longer run loading scripts
        kwargs["trust_remote_code"] = True
    try:
        ds = datasets.load_dataset(str(Path(name).expanduser()) if is_local else name, **kwargs)
    except (ConnectionError, OSError) as e:
        if is_local:
            raise CrosstaskError(f"{name}: could not load dataset: {str(e).splitlines()[0]}") from None
        raise _offline_hint(name, type(e).__name__) from None
    except ValueError as e:  # e.g. an unknown split or config
        raise CrosstaskError(f"dataset {name!r}: {str(e).splitlines()[0]}") from None
    return [dict(row) for row in ds]


def load_hf(spec: SourceSpec) -> list[Document]:
    opts = spec.options
    name = opts.get("name") or spec.path
    if not name:
        raise CrosstaskError("source kind 'hf' needs 'name': a Hugging Face dataset id or a local dataset folder")
    text_field = opts.get("text_field")
    if not text_field:
        raise CrosstaskError("source kind 'hf' needs 'text_field': the column that holds the document")
    split = opts.get("split", "train")
    rows = load_hf_records(
        name, split=split, config=opts.get("config"), revision=opts.get("revision"),
        cache_dir=opts.get("cache_dir"), trust_remote_code=opts.get("trust_remote_code") is True,
    )
    return records_to_documents(
        enumerate(rows), path=f"{name}[{split}]", source="hf", text_field=text_field,
        id_field=opts.get("id_field"), label_field=opts.get("label_field"), label=spec.label,
        id_prefix=f"{Path(str(name)).name}-{split}",
    )
