import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.utils import Bunch

from wormsk import experiments as ex
from wormsk.datasets import KATO_SHARED_NEURONS, make_worms
from wormsk.preprocessing import PerWormScaler

SCORE_COLUMNS = [
    "model", "evaluation", "split", "n_train_worms", "train_worms", "test_worms",
    "n_test_frames", "accuracy", "fit_time",
]  # fmt: skip


@pytest.fixture(scope="module")
def worms():
    return make_worms(n_worms=3, n_frames=400, random_state=0)


def _svm():
    return {"SVM": make_pipeline(PerWormScaler(), SVC())}


def test_forward_reverse_default_models_and_layout(worms):
    calls = []
    scores = ex.forward_reverse(
        worms, preset="tiny", progress=lambda *a: calls.append(a)
    )
    assert list(scores.columns) == SCORE_COLUMNS
    models = ["SVM", "MLP", "GNN", "Connectome GNN", ex.MAJORITY]
    assert list(pd.unique(scores["model"])) == models
    # tiny preset: 1 seen fold, then each of the 3 worms held out in turn.
    counts = scores.groupby(["evaluation", "model"]).size()
    assert (counts["seen"] == 1).all() and (counts["unseen"] == 3).all()
    unseen = scores[scores["evaluation"] == "unseen"]
    assert sorted(unseen.loc[unseen["model"] == "SVM", "test_worms"]) == [
        "sim0", "sim1", "sim2",
    ]  # fmt: skip
    assert (unseen["n_train_worms"] == 2).all()
    assert scores["accuracy"].between(0, 1).all()
    # Per-worm scaled SVM decodes forward vs reverse of unseen simulated worms.
    assert unseen.loc[unseen["model"] == "SVM", "accuracy"].mean() > 0.85
    # Progress: a 0 tick, then one per fit, for each of the two evaluations.
    assert calls[0] == (0, 4, "forward/reverse, seen worms")
    assert calls[4] == (4, 4, "forward/reverse, seen worms")
    assert calls[-1] == (12, 12, "forward/reverse, unseen worms")
    assert len(calls) == 5 + 13


def test_seen_blocks_are_scored_in_the_context_of_the_whole_worm(worms):
    # Scaling held-out blocks by a sparse tenth of the worm would lose accuracy.
    preset = ex._preset("tiny", seen_n_splits=10, seen_max_folds=3)
    scores = ex.forward_reverse(worms, estimators=_svm(), preset=preset)
    seen = scores[(scores["evaluation"] == "seen") & (scores["model"] == "SVM")]
    assert len(seen) == 3
    assert seen["accuracy"].min() > 0.9
    assert (seen["test_worms"] == "sim0,sim1,sim2").all()


def test_experiments_are_deterministic_and_parallel_safe(worms):
    mlp = ex.default_classifiers(["MLP"], preset="tiny", random_state=3)
    kw = dict(estimators=mlp, preset="tiny", random_state=3)
    one = ex.seven_states_seen(worms, **kw).drop(columns="fit_time")
    two = ex.seven_states_seen(worms, n_jobs=2, **kw).drop(columns="fit_time")
    pd.testing.assert_frame_equal(one, two)
    assert list(one["model"]) == ["MLP", ex.MAJORITY]
    assert (one["evaluation"] == "seen").all()
    # The default models of the 7-state experiment, and the baseline.
    assert list(ex.seven_states_seen(worms, preset="tiny")["model"]) == [
        "MLP", "GNN", ex.MAJORITY,
    ]  # fmt: skip


def test_seven_states_needs_kato_labels(worms):
    with pytest.raises(ValueError, match="needs Kato state labels"):
        ex.seven_states_seen(worms.data, np.full(len(worms.target), "forward"))


