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


def test_results_come_back_on_the_callers_thread_and_threads_are_restored():
    before = torch.get_num_threads()
    seen_threads = []

    def run(batch, stop):
        seen_threads.append((threading.current_thread().name, torch.get_num_threads()))
        return batch * 10

    main = threading.current_thread()
    got = {}
    for batch, result in run_batches([1, 2, 3, 4], run, workers=2):
        assert threading.current_thread() is main
        got[batch] = result
    assert got == {1: 10, 2: 20, 3: 30, 4: 40}
    assert all(name.startswith("crosstask-decode") and n == 1 for name, n in seen_threads)
    assert torch.get_num_threads() == before


def test_an_error_in_a_worker_reaches_the_caller_and_stops_the_rest():
    before = torch.get_num_threads()
    started = []

    def run(batch, stop):
        started.append(batch)
        if batch == 2:
            raise ValueError("bad batch")
        stop.wait(5)  # a long batch that ends at its next step once stopped
        return batch

    with pytest.raises(ValueError, match="bad batch"):
        list(run_batches(list(range(1, 10)), run, workers=2))
    assert len(started) < 9  # batches not started were dropped
    assert torch.get_num_threads() == before


def test_closing_early_sets_stop_for_running_batches():
    stopped = threading.Event()

    def run(batch, stop):
        if batch == 1:
            return batch
        if stop.wait(5):
            stopped.set()
        return batch

    gen = run_batches([1, 2, 3], run, workers=2)
    assert next(gen) == (1, 1)
    gen.close()  # e.g. Ctrl-C in the caller
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
