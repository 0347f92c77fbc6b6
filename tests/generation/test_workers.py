"""Several one-thread workers: the outputs of one worker, threads restored, errors and early stops handled."""

from __future__ import annotations

import threading

import pytest
import torch
from helpers_prompts import long_docs, task_prompts

from crosstask.generation import GenerationSettings, generate
from crosstask.generation.workers import default_workers, run_batches


@pytest.fixture(scope="module")
def prompts(tiny):
    return task_prompts(tiny.tokenizer, long_docs([1, 30, 4, 12, 2]))


@pytest.mark.parametrize("sample", [False, True])
def test_two_workers_give_the_outputs_of_one(tiny, prompts, sample):
    # A small budget makes several batches, so both workers run some of them.
    base = dict(max_new_tokens=10, batch_size=8, token_budget=3_000, do_sample=sample, seed=3)
    one = generate(tiny.model, tiny.tokenizer, prompts, GenerationSettings(**base, workers=1))
    two = generate(tiny.model, tiny.tokenizer, prompts, GenerationSettings(**base, workers=2))
    assert two == one


def test_workers_do_not_change_the_cache_key():
    assert GenerationSettings(workers=2).key() == GenerationSettings().key()


def test_results_come_back_on_the_callers_thread_and_each_worker_sets_its_threads(monkeypatch):
    before = torch.get_num_threads()
    set_in: list[tuple[str, int]] = []
    real_set = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads",
                        lambda n: (set_in.append((threading.current_thread().name, n)), real_set(n)))
    main = threading.current_thread()
    got = {}
    torch.set_num_threads(2)
    set_in.clear()
    try:
        for batch, result in run_batches([1, 2, 3, 4], lambda b, step: (step(), b * 10)[1], workers=2):
            assert threading.current_thread() is main
            got[batch] = result
    finally:
        real_set(before)
    assert got == {1: 10, 2: 20, 3: 30, 4: 40}
    # every worker set its own count (a thread that does not runs on all cores), never the caller's thread
    workers = {name for name, _ in set_in}
    assert workers and all(name.startswith("crosstask-decode") for name in workers)
    assert all(n in (1, 2) for _, n in set_in)


def test_the_last_worker_takes_the_threads_of_those_that_left():
    before = torch.get_num_threads()
    counts: dict[int, list[int]] = {}
    first_done = threading.Event()

    def run(batch, step):
        seen = counts.setdefault(batch, [])
        if batch == 1:
            step()
            seen.append(torch.get_num_threads())
            first_done.set()
            return batch
        first_done.wait(5)
        for _ in range(200):  # decode steps: once the other worker has left, this one gets both threads
            step()
            seen.append(torch.get_num_threads())
            if seen[-1] == 2:
                break
            threading.Event().wait(0.01)
        return batch

    torch.set_num_threads(2)
    try:
        assert sorted(b for b, _ in run_batches([1, 2], run, workers=2)) == [1, 2]
    finally:
        torch.set_num_threads(before)
    assert counts[1] == [1] and counts[2][0] == 1 and counts[2][-1] == 2


def test_an_error_in_a_worker_reaches_the_caller_and_stops_the_rest():
    started = []

    def run(batch, step):
        started.append(batch)
        if batch == 2:
            raise ValueError("bad batch")
        for _ in range(500):  # a long batch that ends at its next step once stopped
            if step():
                break
            threading.Event().wait(0.01)
        return batch

    with pytest.raises(ValueError, match="bad batch"):
        list(run_batches(list(range(1, 10)), run, workers=2))
    assert len(started) < 9  # batches not started were dropped


def test_closing_early_stops_running_batches():
    stopped = threading.Event()

    def run(batch, step):
        if batch == 1:
            return batch
        for _ in range(500):
            if step():
                stopped.set()
                break
            threading.Event().wait(0.01)
        return batch

    gen = run_batches([1, 2, 3], run, workers=2)
    assert next(gen) == (1, 1)
    gen.close()  # e.g. Ctrl-C in the caller; returns once the workers are joined
    assert stopped.is_set()


def test_default_workers_follow_torch_threads_on_cpu_only():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert default_workers("cpu", batches=5) == 2
        assert default_workers("cpu", batches=1) == 1
        assert default_workers("meta", batches=5) == 1  # an accelerator: one batch at a time
    finally:
        torch.set_num_threads(before)
