"""The decode loop over a causal LM's forward with a KV cache (transformers ``DynamicCache``).

One call decodes a batch made of prompt groups (see :mod:`crosstask.generation.prefix`):

1. each member's prompt but its last few tokens (at most ``SUFFIX_CAP``) runs alone, one row
   without padding or mask, in chunks of at most ``prefill_chunk`` tokens, straight into its
   row of one preallocated cache; what it shares with the previous member of its group (the
   template header and the document) is copied from that row instead of computed;
2. every member's last tokens run in one left-padded batch (``[pad][prefix][pad][suffix]``:
   the attention mask hides the pads, position ids count real tokens only); its last column
   gives every row's first next-token logits;
3. the batch decodes token by token into the cache's spare room (no per-step copy); a
   finished sequence (EOS, token cap, or the stop rule) leaves the batch at once (the last
   rows move into its place), so the remaining steps only pay for sequences still running.

The cache holds ``rows x (longest prefix + longest suffix + max new tokens)`` positions; the
engine bounds it by ``GenerationSettings.token_budget`` when it plans the batches.

Greedy outputs match one-prompt-at-a-time ``model.generate`` token for token: each sequence sees
exactly its own tokens at its own positions; padding is masked, never attended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer
from transformers.generation.logits_process import (
    LogitsProcessorList,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopPLogitsWarper,
)

from crosstask.generation.attention import gqa_attention
from crosstask.generation.prefix import PromptGroup, member_prefixes
from crosstask.generation.settings import GenerationSettings

# Tokens of one prompt prefix per forward pass: long enough for full-speed matmuls (no faster at 2,048 tokens on
# the reference CPU), short enough that a pass's activations stay small whatever the document's length.
PREFILL_CHUNK = 512
# Own tokens per member at most in the padded, batched suffix pass; longer tails run alone before it.
SUFFIX_CAP = 32


@dataclass
class StopRule:
    """When a sequence is finished: an EOS id, the token cap, or the caller's verdict rule."""

    eos_ids: frozenset[int]
    max_new_tokens: int
    stop_when: Callable[[str], bool] | None = None  # called on the partial decoded text
    decode: Callable[[list[int]], str] | None = None

    def done(self, tokens: list[int]) -> bool:
        if tokens[-1] in self.eos_ids or len(tokens) >= self.max_new_tokens:
            return True
        return self.stop_when is not None and self.decode is not None and self.stop_when(self.decode(tokens))


class TokenPicker:
    """Greedy argmax, or sampling with transformers' temperature/top-p warpers and per-prompt generators.

    Each prompt has its own generator (seeded from the seed and the prompt), so sampled
    outputs do not depend on batch size, grouping or the number of processes. A repetition
    penalty (transformers' processor) sees each row's own new tokens only.
    """

    def __init__(self, settings: GenerationSettings):
        self.do_sample = settings.do_sample
        self.penalty = (RepetitionPenaltyLogitsProcessor(settings.repetition_penalty)
                        if settings.repetition_penalty != 1.0 else None)
        self.warpers = LogitsProcessorList()
        if settings.do_sample:
            if settings.temperature != 1.0:
                self.warpers.append(TemperatureLogitsWarper(settings.temperature))
            if settings.top_p < 1.0:
                self.warpers.append(TopPLogitsWarper(settings.top_p))

    def __call__(self, logits: torch.Tensor, generators: Sequence[torch.Generator] | None,
                 history: Sequence[Sequence[int]] | None = None) -> torch.Tensor:
        if self.penalty is not None and history is not None and any(history):
            logits = self.penalty(_history_tensor(history, logits.device), logits)
        if not self.do_sample:
            return logits.argmax(dim=-1)
        probs = torch.softmax(self.warpers(None, logits), dim=-1)
        assert generators is not None
        return torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, generators, strict=True)])


def _history_tensor(history: Sequence[Sequence[int]], device) -> torch.Tensor:
    """The rows' new ids as one tensor. Rows of a batch start together, so they have equal
    lengths; a shorter row is padded with its own first token (penalising a token twice is a no-op)."""
    width = max(len(h) for h in history)
    return torch.tensor([list(h) + [h[0]] * (width - len(h)) for h in history], device=device)


