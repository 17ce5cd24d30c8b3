"""Scaling with worms: training time per epoch and peak memory for 5 to 100 worms.

Each configuration runs in a fresh process: simulate ``n`` worms of 3000 frames x
15 neurons, warm up on a few frames, then fit ``GNNClassifier`` (static edges,
defaults otherwise) for a few epochs. Time per epoch should grow linearly with the
number of frames (``us/frame`` flat). ``fit peak MiB`` is the peak resident memory
of ``fit`` above the memory once the data exist (measured in a separate run, see
``_common.run_worker``); ``data MiB`` is the size of the inputs as float32, the
copy the estimator must hold. The data are held once, with no per-epoch copies,
when the peak grows by about the data size per worm added: ``peak-data MiB`` (the
model, the optimizer, batches and transients of validation) then grows far slower
than the data.

Run: ``python benchmarks/bench_worms.py [--repeats 3]``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from _common import EpochClock, begin, fit_epochs, median, parser, report, run_worker

N_FRAMES = 3000


def worker(n_worms: int, epochs: int, model: str) -> dict:
    from wormsk.datasets import make_worms
    from wormsk.models import GNNClassifier, MLPClassifier

    cls = GNNClassifier if model == "gnn" else MLPClassifier
    X, y = make_worms(n_worms=n_worms, n_frames=N_FRAMES, random_state=0,
                      return_X_y=True)
    cls(max_epochs=1).fit(X.iloc[:: 10 * n_worms], y[:: 10 * n_worms])  # warm-up
    clf = cls(max_epochs=epochs, random_state=0,
              callbacks=[("clock", EpochClock())])
    return {**fit_epochs(clf, X, y), "data_mib": X.size * 4 / 2**20,
            "frames": len(X)}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        n, epochs, model = sys.argv[2:5]
        print(json.dumps(worker(int(n), int(epochs), model)))
        return

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--worms", type=int, nargs="+", default=[5, 10, 20, 50, 100])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--model", choices=["gnn", "mlp"], default="gnn")
    args = p.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    worms = [5, 10] if args.quick else args.worms
    epochs = 2 if args.quick else args.epochs

    info = begin()
    rows = []
    for n in worms:
        runs = [run_worker(Path(__file__), [str(n), str(epochs), args.model])
                for _ in range(repeats)]
        # Memory from its own run (timing there would include extra page faults);
        # 2 epochs, so a per-epoch copy would show.
        mem = run_worker(Path(__file__), [str(n), "2", args.model], memory=True)
        epoch_s = median([r["epoch_s"] for r in runs])
        epoch_cpu = median([r["epoch_cpu_s"] for r in runs])
        peak = mem["fit_peak_mib"]
        data = mem["data_mib"]
        rows.append({
            "worms": n,
            "frames": runs[0]["frames"],
            "epoch s": epoch_s,
            "us/frame": 1e6 * epoch_s / runs[0]["frames"],
            "epoch cpu s": epoch_cpu,
            "cpu us/frame": 1e6 * epoch_cpu / runs[0]["frames"],
            "data MiB": data,
            "fit peak MiB": peak,
            "peak-data MiB": peak - data,
            "runs": runs,
            "memory_run": mem,
        })
        print(f"# {n} worms: done", flush=True)
    columns = ["worms", "frames", "epoch s", "us/frame", "epoch cpu s",
               "cpu us/frame", "data MiB", "fit peak MiB", "peak-data MiB"]
    report(f"worms-{args.model}", info, rows, columns,
           {"repeats": repeats, "epochs": epochs, "n_frames": N_FRAMES,
            "n_neurons": 15, "model": args.model}, args.no_save)


if __name__ == "__main__":
    main()
