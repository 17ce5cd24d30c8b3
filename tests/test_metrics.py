import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import roc_auc_score

from wormsk.metrics import graph_similarity, make_trajectory_scorer, trajectory_error


def test_trajectory_error_hand_computed():
    # 2 rows, horizon 3, 2 features per frame; frame-major columns.
    Y_true = np.array([[0, 0, 1, 1, 2, 2], [1, 1, 1, 1, 1, 1]], dtype=float)
    Y_pred = np.array([[0, 1, 1, 3, 2, 2], [1, 1, -1, 1, 5, 1]], dtype=float)
    # step 1: |0|,|1|,|0|,|0| -> 0.25 ; step 2: 0,2,2,0 -> 1 ; step 3: 0,0,4,0 -> 1
    np.testing.assert_allclose(trajectory_error(Y_true, Y_pred, 2), [0.25, 1.0, 1.0])
    # squared: step 1: 1/4 ; step 2: (4+4)/4=2 ; step 3: 16/4=4
    np.testing.assert_allclose(
        trajectory_error(Y_true, Y_pred, 2, metric="mse"), [0.25, 2.0, 4.0]
    )


def test_trajectory_error_is_frame_major_not_feature_major():
    # The error sits in frame 2 only; a feature-major reading would spread it.
    Y_true = np.zeros((1, 6))
    Y_pred = np.array([[0, 0, 0, 3, 3, 3]], dtype=float)
    np.testing.assert_allclose(trajectory_error(Y_true, Y_pred, 3), [0.0, 3.0])


def test_trajectory_error_accepts_dataframes_and_leaves_input_alone():
    Y_true = pd.DataFrame(np.ones((3, 4)))
    Y_pred = np.full((3, 4), 3.0)
    before = Y_pred.copy()
    np.testing.assert_allclose(trajectory_error(Y_true, Y_pred, 4), [2.0])
    np.testing.assert_array_equal(Y_pred, before)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_features": 4}, "not a whole multiple of n_features=4"),
        ({"n_features": 3, "metric": "rmse"}, "metric must be one of"),
        ({"n_features": 0}, "n_features must be a positive integer"),
    ],
)
def test_trajectory_error_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        trajectory_error(np.zeros((2, 6)), np.zeros((2, 6)), **kwargs)


def test_trajectory_error_shape_mismatch_and_nan():
    with pytest.raises(ValueError, match="must match"):
        trajectory_error(np.zeros((2, 6)), np.zeros((3, 6)), 3)
    bad = np.zeros((2, 6))
    bad[1, 4] = np.nan
    with pytest.raises(ValueError, match="Y_pred holds NaN.*row 1, column 4"):
        trajectory_error(np.zeros((2, 6)), bad, 3)


class _ShiftForecaster(RegressorMixin, BaseEstimator):
    """Predicts every future frame as the current frame plus ``shift``."""

    def __init__(self, shift=0.0, horizon=2):
        self.shift = shift
        self.horizon = horizon

    def fit(self, X, Y):
        return self

    def predict(self, X):
        return np.tile(np.asarray(X, dtype=float) + self.shift, self.horizon)


def test_scorer_values_and_pickle():
    X = np.zeros((5, 3))
    Y = np.hstack([np.zeros((5, 3)), np.ones((5, 3))])  # step 1 true 0, step 2 true 1
    est = _ShiftForecaster(shift=0.5)
    assert make_trajectory_scorer("mae")(est, X, Y) == pytest.approx(-0.5)
    assert make_trajectory_scorer("mae", step=2)(est, X, Y) == pytest.approx(-0.5)
    assert make_trajectory_scorer("mse", step=1)(est, X, Y) == pytest.approx(-0.25)
    assert make_trajectory_scorer("mse", step=2)(
        _ShiftForecaster(shift=2.0), X, Y
    ) == pytest.approx(-1.0)
    scorer = pickle.loads(pickle.dumps(make_trajectory_scorer("mse", step=2)))
    assert scorer(est, X, Y) == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="only 2 steps"):
        make_trajectory_scorer(step=3)(est, X, Y)
    with pytest.raises(ValueError, match="step must be a positive integer"):
        make_trajectory_scorer(step=0)


def test_scorer_in_grid_search_prefers_the_better_forecaster():
    from sklearn.model_selection import GridSearchCV, KFold

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    Y = np.tile(X + 1.0, 2)
    search = GridSearchCV(
        _ShiftForecaster(),
        {"shift": [0.0, 1.0, 3.0]},
        scoring=make_trajectory_scorer("mae"),
        cv=KFold(2),
    ).fit(X, Y)
    assert search.best_params_ == {"shift": 1.0}
    assert search.best_score_ == pytest.approx(0.0)


