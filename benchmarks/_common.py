"""Shared helpers of the wormsk benchmarks: machine info, timing, memory, output.

Every benchmark script prints a table and writes a JSON file into
``benchmarks/results/`` (git-ignored) holding the machine, the versions, the torch
thread settings, the load average and every raw timing, so numbers from different
machines or days can be compared.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from skorch.callbacks import Callback

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO = HERE.parent


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--repeats", type=int, default=5, help="runs per measurement (median kept)"
    )
    p.add_argument(
        "--quick", action="store_true", help="smaller sizes and fewer runs (smoke test)"
    )
    p.add_argument("--no-save", action="store_true", help="do not write JSON")
    return p


# --- machine ----------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    match = re.search(r"model name\s*:\s*(.+)", text)
    return match.group(1).strip() if match else platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict:
    """Machine, versions and thread settings (call after importing torch)."""
    import numpy
    import pandas
    import sklearn
    import skorch
    import torch

    import wormsk

    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
           if k in os.environ}
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "wormsk": wormsk.__version__,
            "torch": torch.__version__,
            "skorch": skorch.__version__,
            "sklearn": sklearn.__version__,
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
        },
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "thread_env": env,
        "load_average": load_average(),
    }


def print_machine(info: dict) -> None:
    v = info["versions"]
    print(
        f"# {info['cpu']} ({info['cpu_count']} cores), python {info['python']}, "
        f"torch {v['torch']}, skorch {v['skorch']}, sklearn {v['sklearn']}, "
        f"wormsk {v['wormsk']}; torch threads {info['torch_num_threads']}; "
        f"load {info['load_average']}"
    )


def begin() -> dict:
    """Print and return :func:`machine_info`: every benchmark's first lines."""
    info = machine_info()
    print_machine(info)
    return info


# --- timing -----------------------------------------------------------------------


def median(values) -> float:
    return float(statistics.median(values))


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(wall seconds, result) of one call, after a garbage collection."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def repeat(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn()`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    return [timed(fn)[0] for _ in range(repeats)]


def clocks() -> tuple[float, float]:
    """(wall, process CPU) seconds. On a busy machine CPU time is the steadier
    measure of work done by a single-threaded computation; wall time includes
    waiting for a core."""
    return time.perf_counter(), time.process_time()


class EpochClock(Callback):
    """skorch callback: :func:`clocks` at training start and at every epoch end.

    Added through an estimator's ``callbacks``, it runs after skorch's own epoch
    callbacks, so consecutive stamps span everything done per epoch.
    """

    def initialize(self):
        self.stamps = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.stamps = [clocks()]

    def on_epoch_end(self, net, **kwargs):
        self.stamps.append(clocks())


def epoch_times(estimator, name: str = "clock", cpu: bool = False) -> list[float]:
    """Per-epoch wall (or CPU) seconds recorded by the :class:`EpochClock` ``name``."""
    stamps = [s[int(cpu)] for s in dict(estimator.net_.callbacks_)[name].stamps]
    return [b - a for a, b in zip(stamps[:-1], stamps[1:])]


# --- memory -----------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _maxrss_kib(who: int = resource.RUSAGE_SELF) -> int:
    """``ru_maxrss`` of ``who`` (this process, or ``RUSAGE_CHILDREN``) in KiB."""
    rss = resource.getrusage(who).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss  # macOS reports bytes


class PeakMemory:
    """Peak resident memory added by the enclosed code, in MiB (``.mib``).

    On Linux the process's high-water mark is reset on entry (``clear_refs``), so
    the peak is that of the enclosed code alone, even if earlier code (data
    generation) peaked higher. Elsewhere it falls back to ``ru_maxrss`` minus its
    value on entry, which can only underestimate. Run one configuration per
    fresh process (:func:`run_worker` with ``memory=True``) so allocator caches
    neither hide nor inflate the peak.
    """

    def __enter__(self):
        gc.collect()
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self._start = _status_kib("VmRSS")
            self._read = lambda: _status_kib("VmHWM")
            self.method = "VmHWM after clear_refs"
        except OSError:
            self._start = _maxrss_kib()
            self._read = _maxrss_kib
            self.method = "ru_maxrss delta"
        return self

    def __exit__(self, *exc):
        self.mib = max(0, self._read() - self._start) / 1024
        return False


def fit_epochs(clf, X, y) -> dict:
    """Fit ``clf`` under :class:`PeakMemory`; its per-epoch times and peak.

    ``clf`` must carry an :class:`EpochClock` named ``"clock"`` in its callbacks.
    The first epoch is dropped from the medians (first-touch costs) unless it is
    the only one.
    """
    with PeakMemory() as peak:
        clf.fit(X, y)
    times, cpu = epoch_times(clf), epoch_times(clf, cpu=True)
    return {"epoch_s": median(times[1:] or times), "epoch_times": times,
            "epoch_cpu_s": median(cpu[1:] or cpu),
            "fit_peak_mib": peak.mib}


def run_worker(script: Path, args: list[str], memory: bool = False,
               timeout: float = 3600) -> dict:
    """Run ``python script --worker args`` in a fresh process; return its JSON line.

    ``memory=True`` fixes glibc's mmap threshold at 128 KiB, so every large freed
    block goes back to the OS and resident memory tracks live arrays instead of the
    allocator's free lists. That costs page faults on every large allocation, so
    time such runs separately (``memory=False``).
    """
    cmd = [sys.executable, str(script), "--worker", *args]
    env = dict(os.environ)
    if memory:
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- output -----------------------------------------------------------------------


def print_table(rows: list[dict], columns: list[str], floatfmt: str = ".3g") -> None:
    """Print ``rows`` as a GitHub-flavoured Markdown table (pasteable in README)."""

    def fmt(v):
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in
              enumerate(columns)]
    line = lambda vals: "| " + " | ".join(  # noqa: E731
        v.ljust(w) for v, w in zip(vals, widths)) + " |"
    print(line(columns))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print(line(row))


def save(name: str, info: dict, rows: list[dict], settings: dict,
         no_save: bool = False) -> Path | None:
    """Write ``results/<name>-<timestamp>.json`` and ``results/<name>-latest.json``."""
    if no_save:
        return None
    RESULTS.mkdir(exist_ok=True)
    info = {**info, "load_average_end": load_average()}
    payload = {"benchmark": name, "machine": info, "settings": settings,
               "rows": rows}
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    text = json.dumps(payload, indent=2, default=str)
    path.write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    print(f"# saved {path.relative_to(REPO)}")
    return path


def report(name: str, info: dict, rows: list[dict], columns: list[str],
           settings: dict, no_save: bool = False, floatfmt: str = ".3g") -> None:
    """Every benchmark's end: :func:`print_table` the rows, then :func:`save` them."""
    print_table(rows, columns, floatfmt)
    save(name, info, rows, settings, no_save)
