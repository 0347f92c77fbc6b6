"""The decode loop over a causal LM's forward with a KV cache (transformers ``DynamicCache``).

One call decodes a batch made of prompt groups (see :mod:`crosstask.generation.prefix`) in
two forward passes and then one pass per new token:

1. the groups' shared prefixes run together, one left-padded row per group (a singleton
   group's prefix is its prompt but the last token);
2. each group's cache row is repeated for its members, and every member's own suffix runs
   in one left-padded batch (``[pad][prefix][pad][suffix]``: the attention mask hides the
   pads, position ids count real tokens only); its last column gives every row's first
   next-token logits;
3. the batch decodes token by token into a cache with spare room (no per-step copy); a
   finished sequence (EOS, token cap, or the stop rule) leaves the batch at once, so the
   remaining steps only pay for sequences still running.

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

from crosstask.generation.prefix import PromptGroup
from crosstask.generation.settings import GenerationSettings


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


def _prefill(model, ids: Sequence[Sequence[int]], groups: Sequence[PromptGroup], *, pad_id: int, room: int):
    """Run every member's prompt; returns (cache with ``room`` spare positions, mask, next positions, logits)."""
    device = model.device
    # Every member keeps at least one token of its own, so every row's first logits come from step 2.
    inp, pmask = _left_padded([ids[g.members[0]][: g.prefix_len] for g in groups], pad_id, device)
    cache = DynamicCache(config=model.config)
    pos = (pmask.cumsum(-1) - 1).clamp(min=0)
    model(input_ids=inp, attention_mask=pmask, position_ids=pos, past_key_values=cache, use_cache=True,
          logits_to_keep=1)

    rows = torch.tensor([gi for gi, g in enumerate(groups) for _ in g.members], device=device)
    suffixes = [ids[m][g.prefix_len :] for g in groups for m in g.members]
    sinp, smask = _left_padded(suffixes, pad_id, device)
    start = torch.tensor([g.prefix_len for g in groups for _ in g.members], device=device)
    spos = start[:, None] + (smask.cumsum(-1) - 1).clamp(min=0)  # pads get any valid position; masked anyway
    layers = [_GrowingLayer(layer.keys[rows], layer.values[rows], room=sinp.shape[1] + room) for layer in cache.layers]
    cache = DynamicCache()
    cache.layers = layers
    mask = torch.cat([pmask[rows], smask], dim=1)
    logits = _forward(model, cache, input_ids=sinp, attention_mask=mask, position_ids=spos)
    next_pos = torch.tensor([len(ids[m]) for g in groups for m in g.members], device=device)
    return cache, mask, next_pos, logits


class _GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys/values live in a buffer with spare room at the end.

    ``DynamicLayer.update`` concatenates, copying the whole cache of every layer at every
    step (for SmolLM2 at batch 40 x 250 tokens, ~0.46 GB per step). Here a step writes its
    token in place and ``keys``/``values`` are views.
    """

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, room: int):
        super().__init__()
        self.dtype, self.device, self.is_initialized = keys.dtype, keys.device, True
        self._length = keys.shape[-2]
        self._kbuf = F.pad(keys, (0, 0, 0, room))
        self._vbuf = F.pad(values, (0, 0, 0, room))
        self._expose()

    def _expose(self) -> None:
        self.keys = self._kbuf[:, :, : self._length]
        self.values = self._vbuf[:, :, : self._length]

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

    def drop_leading(self, n: int) -> None:
        """Forget the first ``n`` positions (columns only finished rows used); a view, no copy."""
        self._kbuf, self._vbuf = self._kbuf[:, :, n:], self._vbuf[:, :, n:]
        self._length -= n
        self._expose()


def _keep(cache: DynamicCache, mask: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Drop finished rows, then the leading columns that only they used."""
    cache.batch_select_indices(keep)
    mask = mask[keep]
    cols = mask.any(dim=0).nonzero()
    lead = int(cols[0]) if len(cols) else 0
    if lead:
        for layer in cache.layers:
            layer.drop_leading(lead)
        mask = mask[:, lead:]
    return mask


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
) -> dict[int, list[int]]:
    """Decode every member of ``groups`` (indices into ``ids``); returns its new token ids (EOS included).

    ``on_step({member: new token})`` runs once per decode step for the members still active (token
    streaming); the members it returns finish there (e.g. a client that went away, its own token cap).
    """
    members = [m for g in groups for m in g.members]
    cache, mask, pos, logits = _prefill(model, ids, groups, pad_id=pad_id, room=stop.max_new_tokens)
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
            keep_rows = [r for r in range(len(active)) if r not in set(finished)]
            if not keep_rows:
                break
            keep = torch.tensor(keep_rows, device=mask.device)
            mask = _keep(cache, mask, keep)
            pos, tok = pos[keep], tok[keep]
            active = [active[r] for r in keep_rows]
            if gens is not None:
                gens = [gens[r] for r in keep_rows]
        mask = torch.cat([mask, torch.ones(len(active), 1, dtype=mask.dtype, device=mask.device)], dim=1)
        logits = _forward(model, cache, input_ids=tok[:, None], attention_mask=mask, position_ids=pos[:, None])
        pos = pos + 1
    return out
