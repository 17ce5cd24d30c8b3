"""The one evaluation runner of the experiments, and its tidy tables.

Every experiment describes its evaluations as :class:`Split` values (a training
set and the test sets to predict with the model fitted on it), hands them to
:func:`run` with its estimators, and turns the outcomes into a tidy frame with
:func:`tidy` and a scorer (one or more rows per outcome). :func:`evaluate` does
both. Fits run in parallel (joblib), largest training sets first; predictions
are made in the worker, by the experiment's ``predict`` function, so that a
forecaster's large predictions never travel back, only their errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from wormsk._utils import WORM_LEVEL

__all__ = ["summarize"]

#: ``progress(done, total, label)``: called once with ``done=0`` before the first
#: fit of an experiment and again after each fit completes.
ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class HeldOut:
    """Rows a fitted model predicts, and the truth of those it is scored on.

    ``X`` is what the model sees (e.g. the test worms' whole recordings, so that
    per-worm scaling and batch statistics come from the whole worm); ``rows``
    are the positions in ``X`` whose predictions are scored (None: all), ``y``
    their truth. ``meta`` holds columns of the test's rows (e.g. the share of
    neurons lost).
    """

    X: pd.DataFrame
    y: np.ndarray | None = None
    rows: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def scored_worms(self) -> np.ndarray:
        """The worm of every scored row."""
        worms = np.asarray(self.X.index.get_level_values(WORM_LEVEL))
        return worms if self.rows is None else worms[self.rows]


@dataclass(frozen=True, eq=False)
class Split:
    """A training set and the tests of the models fitted on it.

    ``meta`` holds the columns of every row of this split (evaluation, split,
    training worms, ...). Splits with the same ``key`` share one fit per model
    (e.g. the same single training worm serving several test worms).
    """

    X: pd.DataFrame
    y: np.ndarray | None
    tests: tuple[HeldOut, ...]
    meta: dict
    key: Hashable | None = None


@dataclass(frozen=True, eq=False)
class Outcome:
    """What one model fitted on one split gave on one of its tests."""

    model: str
    split: Split
    test: HeldOut
    prediction: object
    fit_time: float
    estimator: object = None


def predict(estimator, test: HeldOut):
    """The default ``predict`` of :func:`run`: ``estimator.predict(test.X)``."""
    return estimator.predict(test.X)


def run(
    estimators: Mapping,
    splits: Sequence[Split],
    *,
    predict: Callable = predict,
    order: str = "model",
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    label: str = "",
    keep_estimators: bool = False,
) -> list[Outcome]:
    """Fit every estimator on every split (once per split key); predict its tests.

    ``predict(fitted, test)`` runs in the worker and must be a module-level
    function (joblib pickles it). Outcomes come model-major (``order="model"``:
    every split of the first model, then the next) or split-major
    (``order="split"``), whatever order the fits finished in.
    """
    fits: dict = {}  # (model, key) -> (estimator, split whose data is fitted, tests)
    for name, est in estimators.items():
        for i, split in enumerate(splits):
            key = (name, i if split.key is None else ("key", split.key))
            fits.setdefault(key, (est, split, []))[2].extend(split.tests)
    keys = list(fits)
    total = len(keys)
    if progress is not None:
        progress(0, total, label)
    # Largest training sets first, so that the last fits to finish are short ones
    # and no worker idles at the end while another runs a long fit.
    schedule = sorted(range(total), key=lambda i: -len(fits[keys[i]][1].X))
    jobs = (
        delayed(_fit_and_predict)(
            i,
            fits[keys[i]][0],
            fits[keys[i]][1].X,
            fits[keys[i]][1].y,
            fits[keys[i]][2],
            predict,
            keep_estimators,
        )  # fmt: skip
        for i in schedule
    )
    done: dict = {}
    for i, result in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs):
        done[keys[i]] = result
        if progress is not None:
            progress(len(done), total, label)
    outcomes = []
    pairs = [(name, i) for name in estimators for i in range(len(splits))]
    if order == "split":
        pairs = [(name, i) for i in range(len(splits)) for name in estimators]
    for name, i in pairs:
        split = splits[i]
        key = (name, i if split.key is None else ("key", split.key))
        predictions, fit_time, fitted = done[key]
        tests = fits[key][2]
        for test in split.tests:
            # Tests are matched by identity: a shared fit holds several splits'.
            j = next(k for k, t in enumerate(tests) if t is test)
            outcomes.append(
                Outcome(name, split, test, predictions[j], fit_time, fitted)
            )
    return outcomes


def _fit_and_predict(i, estimator, X, y, tests, predict, keep_estimator):
    est = clone(estimator)
    start = time.perf_counter()
    est.fit(X, y)
    fit_time = time.perf_counter() - start
    predictions = [predict(est, test) for test in tests]
    return i, (predictions, fit_time, est if keep_estimator else None)


def tidy(outcomes: Iterable[Outcome], score: Callable) -> pd.DataFrame:
    """One frame of ``score(outcome)`` rows, each led by the model and split columns.

    ``score`` returns a list of dicts (columns of the test's rows); every row
    gets ``model`` first, the split's ``meta`` next and ``fit_time`` last.
    """
    rows = [
        {"model": o.model, **o.split.meta, **row, "fit_time": o.fit_time}
        for o in outcomes
        for row in score(o)
    ]
    return pd.DataFrame(rows)


def evaluate(
    estimators: Mapping, splits: Sequence[Split], score: Callable, **kwargs
) -> pd.DataFrame:
    """``tidy(run(estimators, splits, **kwargs), score)``."""
    return tidy(run(estimators, splits, **kwargs), score)


# ------------------------------------------------------------ classification
def cv_splits(
    X, y, cv, meta: dict, max_splits=None, *, spread=None, test_meta=None
) -> list[Split]:
    """Splits of a cross-validator, each test predicted within its whole worms.

    Held-out frames are predicted within their worm's whole recording and only
    they are scored. For unseen worms that is the test set itself; for seen
    worms (held-out 8-frame blocks) it means the per-worm scaling and batch
    statistics come from the whole recording, as in the paper, and not from a
    sparse tenth of it. No label of a test frame is used.

    ``max_splits`` keeps the first splits; ``spread`` keeps that many spread
    evenly over all of them (the first few combinations of training worms would
    all share the first worm). ``meta`` and ``test_meta`` add columns.
    """
    groups = X.index.get_level_values(WORM_LEVEL)
    found = list(islice(cv.split(X, y, groups=groups), max_splits))
    if spread is not None and len(found) > spread:
        pick = np.unique(np.linspace(0, len(found) - 1, spread).round())
        found = [found[int(i)] for i in pick]
    out = []
    for k, (train, test) in enumerate(found):
        context = np.flatnonzero(np.isin(groups, pd.unique(groups[test])))
        scored = HeldOut(
            X=X.iloc[context],
            y=y[test],
            rows=np.searchsorted(context, test),
            meta=dict(test_meta or {}),
        )
        info = {
            **meta,
            "split": k,
            "n_train_worms": len(pd.unique(groups[train])),
            "train_worms": worm_list(groups[train]),
        }
        out.append(Split(X=X.iloc[train], y=y[train], tests=(scored,), meta=info))
    return out


def worm_list(worms) -> str:
    """Worm labels, each once in order of appearance, joined by commas."""
    return ",".join(map(str, pd.unique(np.asarray(worms))))


def accuracy(outcome: Outcome) -> list[dict]:
    """Scorer: accuracy on the scored rows (one row)."""
    test = outcome.test
    y_pred = np.asarray(outcome.prediction, dtype=object)
    if test.rows is not None:
        y_pred = y_pred[test.rows]
    return [
        {
            "test_worms": worm_list(test.scored_worms()),
            **test.meta,
            "n_test_frames": len(y_pred),
            "accuracy": float(np.mean(y_pred == test.y)),
        }
    ]


def confusion(outcome: Outcome) -> list[dict]:
    """Scorer: counts of (true, predicted) pairs of the scored rows."""
    test = outcome.test
    y_pred = np.asarray(outcome.prediction, dtype=object)
    if test.rows is not None:
        y_pred = y_pred[test.rows]
    pairs = pd.DataFrame({"true": test.y, "predicted": y_pred})
    counts = pairs.value_counts(sort=False).rename("count").reset_index()
    return counts.to_dict("records")


def check_estimators(estimators, default: Callable[[], dict]) -> dict:
    """``estimators`` as a dict, or the experiment's defaults when None."""
    if estimators is None:
        return default()
    if not isinstance(estimators, Mapping) or not estimators:
        raise ValueError(
            "estimators must be a non-empty dict {name: estimator}; got "
            f"{type(estimators).__name__}."
        )
    return dict(estimators)


# ------------------------------------------------------------------ summaries
def summarize(
    scores: pd.DataFrame,
    by: Iterable[str] = ("model", "evaluation"),
    value: str = "accuracy",
) -> pd.DataFrame:
    """Mean, standard deviation and count of ``value`` per group, in input order.

    Parameters
    ----------
    scores : DataFrame
        A tidy table of an experiment (its ``scores``).
    by : iterable of str, default=("model", "evaluation")
        Grouping columns.
    value : str, default="accuracy"
        The column summarized.

    Returns
    -------
    summary : DataFrame
        ``by`` columns, then ``mean``, ``std``, ``n``.

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.experiments import summarize
    >>> scores = pd.DataFrame({"model": ["GNN", "GNN", "SVM"],
    ...                        "evaluation": ["unseen"] * 3,
    ...                        "accuracy": [0.8, 1.0, 0.7]})
    >>> summarize(scores).round(3).to_dict("records")[0]
    {'model': 'GNN', 'evaluation': 'unseen', 'mean': 0.9, 'std': 0.141, 'n': 2}
    """
    by = list(by)
    missing = [c for c in [*by, value] if c not in scores.columns]
    if missing:
        raise ValueError(
            f"scores lacks the column(s) {missing}; it has {list(scores.columns)}."
        )
    out = (
        scores.groupby(by, sort=False)[value]
        .agg(mean="mean", std="std", n="count")
        .reset_index()
    )
    out["n"] = out["n"].astype(int)
    return out
