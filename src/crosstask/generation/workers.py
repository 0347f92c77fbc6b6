"""Batches decoded by several workers at once (CPU), results handed back on the caller's thread.

Why not one batch on all threads: on the 2-core reference CPU one batch with 2 torch threads runs 1.6x one
thread, because decoding reads the cache and the weights from memory at every step and the second thread
adds little there, while prefill is compute-bound and would use both cores fully. Two one-thread workers,
each with a whole batch, keep both cores busy either way (one is usually prefilling while the other
decodes; docs/PERFORMANCE.md). torch ops release the GIL, so Python threads suffice (one copy of the
weights, unlike processes).

The caller's threads are shared out: each worker sets its own thread count (torch's count is per OS thread
here: a new thread that does not set it runs on every core, which with several workers oversubscribes
them), and when the queue runs dry and a worker leaves, the workers still running take its threads at their
next forward pass, so the last batch runs on all of them. Batches are taken longest first from one queue. Outputs do
not depend on which worker ran a batch (greedy decoding is per row; sampling uses per-prompt generators).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import torch

B = TypeVar("B")
R = TypeVar("R")

# run(batch, step): ``step()`` is to be called before every forward pass; it hands the worker its current
# share of the threads and returns True when the caller has stopped (the batch may end there).
Run = Callable[[B, Callable[[], bool]], R]


def default_workers(device: torch.device | str, batches: int) -> int:
    """One worker per torch thread on CPU (at most one per batch); one on an accelerator."""
    if torch.device(device).type != "cpu":
        return 1
    return max(1, min(torch.get_num_threads(), batches))


class _ThreadShare:
    """The caller's threads split among the workers still running (at least one each)."""

    def __init__(self, threads: int, workers: int):
        self.threads, self.active = threads, workers
        self._lock = threading.Lock()
        self._mine = threading.local()

    def leave(self) -> None:
        with self._lock:
            self.active -= 1

    def fit(self) -> None:
        """Set the calling worker's thread count to its share, if that changed (a cheap check per step)."""
        share = max(1, self.threads // max(1, self.active))
        if getattr(self._mine, "threads", None) != share:
            torch.set_num_threads(share)
            self._mine.threads = share


def run_batches(batches: Sequence[B], run: Run, workers: int) -> Iterator[tuple[B, R]]:
    """Yield ``(batch, run(batch, step))`` as batches finish, on the caller's thread.

    With one worker (or one batch) this is a plain loop on the caller's thread and threads. With more, if the
    caller stops early (an exception, Ctrl-C, or closing the generator) ``step()`` returns True in the running
    batches, batches not started are dropped, and the workers are joined before this returns.
    """
    if workers <= 1 or len(batches) <= 1:
        for b in batches:
            yield b, run(b, lambda: False)
        return
    share = _ThreadShare(torch.get_num_threads(), workers)
    stop = threading.Event()
    todo: queue.SimpleQueue[B] = queue.SimpleQueue()
    for b in batches:
        todo.put(b)
    results: queue.SimpleQueue[tuple[B, R | None, BaseException | None]] = queue.SimpleQueue()

    def step() -> bool:
        share.fit()
        return stop.is_set()

    def work() -> None:
        try:
            while not stop.is_set():
                try:
                    batch = todo.get_nowait()
                except queue.Empty:
                    return
                share.fit()
                try:
                    results.put((batch, run(batch, step), None))
                except BaseException as e:  # handed to the caller, who raises it
                    results.put((batch, None, e))
                    return
        finally:
            share.leave()

    threads = [threading.Thread(target=work, name=f"crosstask-decode-{i}", daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    try:
        for _ in range(len(batches)):
            batch, out, err = results.get()
            if err is not None:
                raise err
            yield batch, out  # type: ignore[misc]
    finally:
        stop.set()
        for t in threads:
            t.join()
