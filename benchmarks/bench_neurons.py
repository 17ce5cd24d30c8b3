"""Scaling with neurons: GNN training time and peak memory for 15 to 302 neurons.

For each number of neurons N and each edge type (static, dynamic), in fresh
processes:

* ``step``: one training step (forward, backward, Adam) of ``WormGNN`` (hidden
  size 16, 7 classes) on a batch of 64 frames; the time per step and the peak
  resident memory of five steps above the process's memory after imports and
  set-up (the target: under 1 GiB at 302 neurons).
* ``fit``: ``GNNClassifier(hidden_size=16, batch_size=64)`` on 2 simulated worms of
  320 frames (``make_worms(n_neurons=N)``): the time per epoch and the peak memory
  of the whole ``fit`` (input validation and conversion included) above the memory
  after the data were generated.

Peak memory comes from separate runs (see ``_common.run_worker``); one torch
thread throughout, as the estimators use.

The edge encoder does O(frames * N^2 * h) pair work, so ``cpu ns/pair`` (epoch CPU
time per frame and ordered pair of neurons) should level off as N grows; anything
worse than N^2 would make it climb.

Run: ``python benchmarks/bench_neurons.py [--repeats 3] [--compare-threads]``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from _common import (
    EpochClock,
    PeakMemory,
    begin,
    fit_epochs,
    median,
    parser,
    report,
    run_worker,
)

HIDDEN, BATCH, N_WORMS, N_FRAMES, N_CLASSES = 16, 64, 2, 320, 7


def worker(mode: str, n: int, edges: str, threads: int, epochs: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    if mode == "step":
        from wormsk.nn import WormGNN

        torch.manual_seed(0)
        x = torch.rand(BATCH, n, 2)
        y = torch.randint(0, N_CLASSES, (BATCH,))
        net = WormGNN(n, n_outputs=N_CLASSES, hidden_size=HIDDEN, edges=edges)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step(net=net, optimizer=optimizer, x=x, y=y):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()

        # Warm up on a tiny network so lazily loaded code is not counted as memory.
        tiny = WormGNN(4, n_outputs=N_CLASSES, hidden_size=HIDDEN, edges=edges)
        step(tiny, torch.optim.Adam(tiny.parameters()), x[:, :4], y)
        times = []
        with PeakMemory() as peak:
            for _ in range(5):
                t0 = time.perf_counter()
                step()
                times.append(time.perf_counter() - t0)
        # The first step pays for first-touch allocations and Adam's state.
        return {"step_s": median(times[1:]), "step_times": times,
                "step_peak_mib": peak.mib, "memory_method": peak.method}

    from wormsk.datasets import make_worms
    from wormsk.models import GNNClassifier

    X, y = make_worms(n_worms=N_WORMS, n_frames=N_FRAMES, n_neurons=n,
                      random_state=0, return_X_y=True)
    # Warm up on a few frames so lazily loaded code is not counted as memory.
    GNNClassifier(hidden_size=HIDDEN, edges=edges, max_epochs=1).fit(
        X.iloc[::10], y[::10])
    clf = GNNClassifier(hidden_size=HIDDEN, batch_size=BATCH, edges=edges,
                        max_epochs=epochs, random_state=0,
                        callbacks=[("clock", EpochClock())])
    return fit_epochs(clf, X, y)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        mode, n, edges, threads, epochs = sys.argv[2:7]
        out = worker(mode, int(n), edges, int(threads), int(epochs))
        print(json.dumps(out))
        return

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--neurons", type=int, nargs="+", default=[15, 50, 100, 302])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--compare-threads", action="store_true",
                   help=f"also time the step with {os.cpu_count()} torch threads")
    args = p.parse_args()
    repeats = 1 if args.quick else max(1, args.repeats)
    neurons = [15, 50] if args.quick else args.neurons
    epochs = 2 if args.quick else args.epochs

    info = begin()
    script = Path(__file__)
    rows = []
    for n in neurons:
        for edges in ("static", "dynamic"):
            steps, fits, steps_mt = [], [], []
            for _ in range(repeats):
                steps.append(run_worker(script, ["step", str(n), edges, "1", "0"]))
                fits.append(run_worker(script, ["fit", str(n), edges, "1",
                                                str(epochs)]))
                if args.compare_threads:
                    steps_mt.append(run_worker(
                        script, ["step", str(n), edges, str(os.cpu_count()), "0"]))
            # Memory from separate runs (their timings include extra page faults).
            step_mem = run_worker(script, ["step", str(n), edges, "1", "0"],
                                  memory=True)
            fit_mem = run_worker(script, ["fit", str(n), edges, "1", "1"],
                                 memory=True)
            epoch_s = median([f["epoch_s"] for f in fits])
            epoch_cpu = median([f["epoch_cpu_s"] for f in fits])
            row = {
                "neurons": n,
                "edges": edges,
                "step s": median([s["step_s"] for s in steps]),
                "step peak MiB": step_mem["step_peak_mib"],
                "epoch s": epoch_s,
                "epoch cpu s": epoch_cpu,
                "cpu ns/pair": 1e9 * epoch_cpu / (N_WORMS * N_FRAMES * n * n),
                "fit peak MiB": fit_mem["fit_peak_mib"],
                "runs": {"step": steps, "fit": fits, "step_memory": step_mem,
                         "fit_memory": fit_mem},
            }
            if args.compare_threads:
                row[f"step s ({os.cpu_count()} thr)"] = median(
                    [s["step_s"] for s in steps_mt])
                row["runs"]["step_threads"] = steps_mt
            rows.append(row)
            print(f"# {n} neurons, {edges}: done", flush=True)
    columns = ["neurons", "edges", "step s", "step peak MiB", "epoch s",
               "epoch cpu s", "cpu ns/pair", "fit peak MiB"]
    if args.compare_threads:
        columns.append(f"step s ({os.cpu_count()} thr)")
    report("neurons", info, rows, columns,
           {"repeats": repeats, "epochs": epochs, "hidden_size": HIDDEN,
            "batch_size": BATCH, "n_worms": N_WORMS, "n_frames": N_FRAMES,
            "torch_threads": 1}, args.no_save)


if __name__ == "__main__":
    main()
