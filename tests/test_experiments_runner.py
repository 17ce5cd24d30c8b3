import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from wormsk import experiments as ex
from wormsk.datasets import make_worms
from wormsk.experiments._runner import HeldOut, Split, accuracy, run, tidy


@pytest.fixture(scope="module")
def table():
    X, y = make_worms(n_worms=3, n_frames=40, random_state=0, return_X_y=True)
    return X, np.asarray(y, dtype=object)


def _split(X, y, train, test, key=None, **meta):
    tr = np.isin(X.index.get_level_values("worm"), train)
    te = np.isin(X.index.get_level_values("worm"), test)
    return Split(X[tr], y[tr], (HeldOut(X[te], y[te]),), meta, key=key)


def test_runner_orders_outcomes_and_shares_fits_by_key(table):
    X, y = table
    models = {"a": DummyClassifier(strategy="most_frequent"),
              "b": DummyClassifier(strategy="prior")}  # fmt: skip
    splits = [
        _split(X, y, ["sim0"], ["sim1"], key="sim0", split=0),
        _split(X, y, ["sim0"], ["sim2"], key="sim0", split=1),
        _split(X, y, ["sim1", "sim2"], ["sim0"], split=2),
    ]
    calls = []
    outcomes = run(models, splits, progress=lambda *a: calls.append(a), label="t")
    # Two fits per model: the splits keyed "sim0" share one.
    assert calls == [(0, 4, "t"), (1, 4, "t"), (2, 4, "t"), (3, 4, "t"), (4, 4, "t")]
    assert [(o.model, o.split.meta["split"]) for o in outcomes] == [
        ("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2),
    ]  # fmt: skip
    assert outcomes[0].fit_time == outcomes[1].fit_time
    by_split = run(models, splits, order="split")
    assert [(o.model, o.split.meta["split"]) for o in by_split][:3] == [
        ("a", 0), ("b", 0), ("a", 1),
    ]  # fmt: skip
    scores = tidy(outcomes, accuracy)
    assert list(scores.columns) == [
        "model", "split", "test_worms", "n_test_frames", "accuracy", "fit_time",
    ]  # fmt: skip
    # The majority class of sim0's frames, scored on each test worm.
    labels, counts = np.unique(y[:40], return_counts=True)
    top = labels[counts.argmax()]
    sim1 = y[40:80]
    assert scores["accuracy"].iloc[0] == pytest.approx(np.mean(sim1 == top))
    assert scores["test_worms"].tolist()[:3] == ["sim1", "sim2", "sim0"]


def test_runner_scores_only_the_scored_rows(table):
    X, y = table
    rows = np.arange(0, 80, 2)
    test = HeldOut(X.iloc[:80], y[rows], rows=rows, meta={"m": 1})
    split = Split(X.iloc[80:], y[80:], (test,), {"split": 0})
    (outcome,) = run({"d": DummyClassifier(strategy="most_frequent")}, [split])
    scores = tidy([outcome], accuracy)
    labels, counts = np.unique(y[80:], return_counts=True)
    top = labels[counts.argmax()]
    assert scores["test_worms"].tolist() == ["sim0,sim1"]
    assert scores["n_test_frames"].tolist() == [40]
    assert scores["m"].tolist() == [1]
    np.testing.assert_allclose(scores["accuracy"], [np.mean(y[rows] == top)])


def test_summarize_groups_in_input_order():
    scores = pd.DataFrame({"model": ["b", "a", "b"], "accuracy": [0.5, 1.0, 0.7]})
    out = ex.summarize(scores, ["model"])
    assert out["model"].tolist() == ["b", "a"]
    assert out["mean"].tolist() == pytest.approx([0.6, 1.0])
    assert out["n"].tolist() == [2, 1]