def test_four_states_unseen_enlargement_confusion_and_cross_study(worms):
    study2 = make_worms(n_worms=2, n_frames=300, random_state=7)
    scores, confusion = ex.four_states_unseen(
        worms, test_data=study2, estimators=_svm(), preset="tiny",
        return_confusion=True,
    )  # fmt: skip
    scores = scores[scores["model"] == "SVM"]
    unseen = scores[scores["evaluation"] == "unseen"]
    # tiny preset caps the combinations at one per number of training worms.
    assert list(unseen["n_train_worms"]) == [1, 2]
    assert unseen["test_worms"].str.split(",").map(len).tolist() == [2, 1]
    cross = scores[scores["evaluation"] == "cross-study"]
    assert list(cross["test_worms"]) == ["sim0", "sim1"]  # one row per test worm
    assert (cross["n_train_worms"] == 3).all()
    assert cross["accuracy"].min() > 0.5
    # Confusion counts add up to the scored frames.
    totals = confusion.groupby(["evaluation", "n_train_worms"])["count"].sum()
    assert totals[("unseen", 1)] == unseen["n_test_frames"].iloc[0]
    assert totals[("cross-study", 3)] == cross["n_test_frames"].sum()
    # The paper's four states keep dorsal and ventral turns apart.
    assert {"dorsal_turn", "ventral_turn"} <= set(confusion["true"])

    full = ex.four_states_unseen(
        worms, estimators=_svm(), preset=ex._preset("tiny", max_combinations=None),
        baseline=False,
    )  # fmt: skip
    assert list(full["n_train_worms"]) == [1, 1, 1, 2, 2, 2]
    assert len(set(full["train_worms"])) == 6


def test_four_states_bad_arguments(worms):
    with pytest.raises(ValueError, match="train_sizes \\[3\\] are impossible"):
        ex.four_states_unseen(worms, estimators=_svm(), train_sizes=[3])
    other = make_worms(n_worms=1, n_frames=200, neurons=["AVAL", "AVAR"])
    with pytest.raises(ValueError, match="same columns"):
        ex.four_states_unseen(worms, estimators=_svm(), test_data=other)
    with pytest.raises(ValueError, match="preset must be one of"):
        ex.four_states_unseen(worms, preset="huge")
    with pytest.raises(ValueError, match="non-empty dict"):
        ex.four_states_unseen(worms, estimators=[SVC()])


def test_trajectory_errors_layout(worms):
    errors = ex.trajectory(worms, preset="tiny")
    horizon = ex.PRESETS["tiny"].horizon
    assert list(errors.columns) == [
        "model", "training", "split", "n_train_worms", "train_worms", "test_worms",
        "step", "mae", "mse", "fit_time",
    ]  # fmt: skip
    # models x trainings x steps for 1 split, then the no-change baseline
    assert len(errors) == 3 * 2 * horizon + horizon
    assert list(pd.unique(errors["model"])) == ["MLP", "GNN", "GRU", "no change"]
    still = errors[errors["model"] == "no change"]
    assert (still["training"] == "none").all() and (still["n_train_worms"] == 0).all()
    # Hand check of the baseline: the test worm scaled to [-1, 1], frame t
    # repeated against frames t+1..t+horizon.
    from wormsk.preprocessing import PerWormScaler

    sim0 = worms.data.xs("sim0", level="worm", drop_level=False)
    x = np.asarray(PerWormScaler(feature_range=(-1, 1)).fit_transform(sim0))
    gap = np.abs(x[2:] - x[:-2])[: len(x) - horizon].mean()
    assert still.loc[still["step"] == 2, "mae"].item() == pytest.approx(gap, rel=1e-5)
    assert still["mae"].is_monotonic_increasing
    one = errors[errors["training"] == "1 worm"]
    assert (one["n_train_worms"] == 1).all() and (one["train_worms"] == "sim1").all()
    assert (errors["test_worms"] == "sim0").all()
    assert list(errors["step"].iloc[:horizon]) == list(range(1, horizon + 1))
    assert (errors["mae"] > 0).all() and (errors["mse"] > 0).all()
    # On [-1, 1]-scaled channels, the absolute error is below the range.
    assert errors["mae"].max() < 2


def test_trajectory_on_a_second_dataset(worms):
    study2 = make_worms(n_worms=2, n_frames=200, random_state=5)
    fast = ex._preset("tiny", traj_max_epochs=1)
    errors = ex.trajectory(
        worms, test_data=study2, estimators={"MLP": ex.default_regressors(
            ["MLP"], preset=fast)["MLP"]}, preset=fast, baseline=False,
    )  # fmt: skip
    assert set(errors["test_worms"]) == {"sim0,sim1"}
    assert set(errors["n_train_worms"]) == {1, 3}


