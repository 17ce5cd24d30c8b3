import numpy as np
import pandas as pd
import pytest

from wormsk import experiments as ex
from wormsk.datasets import make_worms
from wormsk.experiments._missing import losses, without


@pytest.fixture(scope="module")
def worms():
    return make_worms(n_worms=3, n_frames=400, random_state=0)


def _svm(preset="tiny"):
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
        part, estimators=_svm(), preset="tiny", fractions=[0.5], baseline=False
    ).scores
    assert scores["n_missing"].tolist() == [6, 6]
    for worm, names in zip(scores["test_worms"], scores["missing"]):
        assert not set(names.split(",")) & set(part.absent[worm])
    assert np.isfinite(scores["accuracy"]).all()
    with pytest.raises(ValueError, match="fractions must be a non-empty list"):
        ex.missing_neurons(worms, estimators=_svm(), fractions=[1.0])
    with pytest.raises(ValueError, match="fractions must be numbers"):
        ex.missing_neurons(worms, estimators=_svm(), fractions=["a"])
    one = make_worms(n_worms=1, n_frames=100, random_state=0)
    with pytest.raises(ValueError, match="at least 2 worms"):
        ex.missing_neurons(one, estimators=_svm())