def _forward(model, cache: DynamicCache, **inputs) -> torch.Tensor:
    out = model(**inputs, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.logits[:, -1, :].float()


def _left_padded(rows: Sequence[Sequence[int]], pad_id: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(1, max(len(r) for r in rows))
    inp = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros(len(rows), width, dtype=torch.long, device=device)
    for i, r in enumerate(rows):
        if r:
            inp[i, width - len(r) :] = torch.tensor(list(r), device=device)
            mask[i, width - len(r) :] = 1
    return inp, mask


def _prefill(model, ids: Sequence[Sequence[int]], groups: Sequence[PromptGroup], *, pad_id: int, room: int,
             chunk: int, before_pass: Callable[[], None]):
    """Run every member's prompt; returns (cache with ``room`` spare positions, mask, next positions, logits).

    Each member's prompt but its last tokens runs alone (one row, no padding, so no mask: SDPA's causal
    kernel) in chunks of at most ``chunk`` tokens, straight into its row of the batch's cache, after copying
    what it shares with the previous member of its group (:func:`~crosstask.generation.prefix.member_prefixes`);
    the members' last tokens then run as one left-padded batch. Peak memory is the batch's cache plus one
    chunk's activations.
    """
    device = model.device
    members = [m for g in groups for m in g.members]
    plan = [p for g in groups for p in member_prefixes(ids, g, SUFFIX_CAP)]
    pwidth = max(pl for pl, _ in plan)
    suffixes = [ids[m][pl:] for m, (pl, _) in zip(members, plan, strict=True)]
    sinp, smask = _left_padded(suffixes, pad_id, device)
    buffers = _CacheBuffers(model, len(members), pwidth + sinp.shape[1] + room)
    pmask = torch.zeros(len(members), pwidth, dtype=torch.long, device=device)
    for row, (m, (pl, copied)) in enumerate(zip(members, plan, strict=True)):
        start = pwidth - pl  # left padding: every prefix ends at column pwidth
        pmask[row, start:] = 1
        if copied:
            buffers.copy(row - 1, pwidth - plan[row - 1][0], row, start, copied)
        if pl > copied:
            _prefill_prefix(model, ids[m][copied:pl], buffers.row_cache(row, start, copied), chunk, before_pass)
    cache = buffers.cache(length=pwidth)
    start = torch.tensor([pl for pl, _ in plan], device=device)
    spos = start[:, None] + (smask.cumsum(-1) - 1).clamp(min=0)  # pads get any valid position; masked anyway
    mask = torch.cat([pmask, smask], dim=1)
    before_pass()
    logits = _forward(model, cache, input_ids=sinp, attention_mask=mask, position_ids=spos)
    next_pos = torch.tensor([len(ids[m]) for m in members], device=device)
    return cache, mask, next_pos, logits


def _prefill_prefix(model, tokens: Sequence[int], cache: DynamicCache, chunk: int,
                    before_pass: Callable[[], None]) -> None:
    """One prompt prefix, chunk by chunk, into ``cache`` (positions follow from the cache's length)."""
    for s in range(0, len(tokens), chunk):
        piece = torch.tensor([list(tokens[s : s + chunk])], device=model.device)
        before_pass()
        model(input_ids=piece, past_key_values=cache, use_cache=True, logits_to_keep=1)


class _CacheBuffers:
    """The batch's keys/values, one preallocated ``[rows, kv heads, width, head dim]`` buffer per layer."""

    def __init__(self, model, rows: int, width: int):
        cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        heads = cfg.num_attention_heads
        kv_heads = getattr(cfg, "num_key_value_heads", None) or heads
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // heads
        dtype = next(model.parameters()).dtype
        shape = (rows, kv_heads, width, head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype, device=model.device) for _ in range(cfg.num_hidden_layers)]
        self.values = [torch.zeros(shape, dtype=dtype, device=model.device) for _ in range(cfg.num_hidden_layers)]

    def row_cache(self, row: int, start: int, filled: int) -> DynamicCache:
        """A one-row cache over row ``row`` from column ``start`` on, ``filled`` positions already there (views)."""
        cache = DynamicCache()
        cache.layers = [_GrowingLayer.on_buffers(k[row : row + 1, :, start:], v[row : row + 1, :, start:], filled)
                        for k, v in zip(self.keys, self.values, strict=True)]
        return cache

    def copy(self, src: int, src_start: int, dst: int, dst_start: int, n: int) -> None:
        """Copy ``n`` positions of row ``src`` into row ``dst`` (a shared prefix: same tokens, same positions)."""
        for buf in (*self.keys, *self.values):
            buf[dst, :, dst_start : dst_start + n] = buf[src, :, src_start : src_start + n]

    def cache(self, length: int) -> DynamicCache:
        cache = DynamicCache()
        cache.layers = [_GrowingLayer.on_buffers(k, v, length=length) for k, v in zip(self.keys, self.values, strict=True)]
        return cache


class _GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys/values live in a buffer with spare room at the end.

    ``DynamicLayer.update`` concatenates, copying the whole cache of every layer at every
    step (for SmolLM2 at batch 40 x 250 tokens, ~0.46 GB per step). Here a step writes its
    token in place and ``keys``/``values`` are views (SDPA reads the strided views without
    copying them: benchmarks/long_context_profile.py).
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, room: int):
        super().__init__()
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self._length = keys.shape[-2]
        self._kbuf = F.pad(keys, (0, 0, 0, room))
        self._vbuf = F.pad(values, (0, 0, 0, room))
        self._expose()

    @classmethod
    def on_buffers(cls, kbuf: torch.Tensor, vbuf: torch.Tensor, length: int) -> _GrowingLayer:
        """A layer over existing buffers whose first ``length`` positions are filled (no copy)."""
        layer = cls.__new__(cls)
        DynamicLayer.__init__(layer)
        layer.dtype, layer.device, layer.is_initialized = kbuf.dtype, kbuf.device, True
        layer._kbuf, layer._vbuf, layer._length = kbuf, vbuf, length
        layer._expose()
        return layer

    def _expose(self) -> None:
        self.keys = self._kbuf[:, :, : self._length]
        self.values = self._vbuf[:, :, : self._length]

    def get_seq_length(self) -> int:
        return self._length

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        n = key_states.shape[-2]
        if self._length + n > self._kbuf.shape[-2]:  # out of room: grow by doubling
            grow = max(n, self._kbuf.shape[-2])
            self._kbuf = F.pad(self._kbuf, (0, 0, 0, grow))
            self._vbuf = F.pad(self._vbuf, (0, 0, 0, grow))
        self._kbuf[:, :, self._length : self._length + n] = key_states
        self._vbuf[:, :, self._length : self._length + n] = value_states
        self._length += n
        self._expose()
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._kbuf, self._vbuf = self._kbuf[indices], self._vbuf[indices]
        self._expose()

    def move_rows(self, pairs: Sequence[tuple[int, int]], rows: int) -> None:
        """Copy row ``src`` onto row ``dst`` for each pair, then keep the first ``rows`` rows (a view).

        Dropping finished rows this way copies only the rows that move, not the whole cache."""
        for dst, src in pairs:
            self._kbuf[dst] = self._kbuf[src]
            self._vbuf[dst] = self._vbuf[src]
        self._kbuf, self._vbuf = self._kbuf[:rows], self._vbuf[:rows]
        self._expose()

    def drop_leading(self, n: int) -> None:
        """Forget the first ``n`` positions (columns only finished rows used); a view, no copy."""
        self._kbuf, self._vbuf = self._kbuf[:, :, n:], self._vbuf[:, :, n:]
        self._length -= n
        self._expose()


