"""The batcher: one background thread that decodes concurrent requests together.

Requests wait in a queue; the thread takes the first and keeps collecting until no request has
arrived for ``window_s`` (at most ten windows; or until ``max_batch_size`` requests or
``max_batch_tokens`` prompt + max_tokens tokens), and
decodes them in one call of the engine's decode loop
(:func:`crosstask.generation.decode.decode_groups`: shared prefixes computed once, finished
sequences leave the batch). Requests that sample with different settings decode in
separate sub-batches (one token picker per call). Each step streams every member's new text
to its request; a request's own ``max_tokens``, its stop strings, and a client that went
away finish that member there, without stopping the others.

Greedy outputs equal the engine's ``generate`` (and so in-process evaluation) token for
token: the same decode loop, the same stop tokens, the same detokenization.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from crosstask.generation.decode import StopRule, TokenPicker, decode_groups
from crosstask.generation.engine import stop_token_ids
from crosstask.generation.prefix import group_by_prefix
from crosstask.generation.settings import GenerationSettings
from crosstask.io import stable_hash

log = logging.getLogger(__name__)

_MAX_WINDOWS = 10  # the longest a batch waits for more requests, in collection windows


@dataclass
class GenRequest:
    """One prompt to decode, and what the batcher reports back (from its thread)."""

    ids: list[int]
    max_tokens: int
    prompt: str = ""  # seeds sampling as the engine does (seed, prompt)
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    seed: int = 0
    stop: tuple[str, ...] = ()
    on_delta: Callable[[str], None] | None = None  # new text, as it is decoded
    on_done: Callable[[GenRequest], None] | None = None  # once, when finished (or failed)
    # filled by the batcher
    tokens: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: str | None = None  # stop | length | cancelled | error
    error: str | None = None
    batch_size: int = 0
    _sent: int = 0
    _cancelled: bool = False

    def cancel(self) -> None:
        """The client went away: the member leaves the batch at its next step."""
        self._cancelled = True

    @property
    def cost(self) -> int:
        return len(self.ids) + self.max_tokens

    def sampling_key(self) -> tuple[bool, float, float]:
        sample = self.temperature > 0
        return (sample, self.temperature if sample else 1.0, self.top_p if sample else 1.0)


class Batcher:
    """Collects requests for a short window and decodes them together on a background thread."""

    def __init__(self, model: Any, tokenizer: Any, *, window_s: float, max_batch_size: int,
                 max_batch_tokens: int, on_batch: Callable[[int], None] | None = None):
        self.model, self.tokenizer = model, tokenizer
        self.window_s, self.max_batch_size, self.max_batch_tokens = window_s, max_batch_size, max_batch_tokens
        self.on_batch = on_batch
        self.eos = stop_token_ids(model, tokenizer)
        # one tokenizer for this thread and the request handlers: a Rust tokenizer used from two
        # threads at once can fail ("Already borrowed")
        self.tokenizer_lock = threading.Lock()
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._queue: queue.Queue[GenRequest | None] = queue.Queue()
        self._carry: deque[GenRequest] = deque()
        self._thread = threading.Thread(target=self._run, name="crosstask-batcher", daemon=True)
        self._thread.start()

    def submit(self, req: GenRequest) -> None:
        self._queue.put(req)

    def depth(self) -> int:
        return self._queue.qsize() + len(self._carry)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    # -- the thread
    def _next(self, timeout: float | None) -> GenRequest | None:
        if self._carry:
            return self._carry.popleft()
        return self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()

    def _collect(self) -> list[GenRequest] | None:
        first = self._next(None)
        if first is None:
            return None
        batch, budget = [first], first.cost
        # The window restarts with every arrival (at most _MAX_WINDOWS windows in all): clients whose
        # answers came at the end of the last batch send their next request within it and join this
        # batch; a fixed window would split the clients into cohorts that never merge again.
        start = time.monotonic()
        deadline = start + self.window_s
        while len(batch) < self.max_batch_size:
            try:
                r = self._next(min(deadline, start + _MAX_WINDOWS * self.window_s) - time.monotonic())
            except queue.Empty:
                break
            if r is None:  # closing: finish this batch first
                self._queue.put(None)
                break
            if budget + r.cost > self.max_batch_tokens:
                self._carry.appendleft(r)  # first in the next batch
                break
            batch.append(r)
            budget += r.cost
            deadline = time.monotonic() + self.window_s
        return batch

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                return
            live = [r for r in batch if not r._cancelled]
            for r in batch:
                if r._cancelled:
                    self._finish(r, "cancelled")
            subs: dict[tuple[bool, float, float], list[GenRequest]] = {}
            for r in live:
                subs.setdefault(r.sampling_key(), []).append(r)
            for key, reqs in subs.items():
                if self.on_batch is not None:
                    self.on_batch(len(reqs))
                try:
                    self._decode(reqs, key)
                except Exception as e:  # one bad batch fails its requests, never the server
                    log.exception("batch of %d requests failed", len(reqs))
                    for r in reqs:
                        if r.finish_reason is None:
                            r.error = f"{type(e).__name__}: {e}"
                            self._finish(r, "error")

    def _decode(self, reqs: list[GenRequest], key: tuple[bool, float, float]) -> None:
        do_sample, temperature, top_p = key
        cap = max(r.max_tokens for r in reqs)
        settings = GenerationSettings(max_new_tokens=cap, do_sample=do_sample, temperature=temperature, top_p=top_p)
        ids = [r.ids for r in reqs]
        groups = group_by_prefix(ids, max_group=len(reqs))
        gens = None
        if do_sample:  # as the engine seeds them: from the seed and the prompt
            gens = {}
            for i, r in enumerate(reqs):
                g = torch.Generator()
                g.manual_seed(int(stable_hash([r.seed, r.prompt]), 16) % (2**63))
                gens[i] = g
        for r in reqs:
            r.batch_size = len(reqs)

        def on_step(step: dict[int, int]) -> list[int]:
            stopped = []
            for m, tok in step.items():
                if self._step(reqs[m], tok):
                    stopped.append(m)
            return stopped

        with torch.inference_mode():
            decode_groups(self.model, ids, groups, pad_id=self.pad_id, picker=TokenPicker(settings),
                          stop=StopRule(self.eos, cap), generators=gens, on_step=on_step)
        for r in reqs:
            if r.finish_reason is None:
                self._finish(r, "length")

    def _step(self, r: GenRequest, tok: int) -> bool:
        """Take one new token of ``r``; True when ``r`` is finished."""
        if r.finish_reason is not None:
            return True
        r.tokens.append(tok)
        with self.tokenizer_lock:
            text = self.tokenizer.decode(r.tokens, skip_special_tokens=True)
        reason = None
        if r._cancelled:
            reason = "cancelled"
        elif tok in self.eos:
            reason = "stop"
        hit = [text.find(s) for s in r.stop if s and s in text]
        if hit and reason is None:
            text, reason = text[: min(hit)], "stop"
        if reason is None and len(r.tokens) >= r.max_tokens:
            reason = "length"
        r.text = text
        if reason is not None:
            self._finish(r, reason)
            return True
        # hold back a character broken at the token boundary, and what could begin a stop string
        hold = max((len(s) - 1 for s in r.stop), default=0)
        ready = text[: len(text) - hold] if hold else text
        ready = ready.rstrip("\ufffd")
        if len(ready) > r._sent and r.on_delta is not None:
            r.on_delta(ready[r._sent:])
            r._sent = len(ready)
        return False

    def _finish(self, r: GenRequest, reason: str) -> None:
        r.finish_reason = reason
        if r.on_delta is not None and reason not in ("cancelled", "error") and len(r.text) > r._sent:
            r.on_delta(r.text[r._sent:])
            r._sent = len(r.text)
        if r.on_done is not None:
            r.on_done(r)
