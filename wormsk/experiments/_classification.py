"""Behaviour decoding: forward vs reverse, 7 states seen, 4 states unseen, and
unseen worms that lose a growing share of their identified neurons."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from wormsk._docs import fill_doc
from wormsk._utils import WORM_LEVEL
from wormsk.datasets import recording_table, split_known_neurons
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold

from . import _docs  # noqa: F401 (the experiments' docdict entries)
from ._data import (
    check_same_columns,
    check_unseen_worms,
    losses,
    names_of,
    task_labels,
    without,
    worms_of,
)
from ._estimators import default_classifiers, majority
from ._presets import Preset, get_preset
from ._runner import (
    HeldOut,
    ProgressCallback,
    Split,
    accuracy,
    check_estimators,
    confusion,
    cv_splits,
    run,
    tidy,
    worm_list,
)

__all__ = [
    "forward_reverse", "four_states_unseen", "missing_neurons", "seven_states_seen",
]  # fmt: skip

#: Columns of a classification experiment's ``scores``.
SCORE_COLUMNS = [
    "model", "evaluation", "split", "n_train_worms", "train_worms", "test_worms",
    "n_test_frames", "accuracy", "fit_time",
]  # fmt: skip


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


def _with_majority(outcomes, splits, baseline: bool, score=accuracy):
    """The models' rows, then the majority baseline's on the same splits.

    The baseline is fitted here in this process (a fit is a label count) and not
    counted in the progress.
    """
    frame = tidy(outcomes, score)
    if not baseline:
        return frame
    return pd.concat([frame, tidy(run(majority(), splits), score)], ignore_index=True)


def classification_scores(
    estimators, splits, *, baseline, n_jobs, progress, label
) -> pd.DataFrame:
    """Accuracy of every estimator on every split, then the majority baseline."""
    outcomes = run(estimators, splits, n_jobs=n_jobs, progress=progress, label=label)
    return _with_majority(outcomes, splits, baseline)


def classifiers(estimators, models, preset: Preset, random_state) -> dict:
    """``estimators``, or the default classifiers ``models`` when it is None."""
    return check_estimators(
        estimators,
        lambda: default_classifiers(models, preset=preset, random_state=random_state),
    )


def _seen_splits(X, y, preset: Preset, random_state) -> list:
    """Seen worms: 8-frame blocks of every worm dealt into the preset's folds."""
    return cv_splits(
        X, y, WormBlockKFold(n_splits=preset.seen_n_splits, random_state=random_state),
        {"evaluation": "seen"}, preset.seen_max_folds,
    )  # fmt: skip


@fill_doc
def forward_reverse(
    data,
    y=None,
    *,
    groups=None,
    estimators: Mapping | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    baseline: bool = True,
) -> Bunch:
    """Forward vs reverse on seen and unseen worms: the paper's Table 1.

    Frames are labelled forward (fwd, slow) or reverse (rev1, rev2, revsus); turns
    and ``nostate`` frames are left out. Seen worms: 8-frame blocks of every worm
    dealt into folds (:class:`~wormsk.model_selection.WormBlockKFold`). Unseen
    worms: each worm held out in turn (:class:`~wormsk.model_selection.LeaveWormsOut`).

    Parameters
    ----------
    %(exp_input)s
    estimators : dict, optional
        ``{name: estimator}``; default SVM, MLP, GNN and the connectome GNN from
        :func:`default_classifiers` (the connectome GNN only if at least one neuron
        of the data is in the connectome).
    %(exp_run)s
    %(exp_baseline)s

    Returns
    -------
    %(exp_returns_scores)s
        ``evaluation`` is "seen" or "unseen".

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import forward_reverse, summarize
    >>> result = forward_reverse(make_worms(n_worms=3, n_frames=300, random_state=0),
    ...                          preset="tiny")
    >>> table = summarize(result.scores, ["model", "evaluation"])
    >>> table[["model", "evaluation", "n"]].tail(3)  # n: splits averaged
                model evaluation  n
    7             GNN     unseen  3
    8  Connectome GNN     unseen  3
    9  Majority class     unseen  3
    """
    p = get_preset(preset)
    X, y = task_labels(*recording_table(data, y, groups=groups), "fwd_rev")

    def default():
        names = ["SVM", "MLP", "GNN"]
        if split_known_neurons(names_of(X))[0]:
            names.append("Connectome GNN")
        else:
            warnings.warn(
                "No neuron of the data is in the connectome; the connectome GNN is "
                "left out of the forward-reverse table.",
                UserWarning,
                stacklevel=4,
            )
        return default_classifiers(
            names, neurons=names_of(X), preset=p, random_state=random_state
        )

    estimators = check_estimators(estimators, default)
    common = dict(baseline=baseline, n_jobs=n_jobs, progress=progress)
    seen = _seen_splits(X, y, p, random_state)
    unseen = cv_splits(X, y, LeaveWormsOut(), {"evaluation": "unseen"})
    scores = pd.concat(
        [
            classification_scores(estimators, seen,
                                  label="forward/reverse, seen worms", **common),
            classification_scores(estimators, unseen,
                                  label="forward/reverse, unseen worms", **common),
        ],
        ignore_index=True,
    )  # fmt: skip
    return Bunch(scores=scores[SCORE_COLUMNS], preset=p)