# --- graph_similarity ---------------------------------------------------------
def _random_graph(n=25, p=0.2, seed=0):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, n)) < p).astype(float)
    np.fill_diagonal(A, 0.0)
    return A, rng


def test_graph_similarity_known_answers():
    A, rng = _random_graph()
    exact = graph_similarity(A * 0.8 + 0.1, A, n_shuffles=50, random_state=0)
    assert exact.loc["AUROC", "inferred"] == 1.0
    assert exact.loc["Spearman", "inferred"] == pytest.approx(1.0)
    # Label shuffles of a graph that carries the reference sit near chance.
    assert abs(exact.loc["AUROC", "shuffled_mean"] - 0.5) < 0.05
    assert abs(exact.loc["Spearman", "shuffled_mean"]) < 0.05
    assert exact.loc["AUROC", "shuffled_sd"] > 0
    assert exact.loc["AUROC", "p_value"] == pytest.approx(1 / 51)
    assert exact["n_pairs"].eq(25 * 24).all()
    inverted = graph_similarity(-A, A, n_shuffles=10, random_state=0)
    assert inverted.loc["AUROC", "inferred"] == 0.0
    assert inverted.loc["Spearman", "inferred"] == pytest.approx(-1.0)
    assert inverted.loc["AUROC", "p_value"] == 1.0
    # Unrelated weights score like their own shuffles.
    noise = graph_similarity(rng.random(A.shape), A, n_shuffles=100, random_state=0)
    row = noise.loc["AUROC"]
    assert abs(row["inferred"] - row["shuffled_mean"]) < 3 * row["shuffled_sd"]


def test_graph_similarity_hand_computed_and_ignores_self_loops():
    # Off-diagonal pairs: edges 0.9 and 0.5; non-edges 0.1, 0.1, 0.1, 0.5 (the
    # diagonal's 9s are ignored). 0.9 beats all 4, 0.5 beats 3 and ties 1:
    # AUROC = (4 + 3.5) / 8.
    A = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float)
    W = np.array([[9, 0.9, 0.1], [0.5, 9, 0.1], [0.5, 0.1, 9]])
    scores = graph_similarity(W, A, n_shuffles=5, random_state=0)
    assert scores.loc["AUROC", "inferred"] == pytest.approx(7.5 / 8)
    assert scores.loc["AUROC", "n_pairs"] == 6


