import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from wormsk import experiments as ex
from wormsk.datasets import KATO_STATES, make_worms, map_states
from wormsk.experiments._data import losses, without
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import MLPClassifier
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
    result = ex.forward_reverse(
        worms, preset="tiny", progress=lambda *a: calls.append(a)
    )
    assert result.preset is ex.PRESETS["tiny"]
    scores = result.scores
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
    preset = ex.get_preset("tiny", seen_n_splits=10, seen_max_folds=3)
    scores = ex.forward_reverse(worms, estimators=_svm(), preset=preset).scores
    seen = scores[(scores["evaluation"] == "seen") & (scores["model"] == "SVM")]
    assert len(seen) == 3
    assert seen["accuracy"].min() > 0.9
    assert (seen["test_worms"] == "sim0,sim1,sim2").all()


def test_experiments_are_deterministic_and_parallel_safe(worms):
    mlp = ex.default_classifiers(["MLP"], preset="tiny", random_state=3)
    kw = dict(estimators=mlp, preset="tiny", random_state=3)
    one = ex.seven_states_seen(worms, **kw).scores.drop(columns="fit_time")
    two = ex.seven_states_seen(worms, n_jobs=2, **kw).scores.drop(columns="fit_time")
    pd.testing.assert_frame_equal(one, two)
    assert list(one["model"]) == ["MLP", ex.MAJORITY]
    assert (one["evaluation"] == "seen").all()
    # The default models of the 7-state experiment, and the baseline.
    assert list(ex.seven_states_seen(worms, preset="tiny").scores["model"]) == [
        "MLP", "GNN", ex.MAJORITY,
    ]  # fmt: skip


def test_seven_states_needs_kato_labels(worms):
    with pytest.raises(ValueError, match="needs Kato state labels"):
        ex.seven_states_seen(worms.data, np.full(len(worms.target), "forward"))


def test_seven_states_on_an_unseen_worm_beat_its_majority_rate():
    # Measured (accuracy vs majority rate, seeds 0-2): 0.83/0.65, 0.90/0.56,
    # 0.83/0.68; balanced accuracy 0.72-0.79. At variability=1 a 7-state decoder
    # trained on 3 simulated worms is only near the majority rate on a fourth.
    worms = make_worms(n_worms=4, n_frames=1000, variability=0.5, random_state=0)
    X, y = worms.data, worms.target
    train, test = next(LeaveWormsOut().split(X, y, groups=worms.groups))
    assert list(pd.unique(worms.groups[test])) == ["sim0"]
    assert set(y[train]) == set(y[test]) == set(KATO_STATES)
    model = make_pipeline(PerWormScaler(), MLPClassifier(max_epochs=20, random_state=0))
    predicted = model.fit(X.iloc[train], y[train]).predict(X.iloc[test])
    majority_rate = pd.Series(y[test]).value_counts(normalize=True).iloc[0]
    assert np.mean(predicted == y[test]) > majority_rate + 0.1
    # Not only forward and reverse: the rarer states are decoded too.
    assert balanced_accuracy_score(y[test], predicted) > 0.5


def test_four_states_unseen_enlargement_confusion_and_cross_study(worms):
    study2 = make_worms(n_worms=2, n_frames=300, random_state=7)
    result = ex.four_states_unseen(
        worms, test_data=study2, estimators=_svm(), preset="tiny"
    )
    scores, confusion = result.scores, result.confusion
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
        worms, estimators=_svm(), preset=ex.get_preset("tiny", max_combinations=None),
        baseline=False,
    ).scores  # fmt: skip
    assert list(full["n_train_worms"]) == [1, 1, 1, 2, 2, 2]
    assert len(set(full["train_worms"])) == 6