def test_trajectory_windows_never_cross_dropped_frames_of_a_loaded_table(worms):
    # A loader drops unlabelled frames and keeps the original frame numbers, so a
    # worm's index has gaps; forecast windows must not run across them.
    frame = worms.data.index.get_level_values("frame")
    dropped = (worms.groups == "sim0") & (frame >= 100) & (frame < 120)
    keep = ~np.asarray(dropped)
    gapped = Bunch(data=worms.data[keep], target=worms.target[keep],
                   groups=worms.groups[keep])  # fmt: skip
    fast = ex._preset("tiny", traj_max_epochs=1)
    errors = ex.trajectory(
        gapped, estimators={"MLP": ex.default_regressors(["MLP"], preset=fast)["MLP"]},
        preset=fast,
    )  # fmt: skip
    horizon = fast.horizon
    sim0 = gapped.data.xs("sim0", level="worm", drop_level=False)
    x = np.asarray(PerWormScaler(feature_range=(-1, 1)).fit_transform(sim0))
    runs = [x[:100], x[100:]]  # frames 0-99 and 120-399
    gaps = np.concatenate(
        [np.abs(r[1:] - r[:-1])[: len(r) - horizon].ravel() for r in runs]
    )
    still = errors[(errors["model"] == "no change") & (errors["step"] == 1)]
    assert still["mae"].item() == pytest.approx(gaps.mean(), rel=1e-5)


def test_inferred_graph_and_connectome(worms):
    res = ex.inferred_graph(worms, preset="tiny")
    names = list(KATO_SHARED_NEURONS)
    assert res.worm == "sim2" and res.unseen
    assert list(res.graph.index) == names and list(res.graph.columns) == names
    values = res.graph.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all() and (values < 1).all()
    conn = res.connectome
    assert list(conn.index) == names
    assert conn.to_numpy().max() == pytest.approx(1.0)
    np.testing.assert_allclose(conn.to_numpy(), conn.to_numpy().T)
    # AVA and AIB are synaptically connected (White et al. 1986).
    assert conn.loc["AVAL", "AIBL"] > 0 or conn.loc["AVAR", "AIBR"] > 0


def test_inferred_graph_of_a_single_worm_says_it_was_trained_on():
    one = make_worms(n_worms=1, n_frames=300, random_state=0)
    res = ex.inferred_graph(one, preset="tiny")
    assert res.worm == "sim0" and not res.unseen


def test_connectome_adjacency_warns_about_unknown_neurons():
    with pytest.warns(UserWarning, match="SIM7"):
        adj = ex.connectome_adjacency(["AVAL", "AVAR", "SIM7"])
    assert (adj.loc["SIM7"] == 0).all() and (adj["SIM7"] == 0).all()
    assert adj.loc[["AVAL", "AVAR"], ["AVAL", "AVAR"]].to_numpy().max() > 0


def test_numpy_input_with_groups(worms):
    X = worms.data.to_numpy()
    from_numpy = ex.forward_reverse(
        X, worms.target, groups=worms.groups, estimators=_svm(), preset="tiny"
    )
    from_frame = ex.forward_reverse(worms, estimators=_svm(), preset="tiny")
    assert from_numpy["test_worms"].tolist() == from_frame["test_worms"].tolist()
    np.testing.assert_allclose(from_numpy["accuracy"], from_frame["accuracy"])
    with pytest.raises(ValueError, match="labels but X has"):
        ex.forward_reverse(X, worms.target[:-1], groups=worms.groups)
    with pytest.raises(ValueError, match="2 channels"):
        ex.forward_reverse(X[:, :3], worms.target, groups=worms.groups)


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


def test_split_known_neurons_is_one_lookup_in_the_given_order():
    names = make_worms(n_worms=1, n_frames=10, n_neurons=302, random_state=0)
    known, missing = ex._split_known_neurons(names.neuron_names)
    assert known == list(KATO_SHARED_NEURONS)
    assert len(missing) == 287 and missing[0] == "N015"
    assert ex._split_known_neurons(["SIM7", "VB1", "AVAL"]) == (
        ["VB1", "AVAL"],
        ["SIM7"],
    )
    with pytest.raises(ValueError, match="duplicates"):
        ex._split_known_neurons(["VB01", "VB1"])