@fill_doc
def seven_states_seen(
    data,
    y=None,
    *,
    groups=None,
    estimators: Mapping | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    baseline: bool = True,
) -> Bunch:
    """The 7 Kato states on seen worms (8-frame block cross-validation).

    Labels must be Kato states; ``nostate`` frames are left out.

    Parameters
    ----------
    %(exp_input)s
    estimators : dict, optional
        ``{name: estimator}``; default MLP and GNN from :func:`default_classifiers`.
    %(exp_run)s
    %(exp_baseline)s

    Returns
    -------
    %(exp_returns_scores)s
        ``evaluation`` is always "seen".

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import seven_states_seen
    >>> result = seven_states_seen(make_worms(n_worms=3, n_frames=300,
    ...                            random_state=0), preset="tiny")
    >>> result.scores["model"].unique().tolist()
    ['MLP', 'GNN', 'Majority class']
    """
    p = get_preset(preset)
    X, y = task_labels(*recording_table(data, y, groups=groups), "seven")
    estimators = classifiers(estimators, ["MLP", "GNN"], p, random_state)
    splits = _seen_splits(X, y, p, random_state)
    scores = classification_scores(
        estimators, splits, baseline=baseline, n_jobs=n_jobs,
        progress=progress, label="7 states, seen worms",
    )  # fmt: skip
    return Bunch(scores=scores[SCORE_COLUMNS], preset=p)


def _cross_study_split(X, y, X_test, y_test) -> Split:
    """Train on all of ``X``; test on every worm of ``X_test``, one row each.

    A test frame of a state absent from ``y`` could only be predicted wrong, and
    would score how often a state occurs rather than how well it is decoded: it is
    predicted with its worm but not scored, counted per worm
    (``n_excluded_frames``) and said in a warning.
    """
    trained = np.unique(y)
    known = np.isin(y_test, trained)
    test_worms = X_test.index.get_level_values(WORM_LEVEL)
    tests, emptied = [], []
    for worm in worms_of(X_test):
        mine = np.flatnonzero(test_worms == worm)
        scored = np.flatnonzero(known[mine])
        if not scored.size:
            emptied.append(worm)
            continue
        # The model sees the whole worm (scaled by all of it); only frames of
        # trained states are scored.
        meta = {"n_excluded_frames": int(mine.size - scored.size)}
        tests.append(
            HeldOut(X=X_test.iloc[mine], y=y_test[mine][scored], rows=scored,
                    meta=meta)
        )  # fmt: skip
    left_out = pd.Series(y_test[~known]).value_counts(sort=False)
    said = ", ".join(f"{state}: {n}" for state, n in left_out.items())
    if not tests:
        raise ValueError(
            f"No frame of test_data has a state the models are trained on "
            f"({', '.join(trained)}); its frames are {said}. Map test_data's labels "
            f"to trained states, or train on data that has these states."
        )
    if left_out.size:
        gone = (
            f" Worm(s) {worm_list(emptied)} had no frame of a trained state: no row."
            if emptied else ""
        )  # fmt: skip
        warnings.warn(
            f"{left_out.sum()} frames of test_data ({said}) were left out of the "
            f"cross-study test: their states never occur in the training labels "
            f"({', '.join(trained)}), so no model can predict them; "
            f"n_excluded_frames counts them per test worm.{gone} To keep them, "
            f"train on data that has these states or map them in test_data's "
            f"labels to a trained state; to leave them out without this warning, "
            f"label them 'nostate'.",
            UserWarning,
            stacklevel=3,
        )
    worms = worms_of(X)
    meta = {
        "evaluation": "cross-study",
        "split": 0,
        "n_train_worms": len(worms),
        "train_worms": worm_list(worms),
    }
    return Split(X=X, y=y, tests=tuple(tests), meta=meta)