def test_cross_study_frames_of_untrained_states_are_counted_and_said(worms):
    # The training study lacks dorsal turns; the test study's sim1 has 22 frames.
    y_train = np.where(worms.target == "dt", "nostate", worms.target)
    study2 = make_worms(n_worms=2, n_frames=300, random_state=7)
    assert np.count_nonzero(study2.target[study2.groups == "sim1"] == "dt") == 22
    with pytest.warns(UserWarning) as caught:
        result = ex.four_states_unseen(
            worms.data, y_train, test_data=study2, estimators=_svm(),
            preset="tiny", train_sizes=[2],
        )  # fmt: skip
    said = [str(w.message) for w in caught if "cross-study test" in str(w.message)]
    assert len(said) == 1
    assert said[0].startswith("22 frames of test_data (dorsal_turn: 22) were left out")
    assert "never occur in the training labels" in said[0]
    assert "label them 'nostate'" in said[0]
    scores = result.scores
    cross = scores[scores["evaluation"] == "cross-study"]
    assert cross["n_excluded_frames"].tolist() == [0, 22, 0, 22]  # SVM, majority
    assert cross["n_test_frames"].tolist() == [300, 278, 300, 278]
    assert scores["n_excluded_frames"].dtype == np.int64
    confusion = result.confusion
    assert "dorsal_turn" not in set(
        confusion.loc[confusion["evaluation"] == "cross-study", "true"]
    )
    # The model sees sim1 whole (scaled by all of its frames); the 22 frames are
    # only not scored.
    y4 = map_states(y_train, "four")
    train = pd.notna(y4)
    svm = _svm()["SVM"].fit(worms.data[train], y4[train].astype(str))
    sim1 = study2.groups == "sim1"
    truth = map_states(study2.target[sim1], "four")
    scored = truth != "dorsal_turn"
    expected = np.mean(svm.predict(study2.data[sim1])[scored] == truth[scored])
    got = cross.loc[(cross["model"] == "SVM") & (cross["test_worms"] == "sim1")]
    assert got["accuracy"].item() == pytest.approx(expected)

    # A test worm with no frame of a trained state has no row, and that is said.
    only_dt = np.where(study2.groups == "sim1", "dt", study2.target)
    with pytest.warns(UserWarning, match="300 frames .* Worm\\(s\\) sim1 had no frame"):
        result = ex.four_states_unseen(
            worms.data, y_train, test_data=(study2.data, only_dt),
            estimators=_svm(), preset="tiny", train_sizes=[2], baseline=False,
        )  # fmt: skip
    scores = result.scores
    cross = scores[scores["evaluation"] == "cross-study"]
    assert cross[["test_worms", "n_excluded_frames"]].values.tolist() == [["sim0", 0]]
    with pytest.raises(ValueError, match="No frame of test_data has a state"):
        ex.four_states_unseen(
            worms.data, y_train, test_data=(study2.data, np.full(600, "dt")),
            estimators=_svm(), preset="tiny", train_sizes=[2],
        )  # fmt: skip