def test_majority_rows_are_the_training_majority_rate_of_every_test_fold(worms):
    from wormsk.datasets import map_states
    from wormsk.model_selection import LeaveWormsOut

    scores = ex.forward_reverse(worms, estimators=_svm(), preset="tiny")
    majority = scores[scores["model"] == ex.MAJORITY]
    svm = scores[scores["model"] == "SVM"]
    # One baseline row beside every model row, on the same split.
    cols = ["evaluation", "split", "train_worms", "test_worms", "n_test_frames"]
    pd.testing.assert_frame_equal(majority[cols].reset_index(drop=True),
                                  svm[cols].reset_index(drop=True))  # fmt: skip
    y = map_states(worms.target, "fwd_rev")
    keep = y != None  # noqa: E711
    X, y, groups = worms.data[keep], y[keep], worms.groups[keep]
    unseen = majority[majority["evaluation"] == "unseen"]
    for (train, test), acc in zip(
        LeaveWormsOut().split(X, y, groups=groups), unseen["accuracy"]
    ):
        labels, counts = np.unique(y[train], return_counts=True)
        assert acc == pytest.approx(np.mean(y[test] == labels[counts.argmax()]))
    # The four-state baseline: per combination and, in the cross-study test,
    # per test worm; none in the confusion counts.
    study2 = make_worms(n_worms=2, n_frames=300, random_state=7)
    four, confusion = ex.four_states_unseen(
        worms, test_data=study2, estimators=_svm(), preset="tiny",
        return_confusion=True,
    )  # fmt: skip
    base = four[four["model"] == ex.MAJORITY]
    assert len(base) == len(four[four["model"] == "SVM"]) == 4
    cross = base[base["evaluation"] == "cross-study"]
    y2 = map_states(study2.target, "four")
    for worm, acc in zip(cross["test_worms"], cross["accuracy"]):
        # Trained on all worms of the first study, where forward is the majority.
        assert acc == pytest.approx(np.mean(y2[study2.groups == worm] == "forward"))
    assert ex.MAJORITY not in set(confusion["model"])
    no_base = ex.seven_states_seen(worms, estimators=_svm(), preset="tiny",
                                   baseline=False)  # fmt: skip
    assert list(no_base["model"]) == ["SVM"]


def test_presets_keep_enough_repeats_and_the_full_run_short():
    quick, full = ex.PRESETS["quick"], ex.PRESETS["full"]
    # Every quick mean has a standard deviation over at least 4 values.
    assert quick.seen_max_folds >= 5 and quick.max_combinations >= 4
    assert quick.traj_max_splits >= 2
    # Full: the paper's protocol (10 folds, every combination and test worm)
    # with epochs at which held-out accuracy has levelled off.
    assert full.seen_n_splits == 10 and full.seen_max_folds is None
    assert full.max_combinations is None and full.traj_max_splits is None
    assert full.max_epochs == 20 and full.traj_max_epochs == 16
    assert full.traj_teacher_forcing_epochs < full.traj_max_epochs


def test_trajectory_fits_each_training_set_once(worms):
    fast = ex._preset("tiny", traj_max_epochs=1, traj_max_splits=None)
    calls = []
    errors = ex.trajectory(
        worms, estimators={"MLP": ex.default_regressors(["MLP"], preset=fast)["MLP"]},
        preset=fast, progress=lambda *a: calls.append(a), baseline=False,
    )  # fmt: skip
    # 3 splits x (all, 1 worm); the "1 worm" of splits 1 and 2 is sim0 both times.
    assert calls[-1][:2] == (5, 5)
    one = errors[(errors["training"] == "1 worm") & (errors["step"] == 1)]
    assert one["train_worms"].tolist() == ["sim1", "sim0", "sim0"]
    assert one["fit_time"].iloc[1] == one["fit_time"].iloc[2]
    assert one["mae"].iloc[1] != one["mae"].iloc[2]  # different test worms
