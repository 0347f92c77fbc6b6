"""How many CPU threads torch uses: the cores this process may run on, less the ones other
processes keep busy.

torch's default is one thread per core of the machine. On a shared machine that oversubscribes
the cores: OpenMP threads wait for each other at every operation, and a generation or training
step that needs all its threads at once crawls (an evaluation of the embedded model took 63 s
with 2 threads beside a busy process on 2 cores, and 3 s with 1; docs/PERFORMANCE.md).

The choice, first that applies:

1. ``--threads N`` (the CLI) or ``configure_threads(N)``;
2. the ``CROSSTASK_THREADS`` environment variable;
3. ``OMP_NUM_THREADS``, when the user set it: left as it is;
4. automatic: the cores in this process's CPU affinity (``os.sched_getaffinity``) less the load
   that other processes put on them, at least 1. The load is sampled from ``/proc/stat`` over 0.2 s
   (the busy share of those cores now: a job that started a second ago counts, one that just ended does
   not); where that file is missing, the 1-minute load average (``os.getloadavg``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass

from crosstask.errors import CrosstaskError

THREADS_ENV = "CROSSTASK_THREADS"


@dataclass(frozen=True)
class ThreadChoice:
    threads: int | None  # None: left to OMP_NUM_THREADS
    reason: str


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; all cores where affinity is unknown)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_cores(cores: int) -> float:
    """How many of ``cores`` other processes keep busy now (sampled; else the 1-minute load average)."""
    sampled = sampled_busy_cores()
    if sampled is not None:
        return min(float(cores), sampled)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0
    return min(float(cores), max(0.0, load))


def _cpu_times(cpus: set[int]) -> tuple[int, int] | None:
    """(busy, total) clock ticks of ``cpus`` since boot, from /proc/stat (Linux)."""
    busy = total = 0
    try:
        with open("/proc/stat", encoding="ascii") as f:
            for line in f:
                name, *fields = line.split()
                if not name.startswith("cpu") or name == "cpu" or int(name[3:]) not in cpus:
                    continue
                ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
                total += sum(ticks)
                busy += sum(ticks) - ticks[3] - ticks[4]
    except (OSError, ValueError, IndexError):
        return None
    return (busy, total) if total else None


def sampled_busy_cores(seconds: float = 0.2) -> float | None:
    """Cores of this process's affinity that are busy over ``seconds`` (this process sleeps meanwhile)."""
    try:
        cpus = set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    first = _cpu_times(cpus)
    if first is None:
        return None
    time.sleep(seconds)
    second = _cpu_times(cpus)
    if second is None or second[1] <= first[1]:
        return None
    return len(cpus) * (second[0] - first[0]) / (second[1] - first[1])


def auto_threads(cores: int | None = None, load: float | None = None) -> int:
    """Free cores, rounded (a core loaded 0.5 counts as free), at least 1."""
    cores = available_cores() if cores is None else cores
    load = busy_cores(cores) if load is None else min(float(cores), max(0.0, load))
    return max(1, min(cores, math.floor(cores - load + 0.5)))


def parse_threads(value: str | int, where: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise CrosstaskError(f"{where}: expected a whole number of threads, got {value!r}") from None
    if n < 1:
        raise CrosstaskError(f"{where}: expected at least 1 thread, got {n}")
    return n


def choose_threads(explicit: int | None = None) -> ThreadChoice:
    if explicit is not None:
        return ThreadChoice(parse_threads(explicit, "--threads"), "--threads")
    env = os.environ.get(THREADS_ENV, "").strip()
    if env:
        return ThreadChoice(parse_threads(env, THREADS_ENV), THREADS_ENV)
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return ThreadChoice(None, "OMP_NUM_THREADS")
    cores = available_cores()
    load = busy_cores(cores)
    return ThreadChoice(auto_threads(cores, load), f"{cores} cores, load {load:.1f}")


def configure_threads(explicit: int | None = None) -> ThreadChoice:
    """Apply :func:`choose_threads`: ``torch.set_num_threads`` if torch is loaded, else the
    OpenMP/MKL environment variables that torch reads when it loads (so importing torch stays lazy)."""
    choice = choose_threads(explicit)
    if choice.threads is None:
        return choice
    n = str(choice.threads)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(choice.threads)
    os.environ["OMP_NUM_THREADS"] = n
    os.environ["MKL_NUM_THREADS"] = n
    return choice
