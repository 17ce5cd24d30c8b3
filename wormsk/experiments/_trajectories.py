"""Trajectory forecasting: per-step error on unseen worms."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from wormsk._docs import fill_doc
from wormsk._utils import WORM_LEVEL
from wormsk.datasets import recording_table
from wormsk.metrics import trajectory_error
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

from . import _docs  # noqa: F401 (the experiments' docdict entries)
from ._data import check_same_columns, worms_of
from ._estimators import NO_CHANGE, NoChange, default_regressors
from ._presets import Preset, get_preset
from ._runner import (
    HeldOut,
    Outcome,
    ProgressCallback,
    Split,
    check_estimators,
    run,
    tidy,
    worm_list,
)

__all__ = ["trajectory"]

ALL, ONE, NONE = "all training worms", "1 worm", "none"


def _scaled_trajectories(X: pd.DataFrame, horizon: int):
    """Per-worm scaling of the whole recording, then (X_t, Y) pairs within worms."""
    # One scale for inputs and targets: scale the recording, then cut the targets.
    scaler = PerWormScaler(feature_range=(-1.0, 1.0)).set_output(transform="pandas")
    X_t, Y = make_trajectory_targets(scaler.fit_transform(X), horizon=horizon)
    return X_t, np.asarray(Y, dtype=np.float32)


def step_errors(estimator, test: HeldOut) -> tuple[np.ndarray, np.ndarray]:
    """``predict`` of the runner: per-step (MAE, MSE) of the rolled-out forecast.

    Computed in the worker, so the forecasts themselves never travel back.
    """
    Y_pred = estimator.predict(test.X)
    n_features = test.X.shape[1]
    return (
        trajectory_error(test.y, Y_pred, n_features, "mae"),
        trajectory_error(test.y, Y_pred, n_features, "mse"),
    )


def _per_step(outcome: Outcome) -> list[dict]:
    mae, mse = outcome.prediction
    worms = worm_list(outcome.test.X.index.get_level_values(WORM_LEVEL))
    return [
        {"test_worms": worms, "step": step + 1, "mae": float(a), "mse": float(s)}
        for step, (a, s) in enumerate(zip(mae, mse))
    ]


@fill_doc
def trajectory(
    data,
    *,
    groups=None,
    test_data=None,
    estimators: Mapping | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
    baseline: bool = True,
) -> Bunch:
    """Forecast error per prediction step on unseen worms.

    Every channel of every worm is scaled to [-1, 1] over the worm's whole
    recording (the authors' scaling), then each frame ``t`` is paired with the
    next ``preset.horizon`` frames of the same worm
    (:func:`~wormsk.preprocessing.make_trajectory_targets`). Forecasters are
    trained on all training worms and on one of them ("1 worm") and rolled out
    ``horizon`` steps from every frame of the test worms. A model trained on
    the same worms serves every split that trains on them (fitted once).

    Without ``test_data``, each worm of ``data`` is the test worm in turn
    (``preset.traj_max_splits`` caps how many) and the others train; with
    ``test_data`` (e.g. Nichols, the paper's test), every worm of ``data`` trains
    and all of ``test_data`` is tested.

    Parameters
    ----------
    data : Bunch, DataFrame or array-like
        Recordings (labels are not used).
    %(exp_groups)s
    test_data : Bunch or DataFrame, optional
        Recordings of unseen worms with the same columns.
    estimators : dict, optional
        ``{name: regressor}``; default MLP, GNN and GRU from
        :func:`default_regressors`.
    %(exp_run)s
    baseline : bool, default=True
        Add the error of predicting "no change" (every future frame equal to
        the current one) as model ``"no change"`` (:data:`NO_CHANGE`) with
        training ``"none"``: a forecaster is useful only below it.

    Returns
    -------
    result : Bunch
        ``scores``: one row per model, training set, split and step: ``model``,
        ``training`` ("all training worms", "1 worm", or "none" for the
        baseline), ``split``, ``n_train_worms``, ``train_worms``,
        ``test_worms``, ``step`` (1-based), ``mae``, ``mse``, ``fit_time``.
        ``preset``.

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import trajectory
    >>> worms = make_worms(n_worms=3, n_frames=300, random_state=0)
    >>> result = trajectory(worms, preset="tiny")
    >>> result.scores.columns[-4:].tolist()
    ['step', 'mae', 'mse', 'fit_time']
    >>> int(result.scores["step"].max()) == result.preset.horizon
    True
    """
    p = get_preset(preset)
    X, _ = recording_table(data, groups=groups)
    estimators = check_estimators(
        estimators, lambda: default_regressors(preset=p, random_state=random_state)
    )
    X_t, Y = _scaled_trajectories(X, p.horizon)
    worm_of_row = X_t.index.get_level_values(WORM_LEVEL)
    worms = worms_of(X_t)  # worms too short for one window cannot be tested
    if test_data is not None:
        X_test, _ = recording_table(test_data)
        check_same_columns(X, X_test)
        tests = [(worms, HeldOut(*_scaled_trajectories(X_test, p.horizon)))]
    else:
        if len(worms) < 2:
            raise ValueError(
                f"Forecasting unseen worms needs at least 2 worms; got {len(worms)}."
            )
        tests = []
        for test_worm in worms[: p.traj_max_splits]:
            rows = np.flatnonzero(worm_of_row == test_worm)
            train_worms = [w for w in worms if w != test_worm]
            tests.append((train_worms, HeldOut(X_t.iloc[rows], Y[rows])))
    splits, still = [], []
    for j, (train_worms, test) in enumerate(tests):
        for training, chosen in ((ALL, train_worms), (ONE, train_worms[:1])):
            rows = np.flatnonzero(np.isin(worm_of_row, chosen))
            meta = {"training": training, "split": j, "n_train_worms": len(chosen),
                    "train_worms": worm_list(chosen)}  # fmt: skip
            # The "1 worm" of most splits is the same worm: one fit serves them.
            splits.append(
                Split(X_t.iloc[rows], Y[rows], (test,), meta, key=tuple(chosen))
            )
        meta = {"training": NONE, "split": j, "n_train_worms": 0, "train_worms": ""}
        still.append(Split(test.X, test.y, (test,), meta))
    outcomes = run(
        estimators, splits, predict=step_errors, order="split", n_jobs=n_jobs,
        progress=progress, label="trajectory forecasting",
    )  # fmt: skip
    if baseline:
        outcomes += run({NO_CHANGE: NoChange(p.horizon)}, still, predict=step_errors)
    return Bunch(scores=tidy(outcomes, _per_step), preset=p)
