"""Metrics that scikit-learn lacks: per-step forecast error, graph similarity.

A trajectory target ``Y`` holds the next ``horizon`` frames of a recording for every
row of ``X``, flattened frame-major: the first ``n_features`` columns are frame
``t + 1``, the next ``n_features`` frame ``t + 2``, and so on (DESIGN.md). The error at
step ``k`` averages over all rows and all columns of frame ``t + k``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["trajectory_error", "make_trajectory_scorer", "graph_similarity"]

_METRICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mae": np.abs,
    "mse": np.square,
}


def _as_2d_float(Y, name: str) -> np.ndarray:
    arr = np.asarray(Y, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D of shape (n_samples, horizon * n_features); got "
            f"shape {arr.shape}."
        )
    return arr


def _check_same_shape(first, second, why: str) -> None:
    """Refuse two ``(name, array)`` pairs of different shapes, naming both."""
    (name_1, arr_1), (name_2, arr_2) = first, second
    if arr_1.shape != arr_2.shape:
        raise ValueError(
            f"{name_1} has shape {arr_1.shape} but {name_2} has shape "
            f"{arr_2.shape}; {why}"
        )


def trajectory_error(
    Y_true, Y_pred, n_features: int, metric: str = "mae"
) -> np.ndarray:
    """Error of a multi-step forecast at every prediction step.

    Parameters
    ----------
    Y_true, Y_pred : array-like of shape (n_samples, horizon * n_features)
        True and predicted future frames, flattened frame-major as built by
        :func:`wormsk.preprocessing.make_trajectory_targets`.
    n_features : int
        Columns per frame (neurons times channels; ``X.shape[1]``).
    metric : {"mae", "mse"}, default="mae"
        Mean absolute error (the authors' code) or mean squared error.

    Returns
    -------
    errors : ndarray of shape (horizon,)
        ``errors[k]`` is the error of step ``k + 1``, averaged over rows and columns.

    Raises
    ------
    ValueError
        If the shapes differ, the width is not a multiple of ``n_features``, the
        metric is unknown, or either input holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.metrics import trajectory_error
    >>> Y_true = np.zeros((2, 4))            # 2 rows, 2 steps of 2 features
    >>> Y_pred = np.array([[1, 1, 2, 2], [1, -1, 0, 4]])
    >>> trajectory_error(Y_true, Y_pred, n_features=2)
    array([1., 2.])
    >>> trajectory_error(Y_true, Y_pred, n_features=2, metric="mse")
    array([1., 6.])
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}; got {metric!r}.")
    integral = isinstance(n_features, (int, np.integer)) and not isinstance(
        n_features, bool
    )
    if not integral or n_features < 1:
        raise ValueError(f"n_features must be a positive integer; got {n_features!r}.")
    y_true = _as_2d_float(Y_true, "Y_true")
    y_pred = _as_2d_float(Y_pred, "Y_pred")
    _check_same_shape(("Y_true", y_true), ("Y_pred", y_pred), "they must match.")
    n_samples, width = y_true.shape
    if n_samples == 0:
        raise ValueError("Y_true is empty; need at least one row to score.")
    if width % n_features:
        raise ValueError(
            f"Y has {width} columns, which is not a whole multiple of "
            f"n_features={n_features}; Y must hold horizon frames of n_features "
            "columns each, frame-major."
        )
    for name, arr in (("Y_true", y_true), ("Y_pred", y_pred)):
        if not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0]
            raise ValueError(
                f"{name} holds NaN or infinity (first at row {bad[0]}, column "
                f"{bad[1]}); an error over it would be meaningless."
            )
    horizon = width // n_features
    diff = (y_pred - y_true).reshape(n_samples, horizon, n_features)
    return _METRICS[metric](diff).mean(axis=(0, 2))


class _TrajectoryScorer:
    """Scorer ``(estimator, X, Y) -> -error``; a class so that it pickles."""

    def __init__(self, metric: str, step: int | None):
        self.metric = metric
        self.step = step

    def __call__(self, estimator, X, Y, **predict_params) -> float:
        errors = trajectory_error(
            Y, estimator.predict(X, **predict_params), np.shape(X)[1], self.metric
        )
        if self.step is None:
            return -float(errors.mean())
        if self.step > errors.shape[0]:
            raise ValueError(
                f"step={self.step} but the forecast has only {errors.shape[0]} "
                f"steps; choose a step in 1..{errors.shape[0]}."
            )
        return -float(errors[self.step - 1])

    def __repr__(self) -> str:
        return f"make_trajectory_scorer(metric={self.metric!r}, step={self.step!r})"


