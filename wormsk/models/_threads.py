"""torch threads of one fit or predict (``WORMSK_NUM_THREADS``)."""

from __future__ import annotations

import contextlib
import os

import torch

#: Environment variable that sets the torch threads of one fit or predict (default 1).
THREADS_ENV = "WORMSK_NUM_THREADS"


def _available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _n_threads() -> int:
    value = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(value)
    except ValueError:
        n = 0
    cores = _available_cores()
    if not 1 <= n <= cores:
        # More threads than cores only adds waiting, and torch crashes when asked
        # for tens of thousands of OpenMP threads: refuse rather than pass it on.
        raise ValueError(
            f"The environment variable {THREADS_ENV} must be an integer from 1 to "
            f"{cores} (the CPU cores this process may use; the torch threads of one "
            f"fit or predict); got {value!r}."
        )
    return n


@contextlib.contextmanager
def torch_threads():
    """Run the enclosed torch work with ``WORMSK_NUM_THREADS`` (default one) intra-op
    threads, then restore the caller's setting.

    wormsk's batches are small (one worm's frames, tens to hundreds of neurons):
    measured on a 2-core machine, two threads made a step about 1.6x faster when the
    machine was idle but 10 to 100 times slower when other processes competed for
    the cores (OpenMP threads waiting on each other). So the default is one thread;
    use more cores by running fits in parallel (``n_jobs`` of ``GridSearchCV`` or
    ``cross_val_score``; joblib gives each worker one thread), or set
    ``WORMSK_NUM_THREADS`` for one large fit on an otherwise idle machine.
    """
    previous = torch.get_num_threads()
    wanted = _n_threads()
    if previous != wanted:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if previous != wanted:
            torch.set_num_threads(previous)