def _drop_rows(cache: DynamicCache, mask: torch.Tensor, finished: Sequence[int]) -> tuple[list[int], torch.Tensor]:
    """Drop finished rows, then the leading columns that only the finished rows used.

    The last running rows move into the finished rows' places and the cache keeps its first rows as a view,
    so only moved rows are copied (selecting the kept rows would copy the whole cache at every finish).
    Returns the old row of each remaining row, and the new mask.
    """
    done = set(finished)
    rows = mask.shape[0] - len(done)
    holes = [r for r in sorted(done) if r < rows]
    movers = [r for r in range(rows, mask.shape[0]) if r not in done]
    order = list(range(rows))
    for dst, src in zip(holes, movers, strict=True):
        order[dst] = src
    pairs = list(zip(holes, movers, strict=True))
    for layer in cache.layers:
        layer.move_rows(pairs, rows)
    mask = mask[order]
    cols = mask.any(dim=0).nonzero()
    lead = int(cols[0]) if len(cols) else 0
    if lead:
        for layer in cache.layers:
            layer.drop_leading(lead)
        mask = mask[:, lead:]
    return order, mask


@torch.inference_mode()
def decode_groups(
    model,
    ids: Sequence[Sequence[int]],
    groups: Sequence[PromptGroup],
    *,
    pad_id: int,
    picker: TokenPicker,
    stop: StopRule,
    generators: dict[int, torch.Generator] | None = None,
    on_step: Callable[[dict[int, int]], Iterable[int] | None] | None = None,
    prefill_chunk: int = PREFILL_CHUNK,
    before_pass: Callable[[], None] | None = None,
) -> dict[int, list[int]]:
    """Decode every member of ``groups`` (indices into ``ids``); returns its new token ids (EOS included).

    ``on_step({member: new token})`` runs once per decode step for the members still active (token
    streaming); the members it returns finish there (e.g. a client that went away, its own token cap).
    A forward pass of the prefill feeds at most ``prefill_chunk`` tokens of a prompt (and the members' last
    tokens as one batch); the cache holds ``members x (longest prefix + longest suffix + max new tokens)``
    positions, which the caller bounds by choosing the groups (``engine.pack_batches``). ``before_pass()`` runs
    before every forward pass (a worker takes its current share of the threads there).
    """
    with gqa_attention(model):
        return _decode(model, ids, groups, pad_id=pad_id, picker=picker, stop=stop, generators=generators,
                       on_step=on_step, prefill_chunk=prefill_chunk, before_pass=before_pass or _nothing)