def test_cross_study_without_untrained_states_warns_nothing(worms):
    study2 = make_worms(n_worms=2, n_frames=300, random_state=7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = ex.four_states_unseen(
            worms, test_data=study2, estimators=_svm(), preset="tiny",
            train_sizes=[2],
        ).scores  # fmt: skip
    assert not [w for w in caught if "cross-study" in str(w.message)]
    assert scores["n_excluded_frames"].tolist() == [0] * len(scores)
    assert scores["n_excluded_frames"].dtype == np.int64
    cross = scores[scores["evaluation"] == "cross-study"]
    assert cross["n_test_frames"].tolist() == [300, 300, 300, 300]


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


def test_numpy_input_with_groups(worms):
    X = worms.data.to_numpy()
    from_numpy = ex.forward_reverse(
        X, worms.target, groups=worms.groups, estimators=_svm(), preset="tiny"
    ).scores
    from_frame = ex.forward_reverse(worms, estimators=_svm(), preset="tiny").scores
    assert from_numpy["test_worms"].tolist() == from_frame["test_worms"].tolist()
    np.testing.assert_allclose(from_numpy["accuracy"], from_frame["accuracy"])
    with pytest.raises(ValueError, match="labels but X has"):
        ex.forward_reverse(X, worms.target[:-1], groups=worms.groups)
    with pytest.raises(ValueError, match="2 channels"):
        ex.forward_reverse(X[:, :3], worms.target, groups=worms.groups)


def test_majority_rows_are_the_training_majority_rate_of_every_test_fold(worms):
    from wormsk.datasets import map_states
    from wormsk.model_selection import LeaveWormsOut

    scores = ex.forward_reverse(worms, estimators=_svm(), preset="tiny").scores
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
    result = ex.four_states_unseen(
        worms, test_data=study2, estimators=_svm(), preset="tiny"
    )
    four, confusion = result.scores, result.confusion
    base = four[four["model"] == ex.MAJORITY]
    assert len(base) == len(four[four["model"] == "SVM"]) == 4
    cross = base[base["evaluation"] == "cross-study"]
    y2 = map_states(study2.target, "four")
    for worm, acc in zip(cross["test_worms"], cross["accuracy"]):
        # Trained on all worms of the first study, where forward is the majority.
        assert acc == pytest.approx(np.mean(y2[study2.groups == worm] == "forward"))
    assert ex.MAJORITY not in set(confusion["model"])
    no_base = ex.seven_states_seen(worms, estimators=_svm(), preset="tiny",
                                   baseline=False).scores  # fmt: skip
    assert list(no_base["model"]) == ["SVM"]


# missing_neurons


def _svm_imputer(preset="tiny"):
    return ex.default_classifiers(["SVM+imputer"], preset=preset)


def test_missing_neurons_layout_default_models_and_one_fit_per_split(worms):
    calls = []
    result = ex.missing_neurons(
        worms, preset="tiny", progress=lambda *a: calls.append(a)
    )
    scores = result.scores
    assert list(scores.columns) == [
        "model", "evaluation", "split", "n_train_worms", "train_worms", "test_worms",
        "fraction", "n_missing", "missing", "n_test_frames", "accuracy", "fit_time",
    ]  # fmt: skip
    models = ["GNN", "MLP-sum", "SVM+imputer", ex.MAJORITY]
    assert list(pd.unique(scores["model"])) == models
    # tiny: 2 held-out worms x 3 fractions per model; 15 neurons, 0/3/6 lost.
    assert len(scores) == 4 * 2 * 3
    assert scores["fraction"].tolist()[:3] == [0.0, 0.2, 0.4]
    assert scores["n_missing"].tolist()[:3] == [0, 3, 6]
    assert scores["missing"].str.split(",").map(len).tolist()[1:3] == [3, 6]
    assert set(scores["test_worms"]) == {"sim0", "sim1"}
    # One fit per model and split serves every fraction.
    assert calls[-1] == (6, 6, "missing neurons, unseen worms")
    per_fit = scores.groupby(["model", "split"])["fit_time"].nunique()
    assert (per_fit == 1).all()
    # The majority baseline ignores the neurons; the models do not.
    base = scores[scores["model"] == ex.MAJORITY].groupby("split")["accuracy"]
    assert (base.nunique() == 1).all()
    assert scores["accuracy"].between(0, 1).all()


def test_no_missing_neuron_is_the_ordinary_unseen_test_of_the_same_fits(worms):
    models = ex.default_classifiers(["SVM+imputer", "MLP-sum"], preset="tiny")
    missing = ex.missing_neurons(worms, estimators=models, preset="tiny").scores
    unseen = ex.forward_reverse(worms, estimators=models, preset="tiny").scores
    unseen = unseen[unseen["evaluation"] == "unseen"]
    zero = missing[missing["fraction"] == 0.0]
    cols = ["model", "split", "train_worms", "test_worms", "n_test_frames", "accuracy"]
    pd.testing.assert_frame_equal(
        zero[cols].reset_index(drop=True),
        unseen[unseen["split"] < 2][cols].reset_index(drop=True),
    )
    # Losing 40% of the neurons costs the SVM accuracy on simulated worms.
    svm = missing[missing["model"] == "SVM+imputer"].groupby("fraction")["accuracy"]
    assert svm.mean()[0.4] < svm.mean()[0.0]


def test_lost_neurons_follow_the_seed_nested_and_only_identified_ones():
    part = make_worms(n_worms=3, n_frames=60, random_state=1, identified=0.8)
    X = part.data
    a = losses(X, [0.0, 0.25, 0.5], random_state=3)
    assert a == losses(X, [0.0, 0.25, 0.5], random_state=3)
    assert a != losses(X, [0.0, 0.25, 0.5], random_state=4)
    for worm, by_fraction in a.items():
        identified = set(part.neuron_names) - set(part.absent[worm])
        assert len(identified) == 12
        assert by_fraction[0.0] == []
        assert len(by_fraction[0.25]) == 3 and len(by_fraction[0.5]) == 6
        # Nested: the larger share loses the smaller share's neurons and more.
        assert by_fraction[0.5][:3] == by_fraction[0.25]
        assert set(by_fraction[0.5]) <= identified
    # The lost neurons are NaN in every frame of their worm only; X untouched.
    before = X.copy()
    lost = {"sim1": a["sim1"][0.5]}
    out = without(X, lost)
    pd.testing.assert_frame_equal(X, before)
    cols = [f"{n}_{c}" for n in lost["sim1"] for c in ("trace", "deriv")]
    assert out.loc["sim1", cols].isna().all().all()
    pd.testing.assert_frame_equal(out.loc[["sim0", "sim2"]], X.loc[["sim0", "sim2"]])
    assert without(X, {"sim1": []}) is X


# A neuron absent from both training worms has no mean to impute: sklearn's
# imputer drops it (and says so), which is what the SVM+imputer model does.
@pytest.mark.filterwarnings("ignore:Skipping features without any observed values")
def test_missing_neurons_on_partially_identified_worms_and_bad_arguments(worms):
    part = make_worms(n_worms=3, n_frames=300, random_state=2, identified=0.8)
    scores = ex.missing_neurons(
        part, estimators=_svm_imputer(), preset="tiny", fractions=[0.5], baseline=False
    ).scores
    assert scores["n_missing"].tolist() == [6, 6]
    for worm, names in zip(scores["test_worms"], scores["missing"]):
        assert not set(names.split(",")) & set(part.absent[worm])
    assert np.isfinite(scores["accuracy"]).all()
    with pytest.raises(ValueError, match="fractions must be a non-empty list"):
        ex.missing_neurons(worms, estimators=_svm_imputer(), fractions=[1.0])
    with pytest.raises(ValueError, match="fractions must be numbers"):
        ex.missing_neurons(worms, estimators=_svm_imputer(), fractions=["a"])
    one = make_worms(n_worms=1, n_frames=100, random_state=0)
    with pytest.raises(ValueError, match="at least 2 worms"):
        ex.missing_neurons(one, estimators=_svm_imputer())


def test_a_worm_with_no_usable_label_is_left_out_with_a_warning(worms):
    # sim2 is all nostate: no frame for forward/reverse, so it cannot be tested
    # or trained on, and the experiment says so instead of losing it quietly.
    y = np.where(worms.groups == "sim2", "nostate", worms.target)
    with pytest.warns(UserWarning, match=r"Worm\(s\) \['sim2'\] have no frame"):
        scores = ex.forward_reverse(
            worms.data, y, estimators=_svm(), preset="tiny", baseline=False
        ).scores
    named = ",".join(scores["test_worms"]) + "," + ",".join(scores["train_worms"])
    assert set(named.split(",")) == {"sim0", "sim1"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ex.forward_reverse(worms, estimators=_svm(), preset="tiny", baseline=False)