@fill_doc
def four_states_unseen(
    data,
    y=None,
    *,
    groups=None,
    test_data=None,
    estimators: Mapping | None = None,
    train_sizes: Iterable[int] | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    baseline: bool = True,
) -> Bunch:
    """Four states on unseen worms against the number of training worms.

    For each ``k`` in ``train_sizes`` (default 1 .. n_worms - 1) every combination
    of ``k`` training worms is trained on and tested on all remaining worms
    (:class:`~wormsk.model_selection.LeaveWormsOut` with ``n_train_worms=k``; the
    preset may cap the number of combinations per ``k``). Kato labels map to the
    paper's four states (``map_states(y, "four")``: forward, reverse, dorsal_turn,
    ventral_turn).

    With ``test_data`` (e.g. the Nichols worms, with the same neurons as ``data``)
    the models are also trained on all worms of ``data`` and tested on every worm
    of ``test_data`` (``evaluation="cross-study"``). Both label sets are mapped
    with ``map_states(..., "four")``, which leaves out the Nichols turns and
    quiescence (see ``wormsk.datasets.NICHOLS_TO_FOUR``). Test frames of a state
    never seen in training are left out too (no model could predict them), counted
    in ``n_excluded_frames`` and said in a warning.

    Parameters
    ----------
    %(exp_input)s
    test_data : Bunch or (DataFrame, labels), optional
        A second study for the cross-study test.
    estimators : dict, optional
        Default: SVM, MLP and GNN from :func:`default_classifiers`.
    train_sizes : iterable of int, optional
        Numbers of training worms.
    %(exp_run)s
    %(exp_baseline)s

    Returns
    -------
    result : Bunch
        ``scores``: one row per model and combination (per test worm for the
        cross-study test): ``model``, ``evaluation`` ("unseen" or
        "cross-study"), ``split``, ``n_train_worms``, ``train_worms``,
        ``test_worms``, ``n_test_frames``, ``n_excluded_frames`` (0 for
        "unseen"; on the cross-study rows, which are per worm, the worm's frames
        left out for a state never seen in training), ``accuracy``,
        ``fit_time``. ``confusion``: ``model``, ``evaluation``,
        ``n_train_worms``, ``true``, ``predicted``, ``count`` summed over
        combinations (the models', not the baseline's). ``preset``.

    Warns
    -----
    UserWarning
        If frames of ``test_data`` are left out of the cross-study test because
        their state never occurs in the training labels: how many, of which
        states, and what to do (train on data that has them, map them to a
        trained state, or label them ``"nostate"`` to leave them out silently).

    Raises
    ------
    ValueError
        If ``train_sizes`` holds an impossible number of training worms, if
        ``test_data``'s columns differ from ``data``'s, or if no frame of
        ``test_data`` has a state seen in training.

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import four_states_unseen
    >>> result = four_states_unseen(make_worms(n_worms=3, n_frames=300,
    ...                             random_state=0), preset="tiny")
    >>> result.confusion.columns.tolist()
    ['model', 'evaluation', 'n_train_worms', 'true', 'predicted', 'count']
    """
    p = get_preset(preset)
    X_all, y_all = recording_table(data, y, groups=groups)
    X, y4 = task_labels(X_all, y_all, "four")
    worms = worms_of(X)
    check_unseen_worms(worms)
    sizes = list(range(1, len(worms))) if train_sizes is None else list(train_sizes)
    bad = [k for k in sizes if not 1 <= k < len(worms)]
    if bad:
        raise ValueError(
            f"train_sizes {bad} are impossible with {len(worms)} worms; use 1.."
            f"{len(worms) - 1}."
        )
    estimators = classifiers(estimators, ["SVM", "MLP", "GNN"], p, random_state)
    splits = [
        split
        for k in sizes
        for split in cv_splits(
            X,
            y4,
            LeaveWormsOut(n_train_worms=k),
            {"evaluation": "unseen"},
            spread=p.max_combinations,
            test_meta={"n_excluded_frames": 0},
        )  # fmt: skip
    ]
    if test_data is not None:
        X_t, y_t = recording_table(
            *(test_data if isinstance(test_data, tuple) else (test_data,))
        )
        check_same_columns(X_all, X_t)
        X_te, y_te = task_labels(X_t, y_t, "four")
        splits.append(_cross_study_split(X, y4, X_te, y_te))
    outcomes = run(estimators, splits, n_jobs=n_jobs, progress=progress,
                   label="4 states, unseen worms")  # fmt: skip
    scores = _with_majority(outcomes, splits, baseline)
    counts = tidy(outcomes, confusion)
    keys = ["model", "evaluation", "n_train_worms", "true", "predicted"]
    counts = counts.groupby(keys, sort=False)["count"].sum().reset_index()
    columns = [*SCORE_COLUMNS[:-2], "n_excluded_frames", *SCORE_COLUMNS[-2:]]
    return Bunch(scores=scores[columns], confusion=counts, preset=p)


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
    >>> from wormsk.experiments import missing_neurons
    >>> worms = make_worms(n_worms=3, n_frames=300, random_state=0)
    >>> result = missing_neurons(worms, preset="tiny", fractions=[0.0, 0.4])
    >>> result.scores.groupby("fraction")["n_missing"].mean()  # of 15 neurons
    fraction
    0.0    0.0
    0.4    6.0
    Name: n_missing, dtype: float64
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
