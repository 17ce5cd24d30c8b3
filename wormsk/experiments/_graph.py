"""The graph a GNN infers for an unseen worm, beside the connectome."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from wormsk._docs import fill_doc
from wormsk._utils import WORM_LEVEL
from wormsk.datasets import recording_table, split_known_neurons

from . import _docs  # noqa: F401 (the experiments' docdict entries)
from ._classification import SCORE_COLUMNS
from ._data import task_labels, worms_of
from ._estimators import connectome_adjacency, default_classifiers
from ._presets import Preset, get_preset
from ._runner import (
    HeldOut,
    Outcome,
    ProgressCallback,
    Split,
    accuracy,
    run,
    tidy,
    worm_list,
)

__all__ = ["inferred_graph"]


def graphs_and_labels(estimator, test: HeldOut):
    """``predict`` of the runner: the inferred graphs of the test worms, and labels."""
    if isinstance(estimator, Pipeline):
        # The preprocessing steps, then the final GNN asked for its graph.
        model, Xs = estimator[-1], estimator[:-1].transform(test.X)
    else:
        model, Xs = estimator, test.X
    if not hasattr(model, "inferred_graph"):
        raise ValueError(
            f"{type(model).__name__} infers no graph; pass a GNNClassifier (or a "
            "pipeline ending in one)."
        )
    # Identity from the test table itself: a preprocessing step that returns
    # numpy must not make the graph (or the labels) those of "one worm".
    groups = test.X.index.get_level_values(WORM_LEVEL)
    return model.inferred_graph(Xs, groups=groups), model.predict(Xs, groups=groups)


def _accuracy(outcome: Outcome) -> list[dict]:
    labels = Outcome(outcome.model, outcome.split, outcome.test,
                     outcome.prediction[1], outcome.fit_time)  # fmt: skip
    return accuracy(labels)


@fill_doc
def inferred_graph(
    data,
    y=None,
    *,
    groups=None,
    estimator=None,
    test_worm=None,
    preset: str | Preset = "quick",
    random_state: int | None = 0,
    n_jobs: int | None = None,
    progress: ProgressCallback | None = None,
) -> Bunch:
    """The graph a GNN classifier infers for an unseen worm, and the connectome.

    A :class:`~wormsk.models.GNNClassifier` (in a pipeline after
    :class:`~wormsk.preprocessing.PerWormScaler`) is trained on the four states of
    every worm but ``test_worm`` (default: the last worm) and asked for the graph
    it infers from ``test_worm``'s recording. With a single worm there is no
    unseen one: that worm is trained on and shown (``unseen`` is False).

    Parameters
    ----------
    %(exp_input)s
    estimator : estimator, optional
        A GNN classifier or a pipeline ending in one; default from
        :func:`default_classifiers`.
    test_worm : str, optional
        The worm whose graph is shown.
    %(exp_preset)s
    %(exp_random_state)s
    n_jobs : int, optional
        Passed to joblib: with more than one job (or -1) the fit runs in a worker
        process (whose thread settings suit a busy machine better).
    %(exp_progress)s

    Returns
    -------
    result : Bunch
        ``graph`` (neuron x neuron DataFrame, weights in (0, 1); row i, column j is
        the weight of the message from neuron j to neuron i), ``connectome`` (the
        White et al. 1986 adjacency among the same neurons from
        :func:`connectome_adjacency`, or ``None`` when no neuron is in it),
        ``worm``, ``unseen`` (whether ``worm`` was left out of training),
        ``estimator`` (the fitted pipeline), ``scores`` (the model's 4-state
        accuracy on ``worm``: one row with the columns of
        :func:`forward_reverse`'s scores, ``evaluation`` "unseen" or "seen"),
        ``preset``.

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.experiments import inferred_graph
    >>> res = inferred_graph(make_worms(n_worms=3, n_frames=300, random_state=0),
    ...                      preset="tiny")
    >>> res.graph.shape
    (15, 15)
    """
    p = get_preset(preset)
    X, y = task_labels(*recording_table(data, y, groups=groups), "four")
    worms = worms_of(X)
    if test_worm is None:
        test_worm = worms[-1]
    if test_worm not in worms:
        raise ValueError(f"test_worm {test_worm!r} is not among the worms {worms}.")
    if estimator is None:
        estimator = default_classifiers(["GNN"], preset=p, random_state=random_state)[
            "GNN"
        ]
    is_test = np.asarray(X.index.get_level_values(WORM_LEVEL) == test_worm)
    unseen = len(worms) > 1
    train = np.flatnonzero(~is_test if unseen else is_test)
    test = np.flatnonzero(is_test)
    train_worms = worms_of(X.iloc[train])
    split = Split(
        X.iloc[train], y[train], (HeldOut(X.iloc[test], y[test]),),
        {"evaluation": "unseen" if unseen else "seen", "split": 0,
         "n_train_worms": len(train_worms), "train_worms": worm_list(train_worms)},
    )  # fmt: skip
    (outcome,) = run(
        {"GNN": estimator}, [split], predict=graphs_and_labels, n_jobs=n_jobs,
        progress=progress, label="inferred graph", keep_estimators=True,
    )  # fmt: skip
    graphs = outcome.prediction[0]
    graph = graphs[test_worm]
    names = [str(n) for n in graph.index]
    connectome = None
    if split_known_neurons(names)[0]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            connectome = connectome_adjacency(names)
    return Bunch(
        graph=graph,
        connectome=connectome,
        worm=test_worm,
        unseen=unseen,
        estimator=outcome.estimator,
        scores=tidy([outcome], _accuracy)[SCORE_COLUMNS],
        preset=p,
    )
