"""Wall time, CPU time and peak memory of ``wormsk reproduce`` (simulated worms).

Each run is a fresh process writing its report into a temporary directory, so
every run pays for the imports and the data simulation as a user would. Per run,
the user + system CPU seconds of the child processes are recorded (the change of
``getrusage(RUSAGE_CHILDREN)`` across the run, the figure ``/usr/bin/time``
reports: it counts the joblib workers once the run has waited for them). The
largest resident memory of any process (``ru_maxrss`` of the children, joblib
workers included) is recorded once, over all runs.

By default the ``--quick`` settings are timed (3 runs, about a minute each on 2
idle cores); ``--full`` times the full settings (1 run unless ``--repeats`` says
otherwise; 43 and 45 minutes in two runs on 2 cores).

Run: ``python benchmarks/bench_reproduce.py [--full] [--repeats N] [--jobs N]``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from _common import (
    REPO,
    _maxrss_kib,
    machine_info,
    median,
    parser,
    print_machine,
    print_table,
    save,
)


def _children_cpu_s() -> float:
    """User + system CPU seconds of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=None,
                   help="passed to wormsk reproduce --jobs (default: its own)")
    p.add_argument("--full", action="store_true",
                   help="time the full settings instead of --quick")
    p.set_defaults(repeats=None)
    args = p.parse_args()
    if args.quick:
        repeats = 1
    else:
        repeats = max(1, args.repeats or (1 if args.full else 3))

    info = machine_info()
    print_machine(info)
    cmd = [sys.executable, "-m", "wormsk.cli", "reproduce"]
    if not args.full:
        cmd.append("--quick")
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    times, cpus = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as out:
            c0 = _children_cpu_s()
            t0 = time.perf_counter()
            proc = subprocess.run([*cmd, "--out", out], capture_output=True,
                                  text=True, cwd=REPO)
            times.append(time.perf_counter() - t0)
            cpus.append(_children_cpu_s() - c0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
        print(f"# run {len(times)}: {times[-1]:.1f} s wall, {cpus[-1]:.1f} s CPU "
              f"(user + system)", flush=True)
    peak = _maxrss_kib(resource.RUSAGE_CHILDREN) / 1024
    rows = [{
        "command": " ".join(["wormsk", *cmd[3:]]),
        "runs": repeats,
        "median s": median(times),
        "min s": min(times),
        "max s": max(times),
        "median cpu s": median(cpus),
        "cpu use %": 100 * median([c / t for c, t in zip(cpus, times)]),
        "peak process MiB": peak,
        "times": times,
        "cpu_times": cpus,
    }]
    print_table(rows, ["command", "runs", "median s", "min s", "max s",
                       "median cpu s", "cpu use %", "peak process MiB"], ".4g")
    save("reproduce_full" if args.full else "reproduce", info, rows,
         {"repeats": repeats, "jobs": args.jobs, "full": args.full}, args.no_save)


if __name__ == "__main__":
    main()
