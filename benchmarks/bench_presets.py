"""Accuracy and CPU time of the full preset's experiments at other training settings.

Why the full preset trains as little as it does: each experiment runs on the full
preset's data (5 simulated worms of 3000 frames, random state 0) once per setting,
and the script prints the mean score per model beside the CPU seconds, so fewer
epochs can be shown to cost nothing in accuracy.

- ``--classifier-epochs 10 20``: ``forward_reverse``, ``seven_states_seen`` and
  ``four_states_unseen`` with ``max_epochs`` set to each value (every fold and
  combination of the full protocol: the slow part, about 5 CPU minutes per 10
  epochs).
- ``--forecasters 8:32 16:32 8:16``: ``trajectory`` on one test worm
  (``traj_max_splits=1``) for each ``epochs:hidden`` pair; the GNN forecaster
  takes the pair's hidden size, scheduled sampling half the epochs.

CPU seconds are ``time.process_time`` of this one process (``n_jobs=1``), steady
on a shared machine where wall time is not.
"""

from __future__ import annotations

import time

from _common import begin, parser, report

from wormsk import experiments as ex
from wormsk.datasets import make_worms


def classification(data, epochs: int) -> list[dict]:
    p = ex.get_preset("full", max_epochs=epochs)
    rows = []
    for name, run in (
        ("forward/reverse", ex.forward_reverse),
        ("7 states", ex.seven_states_seen),
        ("4 states", ex.four_states_unseen),
    ):
        start = time.process_time()
        scores = run(data, preset=p, random_state=0, n_jobs=1).scores
        cpu = time.process_time() - start
        for (evaluation, model), acc in scores.groupby(["evaluation", "model"])[
            "accuracy"
        ]:
            rows.append({"experiment": name, "setting": f"{epochs} epochs",
                         "evaluation": evaluation, "model": model,
                         "score": acc.mean(), "sd": acc.std(), "n": len(acc),
                         "cpu_s": cpu})  # fmt: skip
    return rows


def forecasting(data, epochs: int, hidden: int) -> list[dict]:
    p = ex.get_preset(
        "full", traj_max_epochs=epochs, traj_teacher_forcing_epochs=epochs // 2,
        traj_gnn_hidden_size=hidden, traj_max_splits=1,
    )  # fmt: skip
    start = time.process_time()
    scores = ex.trajectory(data, preset=p, random_state=0, n_jobs=1).scores
    cpu = time.process_time() - start
    scores = scores[scores["training"].isin(["all training worms", "none"])]
    rows = []
    for step in (1, 8, 16):
        at = scores[scores["step"] == step]
        for model, mae in at.groupby("model")["mae"]:
            rows.append({"experiment": f"trajectory MAE, step {step}",
                         "setting": f"{epochs} epochs, GNN hidden {hidden}",
                         "evaluation": "unseen", "model": model,
                         "score": mae.mean(), "sd": float("nan"), "n": len(mae),
                         "cpu_s": cpu})  # fmt: skip
    return rows


def main() -> None:
    # --repeats is ignored (one run per setting: the scores are deterministic);
    # --quick shrinks the worms to 600 frames, for a smoke test.
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--classifier-epochs", type=int, nargs="*", default=[10, 20])
    p.add_argument("--forecasters", nargs="*", default=["8:16", "8:32", "16:32"],
                   help="epochs:GNN hidden size pairs")  # fmt: skip
    args = p.parse_args()
    info = begin()
    preset = ex.get_preset("full")
    n_frames = 600 if args.quick else preset.n_frames
    data = make_worms(n_worms=preset.n_worms, n_frames=n_frames, random_state=0)
    rows = []
    for epochs in args.classifier_epochs:
        rows += classification(data, epochs)
    for pair in args.forecasters:
        epochs, hidden = (int(v) for v in pair.split(":"))
        rows += forecasting(data, epochs, hidden)
    columns = ["experiment", "evaluation", "model", "setting", "score", "sd", "n",
               "cpu_s"]  # fmt: skip
    report("presets", info, rows, columns, vars(args), args.no_save)


if __name__ == "__main__":
    main()
