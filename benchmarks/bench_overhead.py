"""Wrapper overhead: a wormsk classifier's epoch against a plain PyTorch loop.

Both train the same module (the estimator's own freshly initialized network,
copied) on the same float32 tensors and the same per-worm shuffled batches (the
plain loop calls the estimators' own ``worm_chunks`` with a copy of the
estimator's batch generator), with Adam and cross-entropy, one torch thread
each. The plain loop is what one would write by hand: zero_grad, forward, loss,
backward, step. The JSON records both loss curves; when they agree, both did
exactly the same work.

Per-epoch time of the estimator is measured between consecutive ``on_epoch_end``
calls of a callback placed after skorch's own ones, so it includes everything
skorch and wormsk do per epoch (batching, callbacks, history). Both wall and
process CPU time are recorded: on a machine shared with other work, CPU time is
the steadier measure (wall time includes waiting for a core). Ratios are medians
over rounds of the ratio within a round; which loop runs first alternates. The
fit-level ratio also counts input validation and the DataFrame-to-tensor
conversion once per fit.

Run: ``python benchmarks/bench_overhead.py [--repeats 5] [--epochs 5]``.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from _common import EpochClock, begin, clocks, epoch_times, median, parser, report

from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier, MLPClassifier

# The estimators' own batching: the plain loop differs only in how it runs them.
from wormsk.models._data import worm_chunks


def plain_fit(module, X, y, worms, epochs, batch_size, lr, generator):
    """The hand-written loop. Returns (fit, per-epoch wall, per-epoch CPU, losses)."""
    t_fit = time.perf_counter()
    n_neurons = X.shape[1] // 2
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    Xt = Xt.view(len(Xt), n_neurons, 2)
    yt = torch.from_numpy(y)
    positions = [torch.from_numpy(np.flatnonzero(worms == w)) for w in
                 dict.fromkeys(worms)]
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    criterion = torch.nn.CrossEntropyLoss()
    stamps, losses = [clocks()], []
    for _ in range(epochs):
        module.train()
        total = 0.0
        for rows in worm_chunks(positions, batch_size, generator):
            optimizer.zero_grad()
            loss = criterion(module(Xt[rows]), yt[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(Xt))
        stamps.append(clocks())
    wall, cpu = (np.diff([s[k] for s in stamps]).tolist() for k in (0, 1))
    return time.perf_counter() - t_fit, wall, cpu, losses


def one_round(make, X, y, worms, codes, epochs, plain_first=False):
    """Fit the estimator and the plain loop from the same start; return timings."""
    est = make(max_epochs=epochs).initialize(X, y)
    module = copy.deepcopy(est.module_)
    generator = torch.Generator()
    generator.set_state(est.net_.batch_generator_.get_state())
    batch_size, lr = est.batch_size, est.lr
    out = {}

    def run_estimator():
        est = make(callbacks=[("clock", EpochClock())], max_epochs=epochs)
        t0 = time.perf_counter()
        est.fit(X, y)
        out.update(fit_est=time.perf_counter() - t0,
                   epochs_est=epoch_times(est), cpu_est=epoch_times(est, cpu=True),
                   losses_est=list(est.history_[:, "train_loss"]))

    def run_plain():
        previous = torch.get_num_threads()
        torch.set_num_threads(1)  # as the estimator does
        try:
            fit, wall, cpu, losses = plain_fit(
                module, X.to_numpy(), codes, worms, epochs, batch_size, lr, generator)
        finally:
            torch.set_num_threads(previous)
        out.update(fit_plain=fit, epochs_plain=wall, cpu_plain=cpu,
                   losses_plain=losses)

    for run in (run_plain, run_estimator) if plain_first else (run_estimator,
                                                                run_plain):
        run()
    return out


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--worms", type=int, default=5)
    args = p.parse_args()
    repeats = 2 if args.quick else args.repeats
    epochs = 2 if args.quick else args.epochs

    import wormsk.models  # noqa: F401  (imports torch first, for machine_info)

    info = begin()
    X, y = make_worms(n_worms=args.worms, n_frames=3000, random_state=0,
                      return_X_y=True)
    worms = np.asarray(X.index.get_level_values("worm"))
    classes, codes = np.unique(y, return_inverse=True)
    codes = codes.astype(np.int64)
    configs = {
        "MLPClassifier": lambda **kw: MLPClassifier(random_state=0, **kw),
        "GNNClassifier static": lambda **kw: GNNClassifier(random_state=0, **kw),
        "GNNClassifier dynamic": lambda **kw: GNNClassifier(
            random_state=0, edges="dynamic", **kw),
    }
    rows = []
    for name, make in configs.items():
        one_round(make, X, y, worms, codes, 1)  # warm-up (lazy imports, allocator)
        # Which loop runs first alternates, so drift does not favour either.
        rounds = [one_round(make, X, y, worms, codes, epochs, plain_first=k % 2)
                  for k in range(repeats)]

        def per_epoch(key, rounds=rounds):
            # Epoch 1 is dropped (first-touch costs in both loops).
            return median([t for r in rounds for t in r[key][1:]])

        def ratio(est_key, plain_key, rounds=rounds):
            # Median over rounds of the ratio within a round (same machine state).
            return median([median(r[est_key][1:]) / median(r[plain_key][1:])
                           for r in rounds])

        fit_est = median([r["fit_est"] for r in rounds])
        fit_plain = median([r["fit_plain"] for r in rounds])
        same = all(np.allclose(r["losses_est"], r["losses_plain"], rtol=1e-5,
                               atol=0)
                   for r in rounds)
        rows.append({
            "model": name,
            "frames": len(X),
            "batches/epoch": len(worm_chunks(
                [torch.from_numpy(np.flatnonzero(worms == w)) for w in
                 dict.fromkeys(worms)], 256, torch.Generator())),
            "plain epoch s": per_epoch("epochs_plain"),
            "wormsk epoch s": per_epoch("epochs_est"),
            "epoch ratio": ratio("epochs_est", "epochs_plain"),
            "plain epoch cpu s": per_epoch("cpu_plain"),
            "wormsk epoch cpu s": per_epoch("cpu_est"),
            "epoch cpu ratio": ratio("cpu_est", "cpu_plain"),
            "plain fit s": fit_plain,
            "wormsk fit s": fit_est,
            "fit ratio": median([r["fit_est"] / r["fit_plain"] for r in rounds]),
            "same losses": same,
            "rounds": rounds,
        })
    columns = ["model", "batches/epoch", "plain epoch s", "wormsk epoch s",
               "epoch ratio", "plain epoch cpu s", "wormsk epoch cpu s",
               "epoch cpu ratio", "fit ratio", "same losses"]
    report("overhead", info, rows, columns,
           {"epochs": epochs, "repeats": repeats, "worms": args.worms,
            "n_frames": 3000, "batch_size": 256, "hidden_size": 16}, args.no_save)


if __name__ == "__main__":
    main()
