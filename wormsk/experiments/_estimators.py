"""The paper's models as ready-made estimators, and the experiments' baselines."""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from wormsk._docs import fill_doc
from wormsk.datasets import load_connectome, split_known_neurons
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.preprocessing import PerWormScaler

from . import _docs  # noqa: F401 (the experiments' docdict entries)
from ._presets import Preset, get_preset

__all__ = [
    "MAJORITY",
    "NO_CHANGE",
    "connectome_adjacency",
    "default_classifiers",
    "default_regressors",
]

#: Model name of the "no change" forecast in :func:`trajectory`.
NO_CHANGE = "no change"

#: Model name of the majority-class baseline of the classification experiments
#: (``DummyClassifier(strategy="most_frequent")`` through the same pipeline and
#: splits as the models): a classifier is useful only above it.
MAJORITY = "Majority class"

#: Names :func:`default_classifiers` builds.
CLASSIFIERS = ("SVM", "MLP", "GNN", "Connectome GNN", "MLP-sum", "SVM+imputer")


def connectome_adjacency(neurons: Iterable[str]) -> pd.DataFrame:
    """Physical adjacency among ``neurons`` for the connectome GNN, scaled to [0, 1].

    Chemical and electrical synapses of White et al. (1986) from
    :func:`wormsk.datasets.load_connectome`, symmetrized and divided by the largest
    weight so that messages stay on the scale of the inferred graph's weights.
    Neurons absent from the connectome (e.g. generic simulated names) get no edges,
    with a warning naming them.

    Examples
    --------
    >>> from wormsk.experiments import connectome_adjacency
    >>> A = connectome_adjacency(["AVAL", "AVAR", "AVBL"])
    >>> A.shape, float(A.to_numpy().max())
    ((3, 3), 1.0)
    """
    neurons = [str(n) for n in neurons]
    missing = split_known_neurons(neurons)[1]
    if missing:
        warnings.warn(
            f"Neurons {missing} are not in the White et al. (1986) connectome; the "
            "connectome GNN gives them no edges (no messages to or from them).",
            UserWarning,
            stacklevel=2,
        )
    return load_connectome(
        neurons, symmetrize=True, normalize="max", missing="zero"
    ).astype(float)


def _net_settings(p: Preset, random_state, prefix: str = "") -> dict:
    """The networks' size and training settings from the preset, and the seed.

    Classifiers read ``hidden_size``, ``max_epochs``, ``lr`` and ``batch_size``;
    forecasters the same settings with ``prefix="traj_"``.
    """
    names = ("hidden_size", "max_epochs", "lr", "batch_size")
    return {n: getattr(p, prefix + n) for n in names} | {"random_state": random_state}


