"""Unseen worms that lose a growing share of their identified neurons."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state

from wormsk._docs import fill_doc
from wormsk._utils import CHANNELS, WORM_LEVEL
from wormsk.datasets import recording_table
from wormsk.model_selection import LeaveWormsOut

from . import _docs  # noqa: F401 (the experiments' docdict entries)
from ._classification import SCORE_COLUMNS, classification_scores, classifiers
from ._data import check_unseen_worms, names_of, task_labels, worms_of
from ._presets import Preset, get_preset
from ._runner import HeldOut, ProgressCallback, Split, cv_splits

__all__ = ["missing_neurons"]

#: Models of :func:`missing_neurons` by default: those that take absent neurons.
MISSING_MODELS = ("GNN", "MLP-sum", "SVM+imputer")

#: Columns of :func:`missing_neurons`'s ``scores``.
MISSING_COLUMNS = [
    *SCORE_COLUMNS[:6], "fraction", "n_missing", "missing", *SCORE_COLUMNS[6:],
]  # fmt: skip


def _check_fractions(fractions) -> list[float]:
    try:
        values = [float(f) for f in fractions]
    except (TypeError, ValueError):
        raise ValueError(
            f"fractions must be numbers in [0, 1); got {fractions!r}."
        ) from None
    bad = [f for f in values if not 0 <= f < 1]
    if not values or bad:
        raise ValueError(
            f"fractions must be a non-empty list of shares in [0, 1) of each test "
            f"worm's identified neurons; got {list(fractions)!r} (bad: {bad})."
        )
    return values


def losses(X: pd.DataFrame, fractions, random_state) -> dict:
    """Per worm and fraction, the neurons it loses (a nested, seeded draw).

    Every worm's identified neurons (those not NaN throughout) are put in one
    random order per worm, drawn in worm order from ``random_state``; a fraction
    ``f`` removes the first ``round(f * n_identified)`` of them, so a larger
    share removes the smaller share's neurons and more, and the draw does not
    depend on the splits.
    """
    rng = check_random_state(random_state)
    names = names_of(X)
    traces = X.iloc[:, :: len(CHANNELS)].to_numpy()
    worms = X.index.get_level_values(WORM_LEVEL)
    out = {}
    for worm in worms_of(X):
        present = ~np.isnan(traces[np.asarray(worms == worm)]).all(axis=0)
        identified = [n for n, ok in zip(names, present) if ok]
        order = [identified[i] for i in rng.permutation(len(identified))]
        out[worm] = {f: order[: int(round(f * len(identified)))] for f in fractions}
    return out


def without(X: pd.DataFrame, lost: dict) -> pd.DataFrame:
    """A copy of ``X`` whose worms' lost neurons are NaN in every frame."""
    if not any(lost.values()):
        return X
    out = X.copy()
    worms = out.index.get_level_values(WORM_LEVEL)
    for worm, names in lost.items():
        if names:
            columns = [f"{n}_{c}" for n in names for c in CHANNELS]
            out.loc[np.asarray(worms == worm), columns] = np.nan
    return out


@fill_doc
def missing_neurons(
    data,
    y=None,
    *,
    groups=None,
    fractions: Iterable[float] | None = None,
    estimators: Mapping | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    baseline: bool = True,
) -> Bunch:
    """Unseen-worm accuracy as the test worms lose a share of their neurons.

    Forward vs reverse (as in :func:`forward_reverse`), each worm held out in
    turn (:class:`~wormsk.model_selection.LeaveWormsOut`; ``preset``'s
    ``missing_max_splits`` caps how many). Each model is fitted once per split
    on the training worms as they are, then tested on the held-out worm with
    a share ``fraction`` of its identified neurons removed: NaN in every frame
    of that worm, the data contract's rule for a neuron not identified (as in
    NeuroPAL recordings, where every worm identifies another subset). The lost
    neurons are drawn per worm with ``random_state``, nested across fractions
    (see :func:`losses`); at fraction 0 the test is the ordinary unseen one, so
    those rows equal :func:`forward_reverse`'s unseen rows for the same models.

    The default models are those that take absent neurons: the GNN (an absent
    neuron is a missing node), the MLP that sums over neurons (``"MLP-sum"``)
    and an SVM after a mean imputer (``"SVM+imputer"``), all after
    :class:`~wormsk.preprocessing.PerWormScaler` (which keeps absent neurons
    NaN); see :func:`default_classifiers`.

    Parameters
    ----------
    %(exp_input)s
    fractions : iterable of float, optional
        Shares in [0, 1) of each test worm's identified neurons to remove
        (rounded to whole neurons); default ``preset.missing_fractions``
        (0, 0.2, 0.4).
    estimators : dict, optional
        ``{name: estimator}``; each must take NaN for absent neurons. Default
        GNN, MLP-sum and SVM+imputer from :func:`default_classifiers`.
    %(exp_run)s
    %(exp_baseline)s

    Returns
    -------
    result : Bunch
        ``scores``: one row per model, split and fraction: ``model``,
        ``evaluation`` ("unseen"), ``split``, ``n_train_worms``,
        ``train_worms``, ``test_worms``, ``fraction``, ``n_missing`` (neurons
        removed from the test worm), ``missing`` (their names, comma-joined),
        ``n_test_frames``, ``accuracy``, ``fit_time``; ``preset``.

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import missing_neurons, summarize
    >>> result = missing_neurons(make_worms(n_worms=3, n_frames=300,
    ...                          random_state=0), preset="tiny")  # doctest: +SKIP
    >>> summarize(result.scores, ["model", "fraction"])  # doctest: +SKIP
    """
    p = get_preset(preset)
    fractions = _check_fractions(
        p.missing_fractions if fractions is None else fractions
    )
    X, y = task_labels(*recording_table(data, y, groups=groups), "fwd_rev")
    check_unseen_worms(worms_of(X))
    estimators = classifiers(estimators, MISSING_MODELS, p, random_state)
    lost = losses(X, fractions, random_state)
    splits = []
    for split in cv_splits(X, y, LeaveWormsOut(), {"evaluation": "unseen"},
                           p.missing_max_splits):  # fmt: skip
        (test,) = split.tests
        worms = worms_of(test.X)
        tests = []
        for f in fractions:
            names = sorted({n for w in worms for n in lost[w][f]})
            tests.append(
                HeldOut(
                    X=without(test.X, {w: lost[w][f] for w in worms}),
                    y=test.y,
                    rows=test.rows,
                    meta={
                        "fraction": f,
                        "n_missing": len(names),
                        "missing": ",".join(names),
                    },
                )  # fmt: skip
            )
        splits.append(Split(split.X, split.y, tuple(tests), split.meta))
    scores = classification_scores(
        estimators, splits, baseline=baseline, n_jobs=n_jobs,
        progress=progress, label="missing neurons, unseen worms",
    )  # fmt: skip
    return Bunch(scores=scores[MISSING_COLUMNS], preset=p)