def _nothing() -> None:
    pass


def _decode(model, ids: Sequence[Sequence[int]], groups: Sequence[PromptGroup], *, pad_id: int, picker: TokenPicker,
            stop: StopRule, generators: dict[int, torch.Generator] | None,
            on_step: Callable[[dict[int, int]], Iterable[int] | None] | None, prefill_chunk: int,
            before_pass: Callable[[], None]) -> dict[int, list[int]]:
    members = [m for g in groups for m in g.members]
    cache, mask, pos, logits = _prefill(model, ids, groups, pad_id=pad_id, room=stop.max_new_tokens,
                                        chunk=prefill_chunk, before_pass=before_pass)
    gens = [generators[m] for m in members] if generators is not None else None
    out: dict[int, list[int]] = {m: [] for m in members}
    active = list(members)
    while True:
        tok = picker(logits, gens, [out[m] for m in active] if picker.penalty is not None else None)
        finished = []
        for row, (m, t) in enumerate(zip(active, tok.tolist(), strict=True)):
            out[m].append(t)
            if stop.done(out[m]):
                finished.append(row)
        if on_step is not None:
            told = set(on_step({m: out[m][-1] for m in active}) or ())
            finished = sorted(set(finished) | {row for row, m in enumerate(active) if m in told})
        if finished:
            if len(finished) == len(active):
                break
            order, mask = _drop_rows(cache, mask, finished)
            keep = torch.tensor(order, device=mask.device)
            pos, tok = pos[keep], tok[keep]
            active = [active[r] for r in order]
            if gens is not None:
                gens = [gens[r] for r in order]
        mask = torch.cat([mask, torch.ones(len(active), 1, dtype=mask.dtype, device=mask.device)], dim=1)
        before_pass()
        logits = _forward(model, cache, input_ids=tok[:, None], attention_mask=mask, position_ids=pos[:, None])
        pos = pos + 1
    return out