@fill_doc
def default_classifiers(
    models: Iterable[str] = ("SVM", "MLP", "GNN"),
    *,
    neurons: Iterable[str] | None = None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
) -> dict:
    """The paper's classifiers, each in ``make_pipeline(PerWormScaler(), ...)``.

    Parameters
    ----------
    models : iterable of {"SVM", "MLP", "GNN", "Connectome GNN", "MLP-sum", \
"SVM+imputer"}
        Which models to build, in this order. ``"MLP-sum"`` sums the neurons'
        encodings (``aggregation="sum"``), so it takes worms with absent neurons;
        ``"SVM+imputer"`` fills absent neurons (NaN after the scaler) with the
        training mean (:class:`~sklearn.impute.SimpleImputer`) before the SVM.
    neurons : iterable of str, optional
        Neuron names of the data; needed for ``"Connectome GNN"`` (its fixed
        adjacency comes from :func:`connectome_adjacency`).
    %(exp_factory_settings)s

    Returns
    -------
    estimators : dict
        ``{name: pipeline}``, in the order of ``models``; every pipeline starts
        with a :class:`~wormsk.preprocessing.PerWormScaler`.

    Raises
    ------
    ValueError
        For an unknown model name, or ``"Connectome GNN"`` without ``neurons``.

    Examples
    --------
    >>> from wormsk.experiments import default_classifiers
    >>> pipes = default_classifiers(["SVM", "GNN"], preset="tiny")
    >>> list(pipes), pipes["GNN"][-1].max_epochs
    (['SVM', 'GNN'], 3)
    """
    p = get_preset(preset)
    nets = _net_settings(p, random_state)
    out = {}
    for name in models:
        if name == "SVM":
            steps = [SVC()]
        elif name == "SVM+imputer":
            steps = [SimpleImputer(), SVC()]
        elif name == "MLP":
            steps = [MLPClassifier(**nets)]
        elif name == "MLP-sum":
            steps = [MLPClassifier(aggregation="sum", **nets)]
        elif name == "GNN":
            steps = [GNNClassifier(**nets)]
        elif name == "Connectome GNN":
            if neurons is None:
                raise ValueError(
                    "The 'Connectome GNN' needs the neuron names of the data "
                    "(neurons=...) to build its adjacency."
                )
            steps = [GNNClassifier(adjacency=connectome_adjacency(neurons), **nets)]
        else:
            raise ValueError(
                f"Unknown model {name!r}; choose from "
                f"{', '.join(map(repr, CLASSIFIERS))}."
            )
        out[name] = make_pipeline(PerWormScaler(), *steps)
    return out


@fill_doc
def default_regressors(
    models: Iterable[str] = ("MLP", "GNN", "GRU"),
    *,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
) -> dict:
    """The paper's trajectory forecasters (Markovian MLP and GNN, and the GRU).

    The preset also gives their rollout settings (``train_horizon``,
    ``teacher_forcing_epochs``). They expect inputs already scaled per worm
    (:func:`trajectory` scales the whole recording before building targets, so
    that inputs and targets share one scale).

    Parameters
    ----------
    models : iterable of {"MLP", "GNN", "GRU"}
        Which models to build, in this order.
    %(exp_factory_settings)s

    Returns
    -------
    estimators : dict
        ``{name: regressor}``, in the order of ``models`` (bare regressors, with
        no scaler: see above).

    Raises
    ------
    ValueError
        For a name other than ``"MLP"``, ``"GNN"`` and ``"GRU"`` (the message
        lists them).

    Examples
    --------
    >>> from wormsk.experiments import default_regressors
    >>> {name: type(est).__name__ for name, est in default_regressors().items()}
    {'MLP': 'MLPRegressor', 'GNN': 'GNNRegressor', 'GRU': 'GRURegressor'}
    """
    p = get_preset(preset)
    common = dict(
        _net_settings(p, random_state, prefix="traj_"),
        train_horizon=p.train_horizon,
        teacher_forcing_epochs=p.traj_teacher_forcing_epochs,
    )
    kinds = {"MLP": MLPRegressor, "GNN": GNNRegressor, "GRU": GRURegressor}
    out = {}
    for name in models:
        if name not in kinds:
            raise ValueError(f"Unknown model {name!r}; choose from {sorted(kinds)}.")
        kwargs = dict(common)
        if name == "GNN" and p.traj_gnn_hidden_size is not None:
            kwargs["hidden_size"] = p.traj_gnn_hidden_size
        out[name] = kinds[name](**kwargs)
    return out


def majority() -> dict:
    """The majority-class baseline, in the models' pipeline, by its name."""
    return {
        MAJORITY: make_pipeline(
            PerWormScaler(), DummyClassifier(strategy="most_frequent")
        )
    }


class NoChange(RegressorMixin, BaseEstimator):
    """The "no change" forecast: every one of ``horizon`` future frames equals now.

    A forecaster is useful only below its error.
    """

    def __init__(self, horizon: int = 1):
        self.horizon = horizon

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return np.tile(np.asarray(X, dtype=np.float32), self.horizon)
