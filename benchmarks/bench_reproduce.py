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
otherwise). ``--per-experiment`` runs every experiment in a process of its own
(``wormsk reproduce --experiments <name>``) and reports each one's wall and CPU
seconds beside their sum; each of those processes pays the imports and the data
simulation again (a few CPU seconds). On a machine shared with other work, CPU
seconds are the measure to compare; ``CPU s / 2`` projects the wall time on 2
idle cores.

Run: ``python benchmarks/bench_reproduce.py [--full] [--per-experiment]
[--repeats N] [--jobs N]``.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time

from _common import REPO, _maxrss_kib, begin, median, parser, report


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
    p.add_argument("--per-experiment", action="store_true",
                   help="one process per experiment; wall and CPU s of each")
    p.set_defaults(repeats=None)
    args = p.parse_args()
    if args.quick:
        repeats = 1
    else:
        repeats = max(1, args.repeats or (1 if args.full else 3))

    info = begin()
    cmd = [sys.executable, "-m", "wormsk.cli", "reproduce"]
    if not args.full:
        cmd.append("--quick")
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    from wormsk.cli import EXPERIMENTS

    runs = [(name, ["--experiments", name]) for name in EXPERIMENTS] if (
        args.per_experiment
    ) else [("all", [])]
    rows = []
    for label, extra in runs:
        times, cpus = [], []
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as out:
                c0 = _children_cpu_s()
                t0 = time.perf_counter()
                proc = subprocess.run([*cmd, *extra, "--out", out],
                                      capture_output=True, text=True, cwd=REPO)
                times.append(time.perf_counter() - t0)
                cpus.append(_children_cpu_s() - c0)
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(cmd + extra)} failed:\n{proc.stderr[-3000:]}")
            print(f"# {label} run {len(times)}: {times[-1]:.1f} s wall, "
                  f"{cpus[-1]:.1f} s CPU (user + system)", flush=True)
        rows.append({
            "command": " ".join(["wormsk", *cmd[3:], *extra]),
            "experiment": label,
            "runs": repeats,
            "median s": median(times),
            "min s": min(times),
            "max s": max(times),
            "median cpu s": median(cpus),
            "cpu use %": 100 * median([c / t for c, t in zip(cpus, times)]),
            "times": times,
            "cpu_times": cpus,
        })
    if len(rows) > 1:
        rows.append({
            "command": "sum of the above",
            "experiment": "all (sum)",
            "runs": repeats,
            "median s": sum(r["median s"] for r in rows),
            "min s": sum(r["min s"] for r in rows),
            "max s": sum(r["max s"] for r in rows),
            "median cpu s": sum(r["median cpu s"] for r in rows),
            "cpu use %": float("nan"),
        })
    peak = _maxrss_kib(resource.RUSAGE_CHILDREN) / 1024
    for row in rows:
        row["projected 2-core s"] = row["median cpu s"] / 2
    rows[-1]["peak process MiB"] = peak
    name = "reproduce_full" if args.full else "reproduce"
    if args.per_experiment:
        name += "_per_experiment"
    columns = ["experiment", "runs", "median s", "min s", "max s", "median cpu s",
               "cpu use %", "projected 2-core s", "peak process MiB"]
    report(name, info, rows, columns,
           {"repeats": repeats, "jobs": args.jobs, "full": args.full,
            "per_experiment": args.per_experiment}, args.no_save, ".4g")


if __name__ == "__main__":
    main()
