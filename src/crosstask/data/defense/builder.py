"""Build a defense dataset folder from a :class:`DefenseConfig`.

Steps: load documents per label -> de-duplicate -> split train/test per label (before any
example exists, so nothing leaks) -> malicious examples (task on a malicious document,
answered by a refusal) -> utility examples (tasks on benign and sensitive-benign documents,
answered by a reference) -> optional safety/general extras -> deterministic shuffle ->
``train.jsonl``, ``test_documents.jsonl``, ``manifest.json`` written into a temporary folder
that is renamed into place only when everything succeeded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crosstask.data.defense.defense_config import DefenseConfig
from crosstask.data.defense.manifest import MANIFEST_NAME, TEST_NAME, TRAIN_NAME, Manifest
from crosstask.data.defense.references import SelfDistiller
from crosstask.data.defense.refusal_bank import RefusalPicker, model_refusals, refusal_bank
from crosstask.data.defense.schema import DefenseExample
from crosstask.data.defense.split import dedupe, doc_key, split_documents
from crosstask.data.quality import label_stats, opens_with_prefill, reword_opening, strip_opening
from crosstask.data.sources import load_source
from crosstask.document import Document
from crosstask.errors import CrosstaskError
from crosstask.io import check_writable, dumps_json, stable_hash, write_jsonl, write_text
from crosstask.models import build_prompt
from crosstask.seeding import rng
from crosstask.tasks import Task, TaskInput, get_task
from crosstask.tasks.truncation import fit_document
from crosstask.version import __version__

log = logging.getLogger(__name__)

# Config field -> document label, in the order documents are loaded and de-duplicated.
_GROUPS: tuple[tuple[str, str], ...] = (("malicious", "malicious"), ("benign", "benign"),
                                        ("sensitive", "sensitive-benign"))


@dataclass
class _Pool:
    label: str
    train: list[Document] = field(default_factory=list)
    test: list[Document] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0


def build_defense_dataset(config: DefenseConfig, out_dir: str | Path, *, overwrite: bool = False) -> Manifest:
    """Build the dataset into ``out_dir`` (atomically); return its manifest."""
    out_dir = check_writable(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise CrosstaskError(f"{out_dir}: output folder exists and is not empty (use overwrite)")
    tasks = config.task_names()
    _check_counts_config(config)

    pools = _load_pools(config)
    _check_availability(config, pools)
    if config.opening_augmentation:
        for pool in pools.values():
            pool.train = [augment_opening(d, config.opening_augmentation, config.seed) for d in pool.train]
    if config.balance_openings:
        balance_openings([p for p in pools.values() if p.train], config.seed)
    builder = _ExampleBuilder(config)
    examples: list[DefenseExample] = []
    examples += builder.malicious(config.malicious_tasks(), pools["malicious"].train)
    examples += builder.utility(tasks, pools["benign"].train, config.benign_count(), "benign")
    examples += builder.utility(tasks, pools["sensitive-benign"].train, config.sensitive_count(), "sensitive-benign")
    examples += _extras(config)
    if not examples:
        raise CrosstaskError("the configuration yields no training examples (set n, benign_per_task or extras)")
    rng(config.seed, "order").shuffle(examples)
    test_docs = [d for p in pools.values() for d in p.test]
    _assert_no_leak(examples, test_docs)

    used = {(e.kind, e.doc_id): e for e in examples if e.kind in ("malicious", "benign", "sensitive-benign")}
    texts: dict[str, dict[str, str]] = {}
    for p in pools.values():
        for d in p.train:
            if (d.label, d.id) in used:
                texts.setdefault(d.label, {})[d.id] = d.text
    doc_stats = label_stats({label: list(t.values()) for label, t in texts.items()})
    manifest = Manifest.create(config, examples, test_docs, pools_summary(pools), builder.stats, __version__,
                               doc_stats)
    _write_folder(out_dir, examples, test_docs, manifest, overwrite=overwrite)
    return manifest.at(out_dir)


def augment_opening(doc: Document, share: float, seed: int) -> Document:
    """With probability ``share`` (seeded per document), remove or reword its compliance opening line."""
    if not opens_with_prefill(doc.text):
        return doc
    r = rng(seed, "opening", doc.source, doc.id)
    if r.random() >= share:
        return doc
    variant = r.randrange(5)
    text = strip_opening(doc.text) if variant == 4 else reword_opening(doc.text, variant)
    if text == doc.text:
        return doc
    return Document(doc.id, text, doc.label, doc.source, doc.meta | {"opening": "removed" if variant == 4 else "reworded"})


def balance_openings(pools: Sequence[_Pool], seed: int) -> None:
    """Remove or reword openings (seeded) in pools above the lowest share of compliance openings."""
    shares = [sum(opens_with_prefill(d.text) for d in p.train) / len(p.train) for p in pools]
    target = min(shares, default=0.0)
    for pool, share in zip(pools, shares, strict=True):
        excess = round((share - target) * len(pool.train))
        if excess <= 0:
            continue
        opening = [i for i, d in enumerate(pool.train) if opens_with_prefill(d.text)]
        for i in rng(seed, "balance-openings", pool.label).sample(opening, excess):
            pool.train[i] = augment_opening(pool.train[i], 1.0, seed)


def _check_counts_config(config: DefenseConfig) -> None:
    if config.recipe != "none" and config.n > 0 and not config.malicious:
        raise CrosstaskError(f"recipe {config.recipe!r} needs malicious documents: set 'malicious' sources")
    if config.benign_count() and not config.benign:
        raise CrosstaskError("benign_per_task > 0 needs 'benign' sources")
    if config.sensitive_count() and not config.sensitive:
        raise CrosstaskError("sensitive_per_task > 0 needs 'sensitive' sources")


def _describe(spec: dict[str, Any]) -> str:
    return str(spec.get("kind")) + (f" ({spec['path']})" if spec.get("path") else "")


def _load_pools(config: DefenseConfig) -> dict[str, _Pool]:
    seen_keys: set[str] = set()
    seen_texts: set[str] = set()
    pools: dict[str, _Pool] = {}
    for field_name, label in _GROUPS:
        pool = _Pool(label)
        docs: list[Document] = []
        for spec in getattr(config, field_name):
            loaded = load_source(spec)
            kept = [d for d in loaded if d.label == label]
            pool.sources.append({"spec": spec, "loaded": len(loaded), "kept": len(kept),
                                 "other_label": len(loaded) - len(kept)})
            docs += kept
        docs, pool.duplicates = dedupe(docs, seen_keys, seen_texts)
        pool.train, pool.test = split_documents(docs, config.test_size, config.seed, label)
        pools[label] = pool
    return pools


def _check_availability(config: DefenseConfig, pools: dict[str, _Pool]) -> None:
    """N larger than the documents left for training is an error (unless allow_fewer)."""
    needs = [("malicious", config.n if config.malicious_tasks() else 0, config.malicious),
             ("benign", config.benign_count(), config.benign),
             ("sensitive-benign", config.sensitive_count(), config.sensitive)]
    for label, need, specs in needs:
        pool = pools[label]
        have = len(pool.train)
        if need > have and not config.allow_fewer:
            names = ", ".join(_describe(s) for s in specs) or "no source"
            raise CrosstaskError(
                f"{label} documents from {names}: need {need} per task but only {have} are left for training "
                f"({have + len(pool.test)} usable, {len(pool.test)} held out for test); "
                "add documents, lower the count, or set allow_fewer"
            )


class _ExampleBuilder:
    def __init__(self, config: DefenseConfig):
        self.config = config
        self.stats: Counter[str] = Counter()
        self._tokenizer: Any = None
        self._picker: RefusalPicker | None = None

    # -- prompts -------------------------------------------------------------------------------
    def messages(self, user: str) -> list[dict[str, str]]:
        sys = self.config.system_prompt
        return ([{"role": "system", "content": sys}] if sys else []) + [{"role": "user", "content": user}]

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from crosstask.models import load_tokenizer

            self._tokenizer = load_tokenizer(self.config.tokenizer or self.config.reference_model)
        return self._tokenizer

    def prepare(self, doc: Document, task: Task) -> tuple[Document, TaskInput, str, bool]:
        """The task input for a document, cut in the middle when over the prompt budget."""
        if self.config.max_prompt_tokens is None:
            ti = task.prepare(doc)
            return doc, ti, task.render(ti.text), False
        tok = self.tokenizer
        return fit_document(
            doc, task, tokenizer=tok, max_prompt_tokens=self.config.max_prompt_tokens,
            prompt_of=lambda user: build_prompt(tok, self.messages(user), self.config.prompt_format),
        )

    def example(self, kind: str, task: str, doc: Document, user: str, response: str, truncated: bool,
                meta: dict[str, Any] | None = None) -> DefenseExample:
        ident = stable_hash([kind, task, doc_key(doc)], 12)
        return DefenseExample(
            id=f"{kind}-{task}-{ident}", task=task, kind=kind, doc_id=doc.id, source=doc.source,  # type: ignore[arg-type]
            messages=self.messages(user), response=response, truncated=truncated, meta=meta or {},
        )

    # -- malicious -----------------------------------------------------------------------------
    def picker(self, tasks: Sequence[str]) -> RefusalPicker:
        if self._picker is None:
            c = self.config
            banks: dict[str, list[str]] = {}
            if c.refusal_source == "model":
                for t in tasks:
                    banks[t], replaced = model_refusals(
                        t, min(max(c.n, 1), 32), model=c.refusal_model or c.reference_model, seed=c.seed,
                        dtype=c.reference_dtype, prompt_format=c.prompt_format, batch_size=c.generation_batch_size,
                    )
                    self.stats["model_refusals_replaced_by_template"] += replaced
            else:
                banks = {t: refusal_bank(t, task_openings=c.task_opening_refusals) for t in tasks}
            self._picker = RefusalPicker(banks, rng(c.seed, "refusals"))
        return self._picker

    def malicious(self, tasks: Sequence[str], pool: Sequence[Document]) -> list[DefenseExample]:
        out = []
        for name in tasks:
            task = get_task(name)
            usable = [d for d in pool if task.applies_to(d)]
            chosen = rng(self.config.seed, "malicious", name).sample(usable, min(self.config.n, len(usable)))
            for doc in chosen:
                used, _ti, user, truncated = self.prepare(doc, task)
                self.stats["truncated"] += truncated
                out.append(self.example("malicious", name, used, user, self.picker(tasks).pick(name), truncated))
        return out

    # -- utility -------------------------------------------------------------------------------
    def utility(self, tasks: Sequence[str], pool: Sequence[Document], per_task: int, kind: str) -> list[DefenseExample]:
        """``per_task`` examples per task, answered by a deterministic or self-distilled reference."""
        if per_task == 0:
            return []
        ready: list[DefenseExample] = []
        pending: list[tuple[str, Document, str, bool]] = []  # (task, doc, user message, truncated)
        for name in tasks:
            task = get_task(name)
            order = list(pool)
            rng(self.config.seed, kind, name).shuffle(order)
            taken = 0
            for doc in order:
                if taken == per_task:
                    break
                if not task.applies_to(doc):
                    continue
                used, ti, user, truncated = self.prepare(doc, task)
                if ti.reference is not None and str(ti.reference).strip():
                    ready.append(self.example(kind, name, used, user, str(ti.reference), truncated,
                                              {"reference": "deterministic"}))
                elif task.reference in ("given", "next", "original"):  # only the text itself can answer
                    self.stats[f"skipped_no_reference_{kind}"] += 1
                    continue
                else:
                    pending.append((name, used, user, truncated))
                self.stats["truncated"] += truncated
                taken += 1
            if taken < per_task:
                self.stats[f"short_{kind}_{name}"] += per_task - taken
        if pending:
            c = self.config
            distiller = SelfDistiller(model=c.reference_model, dtype=c.reference_dtype, prompt_format=c.prompt_format,
                                      max_new_tokens=c.reference_max_new_tokens, batch_size=c.generation_batch_size,
                                      progress=c.progress)
            answers = distiller.answers([self.messages(user) for _, _, user, _ in pending])
            for (name, doc, user, truncated), answer in zip(pending, answers, strict=True):
                if not answer:
                    self.stats[f"empty_reference_{kind}"] += 1
                    continue
                ready.append(self.example(kind, name, doc, user, answer, truncated,
                                          {"reference": "self-distilled", "model": c.reference_model}))
        return ready


def _extras(config: DefenseConfig) -> list[DefenseExample]:
    """Safety-Tuned LLaMAs style refusals and general instructions, with their own answers."""
    from crosstask.data.sources.alpaca import load_alpaca

    out = []
    for kind in ("safety", "general"):
        extra = getattr(config, kind)
        if extra is None or extra.n == 0:
            continue
        records = load_alpaca(extra.path)
        if extra.n > len(records) and not config.allow_fewer:
            raise CrosstaskError(f"{extra.path}: {kind} needs {extra.n} records but the file has {len(records)}")
        chosen = rng(config.seed, kind).sample(range(len(records)), min(extra.n, len(records)))
        source = f"{kind}:{Path(extra.path).name}"
        for i in chosen:
            r = records[i]
            msgs = ([{"role": "system", "content": config.system_prompt}] if config.system_prompt else []) + [
                {"role": "user", "content": r.prompt}]
            out.append(DefenseExample(
                id=f"{kind}-{kind}-{stable_hash([source, i], 12)}", task=kind, kind=kind,  # type: ignore[arg-type]
                doc_id=f"{Path(extra.path).stem}-{i:05d}", source=source, messages=msgs, response=r.output,
            ))
    return out


def _assert_no_leak(examples: Sequence[DefenseExample], test_docs: Sequence[Document]) -> None:
    held_out = {f"{d.source}:{d.id}" for d in test_docs}
    leaked = [e.id for e in examples if f"{e.source}:{e.doc_id}" in held_out]
    if leaked:  # a bug, not a user error: the split happens before examples exist
        raise AssertionError(f"held-out documents used in training: {leaked[:3]}")


def pools_summary(pools: dict[str, _Pool]) -> dict[str, Any]:
    return {label: {"sources": p.sources, "duplicates_dropped": p.duplicates, "train_documents": len(p.train),
                    "test_documents": len(p.test)} for label, p in pools.items()}


def _write_folder(out_dir: Path, examples: Sequence[DefenseExample], test_docs: Sequence[Document],
                  manifest: Manifest, *, overwrite: bool) -> None:
    """Write everything into a temporary sibling folder, then rename it into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        write_jsonl(tmp / TRAIN_NAME, (e.to_dict() for e in examples))
        write_jsonl(tmp / TEST_NAME, (d.to_dict() for d in test_docs))
        write_text(tmp / MANIFEST_NAME, dumps_json(manifest.to_dict()))
        if out_dir.exists():
            if not overwrite and any(out_dir.iterdir()):
                raise CrosstaskError(f"{out_dir}: output folder appeared while building; not overwriting")
            old = out_dir.with_name(f".{out_dir.name}.old-{tmp.name}")
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