def make_trajectory_scorer(metric: str = "mae", step: int | None = None):
    """Scorer for ``GridSearchCV``/``cross_val_score`` on trajectory forecasts.

    The number of columns per frame is taken from ``X`` at scoring time, so the
    scorer works for any recording width. As for every sklearn error scorer the
    returned value is the negated error (greater is better).

    Parameters
    ----------
    metric : {"mae", "mse"}, default="mae"
        Error measured at each step (see :func:`trajectory_error`).
    step : int, optional
        Score only this prediction step (1-based). By default the mean over all steps.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, Y) -> float``.

    Examples
    --------
    >>> from wormsk.metrics import make_trajectory_scorer
    >>> scorer = make_trajectory_scorer("mae", step=16)
    >>> scorer
    make_trajectory_scorer(metric='mae', step=16)
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {sorted(_METRICS)}; got {metric!r}.")
    if step is not None and (
        isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 1
    ):
        raise ValueError(f"step must be a positive integer or None; got {step!r}.")
    return _TrajectoryScorer(metric, None if step is None else int(step))


def _square(matrix, name: str) -> np.ndarray:
    arr = np.asarray(matrix, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 2:
        raise ValueError(
            f"{name} must be a square matrix of at least 2 x 2 neurons; got shape "
            f"{arr.shape}."
        )
    if np.isinf(arr).any():
        bad = np.argwhere(np.isinf(arr))[0]
        raise ValueError(
            f"{name} holds infinity (first at row {bad[0]}, column {bad[1]}); give "
            "finite weights."
        )
    return arr


def _present_neurons(w, a, off) -> np.ndarray:
    """Mask of the neurons not NaN in all their pairs in ``w`` or in ``a``."""
    n = w.shape[0]
    present = np.ones(n, dtype=bool)
    for name, matrix in (("weights", w), ("adjacency", a)):
        unknown = np.isnan(matrix) & off
        if unknown[off].all():
            raise ValueError(
                f"{name} is NaN for every pair of distinct neurons; there is "
                "nothing to compare."
            )
        present &= unknown.sum(axis=0) + unknown.sum(axis=1) < 2 * (n - 1)
    if present.sum() < 2:
        raise ValueError(
            f"only {present.sum()} neuron(s) have a weight and a reference for some "
            "pair (a neuron NaN in all its pairs in weights or adjacency is left "
            "out); fewer than 2 neurons leave no pair to compare."
        )
    return present


def graph_similarity(
    weights,
    adjacency,
    *,
    n_shuffles: int = 200,
    random_state=None,
):
    """How well an inferred graph matches a reference graph, against shuffled graphs.

    Two scores over the off-diagonal pairs (i, j) (self-loops are left out):

    - AUROC: how well the inferred weight ranks the pairs that are edges of
      ``adjacency`` (weight > 0) above those that are not (0.5: no better than
      chance, 1: every edge above every non-edge).
    - Spearman: rank correlation of the inferred weight with the reference weight
      (e.g. synapse counts).

    The same scores are computed for ``n_shuffles`` label-shuffled copies of
    ``weights``: the neurons are permuted (rows and columns together), which keeps
    every property of the inferred graph (its weight distribution, each neuron's
    in- and out-strength) but breaks which neuron is which. A score far above the
    shuffled ones means the inferred graph carries the reference's identity
    information; one within them means it does not.

    **Missing values.** NaN marks what is not known, and the observed score and
    every shuffle are computed on one and the same set of pairs:

    - a neuron NaN in all its pairs (its row and column, diagonal aside) of
      ``weights`` (absent from the worm) or of ``adjacency`` (not in the
      reference) is left out, and the shuffles permute the other neurons among
      themselves: the result is that of both graphs without it;
    - a NaN pair of ``adjacency`` (an unknown synapse count) is left out; the
      shuffles permute ``weights`` only, so it stays out of every shuffle;
    - a NaN pair of ``weights`` whose neurons are otherwise present is refused
      (a shuffle would move it onto other reference pairs).

    ``n_pairs`` counts the pairs scored.

    Parameters
    ----------
    weights : array-like or DataFrame of shape (n_neurons, n_neurons)
        Inferred edge weights; ``weights[i, j]`` is the edge from neuron j to i.
        NaN rows and columns mark neurons absent from the worm (see Missing
        values above).
    adjacency : array-like or DataFrame of shape (n_neurons, n_neurons)
        Reference graph (e.g. :func:`wormsk.datasets.load_connectome`). When both
        are DataFrames, ``adjacency`` is aligned to ``weights``' neuron labels
        (every label of ``weights`` must be in it). NaN marks an unknown pair
        or, for a whole row and column, a neuron the reference lacks.
    n_shuffles : int, default=200
        Number of label-shuffled graphs.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.

    Returns
    -------
    scores : DataFrame
        Indexed by score (``"AUROC"``, ``"Spearman"``), with columns ``inferred``
        (the score of ``weights``), ``shuffled_mean`` and ``shuffled_sd`` (over
        the shuffles), ``p_value`` (share of shuffles scoring at least as high,
        ``(count + 1) / (n_shuffles + 1)``) and ``n_pairs`` (pairs scored, in
        the observed graph and in every shuffle).

    Raises
    ------
    ValueError
        If the matrices are not square, differ in shape or labels, hold
        infinity, either is NaN for every pair, fewer than 2 neurons are known
        on both sides, ``weights`` holds a NaN pair of two present neurons, or
        the reference has no edge or no non-edge among the pairs scored.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.metrics import graph_similarity
    >>> A = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    >>> scores = graph_similarity(A * 0.9 + 0.05, A, n_shuffles=20, random_state=0)
    >>> scores["inferred"].round(3).tolist()
    [1.0, 1.0]

    A neuron absent from the worm is left out of the observed score and of
    every shuffle:

    >>> W = np.array([[0, 0.9, np.nan], [0.8, 0, np.nan], [np.nan] * 3])
    >>> A = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]])
    >>> int(graph_similarity(W, A, n_shuffles=5, random_state=0)["n_pairs"].iloc[0])
    2
    """
    import pandas as pd
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score
    from sklearn.utils import check_random_state

    from wormsk._utils import check_positive_int

    n_shuffles = check_positive_int(n_shuffles, "n_shuffles")
    if isinstance(weights, pd.DataFrame) and isinstance(adjacency, pd.DataFrame):
        missing = [n for n in weights.index if n not in adjacency.index]
        if missing or list(weights.index) != list(weights.columns):
            raise ValueError(
                "weights and adjacency must be labelled by the same neurons (rows "
                f"and columns in one order); adjacency lacks {missing[:5]}."
            )
        adjacency = adjacency.loc[weights.index, weights.index]
    w = _square(weights, "weights")
    a = _square(adjacency, "adjacency")
    _check_same_shape(
        ("weights", w), ("adjacency", a), "they must describe the same neurons."
    )
    off = ~np.eye(w.shape[0], dtype=bool)
    present = _present_neurons(w, a, off)
    both = off & present[:, None] & present[None, :]
    if np.isnan(w[both]).any():
        row, col = np.argwhere(np.isnan(w) & both)[0]
        raise ValueError(
            f"weights is NaN at row {row}, column {col} but not for the whole "
            "neuron; a label shuffle would move that pair onto other reference "
            "pairs. Give NaN for a whole row and column (a neuron absent from the "
            "worm) or a weight for the pair."
        )
    if not present.all():
        # Out of the comparison and of the shuffles alike: the shuffles permute
        # the remaining neurons among themselves, so every shuffle is scored on
        # the very pairs the observed score is.
        w, a, off = (m[np.ix_(present, present)] for m in (w, a, off))
    known = ~np.isnan(a[off])
    reference = a[off][known]
    edges = reference > 0
    if edges.all() or not edges.any():
        raise ValueError(
            "adjacency has "
            + ("no non-edge" if edges.all() else "no edge")
            + " among the pairs of distinct neurons known on both sides; AUROC "
            "needs both."
        )

    def scores(matrix):
        values = matrix[off][known]
        return roc_auc_score(edges, values), spearmanr(values, reference).statistic

    observed = scores(w)
    rng = check_random_state(random_state)
    shuffled = np.empty((n_shuffles, 2))
    for k in range(n_shuffles):
        order = rng.permutation(w.shape[0])
        shuffled[k] = scores(w[np.ix_(order, order)])
    return pd.DataFrame(
        {
            "inferred": observed,
            "shuffled_mean": shuffled.mean(axis=0),
            "shuffled_sd": shuffled.std(axis=0, ddof=1) if n_shuffles > 1 else np.nan,
            "p_value": ((shuffled >= np.asarray(observed)).sum(axis=0) + 1)
            / (n_shuffles + 1),
            "n_pairs": int(known.sum()),
        },
        index=pd.Index(["AUROC", "Spearman"], name="score"),
    )
