"""Batches decoded by several one-thread workers at once (CPU), results handed back on the caller's thread.

Why not one batch on all threads: on the 2-core reference CPU one batch with 2 torch threads runs 1.6x one
thread, because decoding reads the cache and the weights from memory at every step and the second thread
adds little there, while prefill is compute-bound and would use both cores fully. Two one-thread workers,
each with a whole batch, keep both cores busy either way (one is usually prefilling while the other
decodes): on the real-length evaluation of ``benchmarks/eval_throughput.py --profile real`` they took 11%
less time than one two-thread batch (docs/PERFORMANCE.md). torch ops release the GIL, so Python threads
suffice (one copy of the weights, unlike processes).

torch's intra-op thread count is process-wide: while workers run it is 1, and the caller's count is
restored after. Batches are taken longest first from one queue, so the last (shortest) ones balance the
workers. Outputs do not depend on which worker ran a batch (greedy decoding is per row; sampling uses
per-prompt generators).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

import torch

B = TypeVar("B")
R = TypeVar("R")


def default_workers(device: torch.device | str, batches: int) -> int:
    """One worker per torch thread on CPU (at most one per batch); one on an accelerator."""
    if torch.device(device).type != "cpu":
        return 1
    return max(1, min(torch.get_num_threads(), batches))


def run_batches(batches: Sequence[B], run: Callable[[B, threading.Event], R], workers: int) -> Iterable[tuple[B, R]]:
    """Yield ``(batch, run(batch, stop))`` as batches finish, on the caller's thread.

    With one worker this is a plain loop on the caller's thread and threads. With more, each worker runs one
    thread; if the caller stops early (an exception, Ctrl-C, or closing the generator) ``stop`` is set so
    running batches can end at their next step, and batches not started are dropped.
    """
    stop = threading.Event()
    if workers <= 1 or len(batches) <= 1:
        for b in batches:
            yield b, run(b, stop)
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crosstask-decode")
    try:
        pending: dict[Future[R], B] = {pool.submit(run, b, stop): b for b in batches}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in [f for f in pending if f in done]:
                batch = pending.pop(fut)
                yield batch, fut.result()
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(before)
