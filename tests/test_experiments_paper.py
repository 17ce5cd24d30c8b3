import pandas as pd
import pytest

from wormsk import experiments as ex


def test_summarize_and_compare_with_paper():
    scores = pd.DataFrame(
        {
            "model": ["GNN", "GNN", "MLP"],
            "evaluation": ["unseen"] * 3,
            "n_train_worms": [1, 1, 3],
            "accuracy": [0.8, 0.9, 0.7],
        }
    )
    summary = ex.summarize(scores, ["model", "evaluation", "n_train_worms"])
    assert summary["mean"].tolist() == pytest.approx([0.85, 0.7])
    assert summary["n"].tolist() == [2, 1]
    table = ex.compare_with_paper(summary, "four_states_unseen")
    assert table["paper"].tolist() == ["0.833", "0.802"]
    cross = pd.DataFrame({"model": ["MLP", "GNN", "SVM"],
                          "evaluation": ["unseen", "cross-study", "cross-study"],
                          "n_train_worms": [2, 3, 3]})  # fmt: skip
    assert ex.compare_with_paper(cross, "four_states_unseen")["paper"].tolist() == [
        "0.785", "0.70-0.73", "",
    ]  # fmt: skip
    traj = pd.DataFrame({"model": ["GNN"], "training": ["1 worm"], "step": [16],
                         "mae": [0.5]})  # fmt: skip
    assert ex.compare_with_paper(traj, "trajectory")["paper"].tolist() == ["MAE 0.802"]
    with pytest.raises(ValueError, match="lacks the column"):
        ex.summarize(scores, ["worm"])


def test_paper_results_hold_the_reported_numbers():
    four = ex.PAPER_RESULTS["four_states_unseen"]
    gnn = four[(four["model"] == "GNN") & (four["evaluation"] == "unseen")]
    assert gnn["accuracy"].tolist() == [0.833, 0.838, 0.868, 0.874]
    traj = ex.PAPER_RESULTS["trajectory"].set_index(["model", "training", "step"])
    assert traj.loc[("MLP", "1 worm", 16), "mae"] == 1.203
    assert traj.loc[("GNN", "all training worms", 1), "mae"] == 0.140