def test_graph_similarity_aligns_labels_skips_nan_and_is_seeded():
    A, rng = _random_graph(n=8, p=0.4, seed=1)
    names = [f"N{i}" for i in range(8)]
    W = A + rng.normal(0, 0.5, A.shape)
    frame = pd.DataFrame(W, index=names, columns=names)
    reordered = pd.DataFrame(A, index=names, columns=names).iloc[::-1, ::-1]
    a = graph_similarity(frame, reordered, n_shuffles=30, random_state=3)
    b = graph_similarity(W, A, n_shuffles=30, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    holed = W.copy()
    holed[0, :] = holed[:, 0] = np.nan  # neuron 0 absent from the worm
    with_nan = graph_similarity(holed, A, n_shuffles=5, random_state=0)
    assert with_nan.loc["AUROC", "n_pairs"] == 7 * 6
    assert np.isfinite(with_nan.to_numpy()).all()
    assert np.isnan(holed[0]).all() and not np.isnan(W).any()  # inputs untouched


def test_graph_similarity_nan_free_results_unchanged():
    # Values computed before the NaN rule was rewritten: NaN-free input keeps them
    # to the last bit (same permutations, same pairs).
    rng = np.random.default_rng(7)
    A = (rng.random((10, 10)) < 0.3) * rng.integers(1, 5, (10, 10)).astype(float)
    np.fill_diagonal(A, 0.0)
    W = A + rng.normal(0, 1.0, A.shape)
    scores = graph_similarity(W, A, n_shuffles=40, random_state=1)
    expected = {
        "inferred": [0.9653145208700764, 0.7572927509351491],
        "shuffled_mean": [0.5028365667254555, 0.002827552451224305],
        "shuffled_sd": [0.0671424437029138, 0.10723854513247343],
        "p_value": [0.024390243902439025, 0.024390243902439025],
        "n_pairs": [90, 90],
    }
    for column, values in expected.items():
        assert scores[column].tolist() == values, column


def test_graph_similarity_absent_neurons_are_left_out_of_every_shuffle():
    # A neuron absent from the worm (NaN row and column) must be the same as a
    # graph without it: the shuffles permute the present neurons only, so the
    # null is scored on the very pairs the observed score is. Before, the NaN
    # row and column moved onto other neurons' reference pairs in each shuffle.
    A, rng = _random_graph(n=12, p=0.3, seed=2)
    W = A + rng.normal(0, 0.7, A.shape)
    absent = [3, 8]
    holed = W.copy()
    holed[absent, :] = np.nan
    holed[:, absent] = np.nan
    present = np.setdiff1d(np.arange(12), absent)
    got = graph_similarity(holed, A, n_shuffles=60, random_state=4)
    alone = graph_similarity(
        W[np.ix_(present, present)], A[np.ix_(present, present)],
        n_shuffles=60, random_state=4,
    )  # fmt: skip
    pd.testing.assert_frame_equal(got, alone)
    assert got["n_pairs"].eq(10 * 9).all()
    # A neuron the reference does not know (NaN row and column there) likewise.
    unknown = A.copy()
    unknown[absent, :] = np.nan
    unknown[:, absent] = np.nan
    pd.testing.assert_frame_equal(
        graph_similarity(W, unknown, n_shuffles=60, random_state=4), alone
    )


def _shuffles_by_hand(W, A, n_shuffles, seed):
    """AUROC and Spearman of every label shuffle of W, on A's known pairs only."""
    keep = ~np.eye(len(A), dtype=bool) & ~np.isnan(A)
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(n_shuffles):
        order = rng.permutation(len(W))
        values = W[np.ix_(order, order)][keep]
        out.append(
            [roc_auc_score(A[keep] > 0, values), spearmanr(values, A[keep]).statistic]
        )
    return np.array(out)


def test_graph_similarity_unknown_reference_pairs_stay_out_of_every_shuffle():
    A, rng = _random_graph(n=9, p=0.35, seed=5)
    W = A + rng.normal(0, 0.5, A.shape)
    ref = A.copy()
    ref[[0, 2, 6], [1, 5, 7]] = np.nan  # pairs whose synapses are unknown
    before = ref.copy()
    scores = graph_similarity(W, ref, n_shuffles=25, random_state=6)
    np.testing.assert_array_equal(ref, before)
    assert scores["n_pairs"].eq(9 * 8 - 3).all()
    null = _shuffles_by_hand(W, ref, 25, 6)
    np.testing.assert_allclose(scores["shuffled_mean"], null.mean(axis=0))
    np.testing.assert_allclose(scores["shuffled_sd"], null.std(axis=0, ddof=1))
    keep = ~np.eye(9, dtype=bool) & ~np.isnan(ref)
    assert scores.loc["AUROC", "inferred"] == pytest.approx(
        roc_auc_score(ref[keep] > 0, W[keep])
    )


@pytest.mark.parametrize(
    "weights, adjacency, match",
    [
        (np.full((3, 3), np.nan), np.eye(3)[::-1], "weights is NaN for every pair"),
        (np.ones((3, 3)), np.full((3, 3), np.nan), "adjacency is NaN for every pair"),
        (
            np.array([[0, 1, np.nan], [1, 0, np.nan], [np.nan, np.nan, 0]]),
            np.array([[0, np.nan, 1], [np.nan, 0, np.nan], [1, np.nan, 0]]),
            "fewer than 2 neurons",
        ),
        (
            np.array([[0, np.nan, 1], [1, 0, 1], [1, 1, 0]]),
            np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]]),
            r"weights is NaN at row 0, column 1 but not for the whole",
        ),
        (  # the only edges are those of a neuron absent from the worm
            np.array([[0, 1, np.nan], [1, 0, np.nan], [np.nan, np.nan, 0]]),
            np.array([[0, 0, 1], [0, 0, 1], [1, 1, 0]]),
            "no edge",
        ),
    ],
)
def test_graph_similarity_nan_that_leaves_nothing_to_score(weights, adjacency, match):
    with pytest.raises(ValueError, match=match):
        graph_similarity(weights, adjacency, n_shuffles=5)


@pytest.mark.parametrize(
    "weights, adjacency, match",
    [
        (np.ones((3, 2)), np.ones((3, 2)), "square"),
        (np.ones((3, 3)), np.ones((4, 4)), "same neurons"),
        (np.ones((3, 3)), np.zeros((3, 3)), "no edge"),
        (np.ones((3, 3)), np.ones((3, 3)), "no non-edge"),
        (np.full((3, 3), np.inf), np.eye(3)[::-1], "infinity"),
    ],
)
def test_graph_similarity_rejects_bad_input(weights, adjacency, match):
    with pytest.raises(ValueError, match=match):
        graph_similarity(weights, adjacency)


def test_graph_similarity_rejects_bad_shuffles_and_labels():
    A, _ = _random_graph(n=4, p=0.5)
    with pytest.raises(ValueError, match="n_shuffles"):
        graph_similarity(A, A, n_shuffles=0)
    names = list("abcd")
    with pytest.raises(ValueError, match="lacks"):
        graph_similarity(
            pd.DataFrame(A, index=names, columns=names),
            pd.DataFrame(A, index=list("abcx"), columns=list("abcx")),
        )
