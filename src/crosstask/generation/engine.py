"""Batched generation for evaluation, harvesting and self-distillation.

Prompts arrive fully formatted (chat template applied, optionally ending with a prefill
such as "Sure, here is"); the engine returns only the new text, in input order.

How it is fast (transformers backend, :mod:`crosstask.generation.decode`):

- Shared-prefix reuse: prompts are tokenized and grouped by their longest common token
  prefix (:mod:`crosstask.generation.prefix`). In the paper's prompts the instruction
  follows the document, so a document's tasks share the template header and the document;
  that prefix is computed once per group and its key/value cache repeated for the members.
- Fallback: where prompts share no useful prefix (the instruction comes before the
  document, or the template puts something variable first), each prompt is its own group:
  plain batching (each prompt prefilled alone, all decoded together). Models whose cache is
  not a plain full-attention ``DynamicCache`` (sliding-window or hybrid layers) use
  ``model.generate`` with left padding instead.
- Batches by a token budget: groups go longest first into batches of at most ``batch_size`` rows and
  ``settings.token_budget`` cache positions (padding included), so memory does not grow with the
  documents' lengths and rows of a batch have similar lengths; long prompts prefill in chunks.
- Batched decoding with per-sequence stopping: a finished sequence leaves the batch.
- On CPU, whole batches run on one-thread workers, one per free core (:mod:`crosstask.generation.workers`):
  one prefills while another decodes, which uses two cores better than one batch on two threads.
- Refusal-only mode (``stop_when``): a sequence stops as soon as the caller's rule says its
  verdict is final, and after ``stop_window`` new tokens at the latest.
- Greedy outputs equal one-prompt-at-a-time ``model.generate(do_sample=False)`` token for
  token (tests/generation); batch size and grouping do not change them.

Around it: the one resumable :class:`GenerationCache` (appended after every batch), data-parallel
runs under ``accelerate launch`` (prompts split by rank, gathered, rank 0 writes the cache),
an optional bf16 or int8 compute copy (``settings.dtype``; int8 is approximate and opt-in), and an optional
vLLM backend.
"""

from __future__ import annotations

import contextlib
import copy
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from crosstask.errors import CrosstaskError
from crosstask.generation import distributed
from crosstask.generation.cache import ENGINE_VERSION, GenerationCache, generation_key
from crosstask.generation.decode import PREFILL_CHUNK, SUFFIX_CAP, StopRule, TokenPicker, decode_groups
from crosstask.generation.prefix import PromptGroup, group_by_prefix, member_prefixes
from crosstask.generation.settings import GenerationSettings
from crosstask.generation.workers import default_workers, run_batches
from crosstask.io import stable_hash

__all__ = ["ENGINE_VERSION", "GenerationCache", "GenerationSettings", "cache_keys", "generate"]

DEFAULT_STOP_WINDOW = 32
BACKENDS = ("hf", "vllm")

OnBatch = Callable[[int, list[str]], None]


def generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    settings: GenerationSettings = GenerationSettings(),
    on_batch: OnBatch | None = None,
    *,
    stop_when: Callable[[str], bool] | None = None,
    stop_key: str | None = None,
    stop_window: int | None = DEFAULT_STOP_WINDOW,
    cache: GenerationCache | None = None,
    cache_key: dict[str, Any] | None = None,
    progress: bool = False,
    backend: str = "hf",
    prefix_reuse: bool = True,
    lora_path: str | None = None,
    prompt_ids: Sequence[Any] | None = None,
    records: Sequence[dict[str, Any]] | None = None,
    description: str = "generating",
) -> list[str]:
    """Generate a continuation for each prompt; returns the new text of each, in input order.

    ``on_batch(start, outputs)`` runs after each finished batch (``start`` counts the outputs
    finished before it). ``stop_when(partial_text) -> True`` stops a sequence early (its
    verdict is final); then ``stop_window`` caps its new tokens and ``stop_key`` names the rule
    in the cache key. ``cache`` + ``cache_key`` (identity of the weights, e.g. model and
    adapter) make an interrupted run resume without regenerating finished outputs.
    ``prompt_ids`` name the prompts in the cache key instead of their text (e.g. chat messages
    and prefill, with the prompt format in ``cache_key``), so a caller can look outputs up
    without a tokenizer (see :func:`cache_keys`); ``records`` add provenance fields to each
    prompt's cache record. ``description`` labels the progress bar.
    """
    if backend not in BACKENDS:
        raise CrosstaskError(f"unknown generation backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if cache is not None and cache_key is None:
        raise CrosstaskError("a generation cache needs cache_key (the identity of the weights: model, adapter)")
    if cache is not None and stop_when is not None and not stop_key:
        raise CrosstaskError("a stop rule with a cache needs stop_key (its name and version), as it changes outputs")
    if prompt_ids is not None and len(prompt_ids) != len(prompts):
        raise CrosstaskError(f"{len(prompt_ids)} prompt_ids for {len(prompts)} prompts")
    if records is not None and len(records) != len(prompts):
        raise CrosstaskError(f"{len(records)} cache records for {len(prompts)} prompts")
    stop_window = stop_window if stop_when is not None else None

    keys: list[str] | None = None
    results: list[str | None] = [None] * len(prompts)
    if cache is not None:
        keys = cache_keys(prompt_ids if prompt_ids is not None else prompts, settings, cache_key,
                          stop=[stop_key, stop_window] if stop_when else None, backend=backend)
        results = [cache.output(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]

    state = distributed.process_state()
    mine = distributed.rank_share(state, todo)
    rank = state.process_index if state is not None else 0
    writer = cache if (cache is None or rank == 0) else GenerationCache(_shard_path(cache.path, rank))
    finished: list[tuple[int, str]] = []

    with _progress(progress and rank == 0, len(prompts), len(prompts) - len(todo), description) as advance:

        def done(indices: list[int], texts: list[str]) -> None:
            start = len(finished)
            for i, t in zip(indices, texts, strict=True):
                finished.append((i, t))
                if writer is not None and keys is not None:
                    writer.put(_record(keys[i], t, records, i))
            advance(len(indices) * (state.num_processes if state is not None else 1))
            if on_batch is not None:
                on_batch(start, texts)

        if mine:
            sub = [prompts[i] for i in mine]
            if backend == "vllm":
                from crosstask.generation.vllm_backend import generate_vllm

                texts = generate_vllm(model, tokenizer, sub, settings, stop_when=stop_when,
                                      stop_window=stop_window, lora_path=lora_path)
                done(mine, texts)
            else:
                _generate_hf(model, tokenizer, sub, settings, stop_when=stop_when, stop_window=stop_window,
                             prefix_reuse=prefix_reuse,
                             on_done=lambda local, texts: done([mine[j] for j in local], texts))

    gathered = distributed.gather_pairs(state, finished)
    if state is not None and cache is not None and keys is not None and rank == 0:
        cache.put_many([_record(keys[i], t, records, i) for i, t in gathered if keys[i] not in cache])
        for r in range(1, state.num_processes):
            _shard_path(cache.path, r).unlink(missing_ok=True)
    for i, t in gathered:
        results[i] = t
    return [r if r is not None else "" for r in results]


def cache_keys(
    prompts: Sequence[Any],
    settings: GenerationSettings,
    cache_key: dict[str, Any] | None,
    *,
    stop: list[Any] | None = None,
    backend: str = "hf",
) -> list[str]:
    """The cache keys :func:`generate` uses for these prompts (or prompt ids), without running anything.

    ``stop`` is ``[stop_key, stop_window]`` when a stop rule is used.
    """
    identity = {"weights": cache_key, "settings": settings.key(), "stop": stop, "backend": backend,
                "engine": ENGINE_VERSION}
    return [generation_key(p, identity) for p in prompts]


def _record(key: str, output: str, records: Sequence[dict[str, Any]] | None, i: int) -> dict[str, Any]:
    return {"key": key, "output": output, **(records[i] if records is not None else {})}


def _shard_path(path: Path, rank: int) -> Path:
    """Where a non-main process appends its batches until rank 0 merges them (resume after a kill)."""
    return path.with_name(f"{path.name}.rank{rank}")


@contextlib.contextmanager
def _progress(enabled: bool, total: int, completed: int, description: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from crosstask.progress import progress_bar

    with progress_bar(enabled=True) as bar:
        task = bar.add_task(description, total=total, completed=completed)
        yield lambda n: bar.advance(task, n)


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """Token ids of a formatted prompt; the BOS token is added only if the text does not start with it."""
    bos = getattr(tokenizer, "bos_token", None)
    add = not (bos and prompt.startswith(bos))
    return list(tokenizer(prompt, add_special_tokens=add)["input_ids"])


def stop_token_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    """The tokenizer's EOS and the model's generation-config EOS ids (``model.generate`` stops on the latter)."""
    ids: set[int] = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    cfg_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if isinstance(cfg_eos, int):
        ids.add(cfg_eos)
    elif isinstance(cfg_eos, (list, tuple)):
        ids.update(int(e) for e in cfg_eos)
    return frozenset(ids)


_COMPUTE_COPIES: weakref.WeakKeyDictionary[Any, dict[Any, Any]] = weakref.WeakKeyDictionary()


def compute_model(model: Any, dtype: str | None) -> Any:
    """The model itself, or a cached copy in ``dtype`` (the caller's weights are never cast in place);
    ``int8`` is a copy with dynamically quantized linear layers (:mod:`crosstask.generation.quantized`)."""
    if dtype is None:
        return model
    if dtype == "int8":
        copies = _COMPUTE_COPIES.setdefault(model, {})
        if "int8" not in copies:
            from crosstask.generation.quantized import int8_copy

            copies["int8"] = int8_copy(model)
        return copies["int8"]
    target = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    if next(model.parameters()).dtype == target:
        return model
    copies = _COMPUTE_COPIES.setdefault(model, {})
    if target not in copies:
        copies[target] = copy.deepcopy(model).to(target).eval()
    return copies[target]


def supports_kv_loop(model: Any) -> bool:
    """True when every layer's cache is a plain full-attention DynamicLayer (what the decode loop assumes)."""
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    try:
        cache = DynamicCache(config=model.config)
    except Exception:  # an unusual config: let model.generate handle it
        return False
    return bool(cache.layers) and all(type(layer) is DynamicLayer for layer in cache.layers)


def _sampling_generators(prompts: Sequence[str], seed: int) -> dict[int, torch.Generator]:
    gens = {}
    for i, p in enumerate(prompts):
        g = torch.Generator()
        g.manual_seed(int(stable_hash([seed, p]), 16) % (2**63))
        gens[i] = g
    return gens


def pack_batches(groups: Sequence[PromptGroup], ids: Sequence[Sequence[int]], batch_size: int,
                 token_budget: int | None = None, room: int = 0) -> list[list[PromptGroup]]:
    """Groups into batches of at most ``batch_size`` sequences and ``token_budget`` cache positions.

    Groups go longest first, so a batch holds prompts of similar lengths (little padding). A batch's cache
    is ``rows x (longest prefix + longest suffix + room)`` positions (:func:`batch_tokens`); a group too big
    for the budget is split into smaller groups with the same prefix, and a single prompt longer than the
    budget goes alone (its cache is its own length: no padding).
    """
    order = sorted(groups, key=lambda g: -max(len(ids[m]) for m in g.members))
    batches: list[list[PromptGroup]] = []
    for group in order:
        for g in _split_to_budget(group, ids, token_budget, room):
            if batches and batch_rows(batches[-1]) + len(g.members) <= batch_size and (
                    token_budget is None or batch_tokens([*batches[-1], g], ids, room) <= token_budget):
                batches[-1].append(g)
            else:
                batches.append([g])
    return batches


def batch_rows(batch: Sequence[PromptGroup]) -> int:
    return sum(len(g.members) for g in batch)


def batch_tokens(batch: Sequence[PromptGroup], ids: Sequence[Sequence[int]], room: int = 0) -> int:
    """Cache positions :func:`decode_groups` allocates for this batch (padding included)."""
    plans = [(len(ids[m]), pl) for g in batch for m, (pl, _) in zip(g.members, member_prefixes(ids, g, SUFFIX_CAP),
                                                                     strict=True)]
    prefix = max(pl for _, pl in plans)
    suffix = max(n - pl for n, pl in plans)
    return batch_rows(batch) * (prefix + suffix + room)


def _split_to_budget(g: PromptGroup, ids: Sequence[Sequence[int]], token_budget: int | None,
                     room: int) -> list[PromptGroup]:
    if token_budget is None or batch_tokens([g], ids, room) <= token_budget:
        return [g]
    per_row = batch_tokens([g], ids, room) // len(g.members)
    size = max(1, token_budget // per_row)
    return [PromptGroup(members=g.members[i : i + size], prefix_len=g.prefix_len)
            for i in range(0, len(g.members), size)]


@torch.inference_mode()
def _generate_hf(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    settings: GenerationSettings,
    *,
    stop_when: Callable[[str], bool] | None,
    stop_window: int | None,
    prefix_reuse: bool,
    on_done: Callable[[list[int], list[str]], None],
) -> None:
    model = compute_model(model, settings.dtype)
    if not supports_kv_loop(model):
        _generate_plain(model, tokenizer, prompts, settings, stop_when=stop_when, stop_window=stop_window,
                        on_done=on_done)
        return
    ids = [encode_prompt(tokenizer, p) for p in prompts]
    empty = [i for i, x in enumerate(ids) if not x]
    if empty:
        raise CrosstaskError(f"prompt {empty[0]} is empty: nothing to generate from")
    if prefix_reuse:
        groups = group_by_prefix(ids, max_group=settings.batch_size)
    else:
        groups = [PromptGroup(members=(i,), prefix_len=len(x) - 1) for i, x in enumerate(ids)]
    cap = settings.max_new_tokens if stop_window is None else min(settings.max_new_tokens, stop_window)

    def decode(tokens: list[int]) -> str:
        return tokenizer.decode(tokens, skip_special_tokens=True)

    stop = StopRule(stop_token_ids(model, tokenizer), cap, stop_when, decode)
    picker = TokenPicker(settings)
    gens = _sampling_generators(prompts, settings.seed) if settings.do_sample else None
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    chunk = min(PREFILL_CHUNK, settings.token_budget)
    # Batches do not depend on the number of workers (nor on the free cores that choose it), so neither do outputs.
    batches = pack_batches(groups, ids, settings.batch_size, settings.token_budget, room=cap)
    workers = settings.workers or default_workers(model.device, len(batches))

    def run(batch: list[PromptGroup], step: Callable[[], bool]) -> dict[int, list[int]]:
        # step(): the worker's current share of the threads (before every pass), and whether the caller stopped
        return decode_groups(model, ids, batch, pad_id=pad_id, picker=picker, stop=stop, generators=gens,
                             prefill_chunk=chunk, on_step=lambda active: active if step() else None,
                             before_pass=step)

    for batch, new in run_batches(batches, run, workers):
        members = [m for g in batch for m in g.members]
        on_done(members, [decode(new[m]) for m in members])


def _generate_plain(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    settings: GenerationSettings,
    *,
    stop_when: Callable[[str], bool] | None,
    stop_window: int | None,
    on_done: Callable[[list[int], list[str]], None],
) -> None:
    """``model.generate`` with left padding, for models the decode loop does not cover."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Rule(StoppingCriteria):
        def __init__(self, width: int):
            self.width = width

        def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
            texts = tokenizer.batch_decode(input_ids[:, self.width :], skip_special_tokens=True)
            return torch.tensor([bool(stop_when(t)) for t in texts], device=input_ids.device)

    cap = settings.max_new_tokens if stop_window is None else min(settings.max_new_tokens, stop_window)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
    old_side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        for b in range(0, len(order), settings.batch_size):
            idx = order[b : b + settings.batch_size]
            enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            width = enc["input_ids"].shape[1]
            kwargs: dict[str, Any] = dict(max_new_tokens=cap, do_sample=settings.do_sample,
                                          pad_token_id=tokenizer.pad_token_id,
                                          eos_token_id=sorted(stop_token_ids(model, tokenizer)))
            if settings.repetition_penalty != 1.0:  # here transformers also counts the prompt's tokens
                kwargs["repetition_penalty"] = settings.repetition_penalty
            if settings.do_sample:
                kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
                torch.manual_seed(settings.seed + b)
            else:
                kwargs.update(temperature=None, top_p=None, top_k=None)
            if stop_when is not None:
                kwargs["stopping_criteria"] = StoppingCriteriaList([_Rule(width)])
            out = model.generate(**enc, **kwargs)
            on_done(idx, tokenizer.batch_decode(out[:, width:], skip_special_tokens=True))
    finally:
        tokenizer.padding_side = old_side
