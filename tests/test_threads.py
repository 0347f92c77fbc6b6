"""torch's thread count: explicit, then CROSSTASK_THREADS, then OMP_NUM_THREADS, then the free cores."""

from __future__ import annotations

import pytest

from crosstask.errors import CrosstaskError
from crosstask.threads import auto_threads, available_cores, choose_threads, configure_threads


@pytest.mark.parametrize(("cores", "load", "want"), [
    (2, 0.0, 2), (2, 0.4, 2), (2, 0.6, 1), (2, 1.9, 1), (2, 7.0, 1), (16, 3.2, 13), (1, 0.0, 1)])
def test_auto_threads_leaves_the_busy_cores(cores, load, want):
    assert auto_threads(cores, load) == want


def test_choice_order(monkeypatch):
    monkeypatch.delenv("CROSSTASK_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    auto = choose_threads()
    assert 1 <= auto.threads <= available_cores() and "cores" in auto.reason
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert choose_threads().threads is None  # the user's OpenMP setting is left alone
    monkeypatch.setenv("CROSSTASK_THREADS", "2")
    assert choose_threads().threads == 2
    assert choose_threads(5).threads == 5


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_bad_thread_counts_are_one_line_errors(monkeypatch, value):
    monkeypatch.setenv("CROSSTASK_THREADS", value)
    with pytest.raises(CrosstaskError, match="CROSSTASK_THREADS"):
        choose_threads()


def test_configure_sets_torch_threads(monkeypatch):
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", str(before))  # both restored after the test
    monkeypatch.setenv("MKL_NUM_THREADS", str(before))
    try:
        assert configure_threads(1).threads == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_busy_cores_sees_a_process_that_just_started():
    # The 1-minute load average lags by a minute; the /proc/stat sample sees a busy core at once.
    import multiprocessing
    import os
    import time

    from crosstask.threads import sampled_busy_cores

    if sampled_busy_cores(0.05) is None:
        pytest.skip("no /proc/stat")
    core = sorted(os.sched_getaffinity(0))[0]
    burner = multiprocessing.get_context("fork").Process(target=_burn_on, args=(core, time.time() + 5))
    burner.start()
    try:
        time.sleep(0.3)
        assert sampled_busy_cores(0.3) >= 0.7
    finally:
        burner.terminate()
        burner.join()


def _burn_on(core: int, until: float) -> None:
    import os
    import time

    os.sched_setaffinity(0, {core})
    while time.time() < until:
        pass
