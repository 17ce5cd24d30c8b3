"""The numbers Wang et al. (2021) report on the real recordings, and a join."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["PAPER_RESULTS", "compare_with_paper"]


def _paper_results() -> dict[str, pd.DataFrame]:
    fr = pd.DataFrame(
        {
            "model": ["SVM", "MLP", "GNN", "Connectome GNN", "Brennan & Proekt 2019"],
            "evaluation": ["both"] * 4 + ["unseen"],
            "accuracy": [np.nan] * 4 + [0.81],
            "reported": [
                "matches the networks on seen worms; generalizes worse to unseen",
                "high on seen and unseen worms",
                "high on seen and unseen worms",
                "good on seen worms; generalizes worse than the inferred-graph GNN",
                "0.81 cross-animal (prior state of the art)",
            ],
        }
    )
    seven = pd.DataFrame(
        {
            "model": ["GNN", "MLP"],
            "evaluation": ["seen", "seen"],
            "accuracy": [0.92, 0.92],
            "reported": ["about 0.92", "about 0.92"],
        }
    )
    gnn = [0.833, 0.838, 0.868, 0.874]
    mlp = [0.765, 0.785, 0.802, 0.802]
    four = pd.DataFrame(
        {
            "model": ["GNN"] * 4 + ["MLP"] * 4 + ["GNN", "MLP"],
            "evaluation": ["unseen"] * 8 + ["cross-study"] * 2,
            "n_train_worms": [1, 2, 3, 4] * 2 + [5, 5],
            "accuracy": gnn + mlp + [np.nan, np.nan],
            "reported": [f"{v:.3f}" for v in gnn + mlp] + ["0.70-0.73", "0.69-0.73"],
        }
    )
    traj = pd.DataFrame(
        {
            "model": ["GNN"] * 6 + ["MLP"] * 6,
            "training": (["all training worms"] * 3 + ["1 worm"] * 3) * 2,
            "step": [1, 8, 16] * 4,
            "mae": [0.140, 0.181, 0.264, 0.160, 0.472, 0.802,
                    0.135, 0.234, 0.512, 0.146, 0.424, 1.203],
        }
    )  # fmt: skip
    return {
        "forward_reverse": fr,
        "seven_states_seen": seven,
        "four_states_unseen": four,
        "trajectory": traj,
    }


#: The numbers Wang et al. (2021) report on the real data (PAPER.md), per
#: experiment. Forward vs reverse (Table 1) is quoted in words: only the prior state
#: of the art has a number. Trajectory errors are mean absolute errors on the 21
#: Nichols worms of models trained on the 5 Kato worms ("all training worms") or on
#: one of them, in the authors' scaling of each channel to [-1, 1].
PAPER_RESULTS: dict[str, pd.DataFrame] = _paper_results()

_PAPER_KEYS = {
    "forward_reverse": ["model"],
    "seven_states_seen": ["model", "evaluation"],
    "four_states_unseen": ["model", "evaluation", "n_train_worms"],
    "trajectory": ["model", "training", "step"],
}


def compare_with_paper(summary: pd.DataFrame, experiment: str) -> pd.DataFrame:
    """Put the paper's reported numbers beside a measured summary.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`summarize` (or any table with the experiment's key columns).
    experiment : {"forward_reverse", "seven_states_seen", "four_states_unseen", \
"trajectory"}
        Which entry of :data:`PAPER_RESULTS` to join.

    Returns
    -------
    table : DataFrame
        ``summary`` with a ``paper`` column (text; empty where the paper reports
        nothing for that row). Meaningful only for the real Kato/Nichols data.

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.experiments import compare_with_paper
    >>> summary = pd.DataFrame({"model": ["GNN"], "evaluation": ["seen"],
    ...                         "mean": [0.9], "std": [0.01], "n": [10]})
    >>> compare_with_paper(summary, "seven_states_seen")["paper"].tolist()
    ['about 0.92']
    """
    if experiment not in PAPER_RESULTS:
        raise ValueError(
            f"experiment must be one of {sorted(PAPER_RESULTS)}; got {experiment!r}."
        )
    paper = PAPER_RESULTS[experiment].copy()
    keys = [k for k in _PAPER_KEYS[experiment] if k in summary.columns]
    if experiment == "trajectory":
        paper["reported"] = paper["mae"].map(lambda v: f"MAE {v:.3f}")
    paper = paper.rename(columns={"reported": "paper"})
    if experiment == "four_states_unseen" and "evaluation" in keys:
        # Cross-study numbers are for models trained on all Kato worms, however
        # many the measured run had.
        cross = summary["evaluation"] == "cross-study"
        parts = [
            _merge_paper(summary[~cross], paper, keys),
            _merge_paper(
                summary[cross], paper, [k for k in keys if k != "n_train_worms"]
            ),
        ]
        return pd.concat(parts).loc[summary.index].reset_index(drop=True)
    return _merge_paper(summary, paper, keys).reset_index(drop=True)


def _merge_paper(summary: pd.DataFrame, paper: pd.DataFrame, keys) -> pd.DataFrame:
    paper = paper[[*keys, "paper"]].drop_duplicates(keys)
    out = summary.reset_index().merge(paper, on=keys, how="left").set_index("index")
    out.index.name = summary.index.name
    out["paper"] = out["paper"].fillna("")
    return out
