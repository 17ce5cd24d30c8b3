"""Frame-wise behavioural state classifiers: the paper's MLP and GNN."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d
from skorch import NeuralNetClassifier

from .._utils import plain
from ..nn import WormGNN, WormMLP
from ._docs import fill_doc
from ._estimator import WormEstimator
from ._graph import GraphMixin
from ._net import WormNetMixin

_AGGREGATIONS = StrOptions({"concat", "sum"})


class _ClassifierNet(WormNetMixin, NeuralNetClassifier):
    """skorch classifier on per-worm batches (private; labels are class codes)."""


class _WormClassifier(ClassifierMixin, WormEstimator):
    """Label handling, prediction and scoring shared by the classifiers."""

    _parameter_constraints: dict = {
        **WormEstimator._parameter_constraints,
        "aggregation": [_AGGREGATIONS],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _criterion = torch.nn.CrossEntropyLoss
    _net_class = _ClassifierNet
    _metric = staticmethod(accuracy_score)
    # The estimators' score, not the mixin's: it resolves worm identity.
    score = WormEstimator.score

    def _encode_y(self, y, n_samples, reset, classes=None):
        y = column_or_1d(y, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} labels but X has {n_samples} rows; give one "
                "label per row of X."
            )
        missing = np.asarray(pd.isna(y))
        if missing.any():
            raise ValueError(
                f"y has {int(missing.sum())} missing labels (None or NaN), the first "
                f"at row {int(np.flatnonzero(missing)[0])}; drop those frames (e.g. "
                "frames without a state) from X and y before fitting."
            )
        check_classification_targets(y)
        if reset and classes is not None:
            # partial_fit's first call: all classes, possibly more than y shows.
            self.classes_ = np.unique(np.asarray(classes))
            reset = False
        if reset:
            classes, codes = np.unique(y, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(
                    f"y contains only one class ({plain(classes[0])!r}); a classifier "
                    "needs at least 2 classes."
                )
            self.classes_ = classes
        else:
            unseen = np.setdiff1d(y, self.classes_)
            if len(unseen):
                raise ValueError(
                    f"y has label(s) {[plain(u) for u in unseen]} not in the classes "
                    f"{[plain(c) for c in self.classes_]} of the first fit (or of "
                    "partial_fit's classes); with warm_start=True or partial_fit "
                    "the classes must stay the same."
                )
            codes = np.searchsorted(self.classes_, y)
        codes = codes.astype(np.int64).ravel()
        return torch.from_numpy(codes), codes

    def _row_weights(self, y_enc, sample_weight, n_samples, partial):
        weights = super()._row_weights(y_enc, sample_weight, n_samples, partial)
        if self.class_weight is None:
            return weights
        classes = self.classes_
        if isinstance(self.class_weight, str):
            if partial:
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, whose "
                    "calls each see part of the data: compute the weights once with "
                    "sklearn.utils.class_weight.compute_class_weight('balanced', "
                    "classes=classes, y=y) and pass them as a dict."
                )
            counts = np.bincount(y_enc.numpy(), minlength=len(classes))
            per_class = len(y_enc) / (len(classes) * np.maximum(counts, 1))
        else:
            unknown = [k for k in self.class_weight if k not in set(classes)]
            bad = {k: v for k, v in self.class_weight.items()
                   if not (np.isfinite(v) and v >= 0)}
            if unknown or bad:
                raise ValueError(
                    "class_weight must map labels of y to non-negative numbers; "
                    + (f"labels {unknown} are not classes of y "
                       f"{[plain(c) for c in classes]}" if unknown else
                       f"got {bad}") + "."
                )
            per_class = np.array([float(self.class_weight.get(plain(c), 1.0))
                                  for c in classes])
        rows = torch.tensor(per_class[y_enc.numpy()], dtype=torch.float32)
        return rows if weights is None else rows * weights

    def _baseline_loss(self, X3, y_enc):
        # Cross-entropy of equal probabilities for every class.
        return math.log(len(self.classes_))

    def _describe_mismatch(self, f_params):
        text = super()._describe_mismatch(f_params)
        if hasattr(f_params, "seek"):
            f_params.seek(0)
        saved = torch.load(f_params, map_location="cpu", weights_only=True)
        head = saved.get("head.weight")
        k, m = None if head is None else head.shape[0], len(self.classes_)
        if k is None or k == m:
            return text
        return (
            f"it was trained with {k} classes, but this estimator has {m} "
            f"({[plain(c) for c in self.classes_]}); initialize it with labels of "
            f"the saved model's {k} classes. In detail: " + text
        )

    def _net_params(self):
        return {**super()._net_params(), "classes": list(range(len(self.classes_)))}

    @fill_doc
    def partial_fit(self, X, y, classes=None, groups=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing the model of earlier calls.

        Batches hold frames of one worm each, as in :meth:`fit`. The first call
        (on an unfitted estimator) builds the network and needs ``classes``, as
        in sklearn: later calls may show only some of them.

        Parameters
        ----------
        %(models_X)s
        y : array-like of shape (n_samples,)
            State labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All labels, required on the first call and ignored afterwards.
        %(models_groups)s
        %(models_sample_weight_fit)s

        Returns
        -------
        self : object
        """
        if not hasattr(self, "net_"):
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (all "
                    "labels the model will see, e.g. np.unique(y) of the whole "
                    "data)."
                )
            missing = np.setdiff1d(np.asarray(y), np.asarray(classes))
            if len(missing):
                raise ValueError(
                    f"y has label(s) {[plain(m) for m in missing]} not in classes="
                    f"{[plain(c) for c in np.asarray(classes)]}."
                )
        else:
            classes = None
        return self._fit(X, y, groups, method="partial_fit",
                         sample_weight=sample_weight, partial=True, classes=classes)

    @fill_doc
    def predict_proba(self, X, groups=None):
        """Class probabilities, every worm normalized by its own frames.

        Parameters
        ----------
        %(models_X)s
        %(models_groups)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        return self._proba(X, groups, "predict_proba")

    def _proba(self, X, groups, method):
        logits = self._forward(X, groups, method)
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def _predict(self, X, groups, method):
        proba = self._proba(X, groups, method)
        return self.classes_[np.argmax(proba, axis=1)]

    @fill_doc
    def predict(self, X, groups=None):
        """Most probable state of every frame.

        Parameters
        ----------
        %(models_X)s
        %(models_groups)s

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        return self._predict(X, groups, "predict")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


@fill_doc
class MLPClassifier(_WormClassifier):
    """The paper's structure-agnostic MLP classifier of behavioural states.

    Each frame is a set of neurons with ``n_channels`` features; a shared node
    encoder embeds every neuron, the embeddings are concatenated (or summed), and a
    two-layer MLP and a linear head give the class logits (cross-entropy loss).

    Parameters
    ----------
    %(models_hidden_size_classifier)s
    %(models_aggregation_classifier)s
    %(models_classifier_parameters)s

    %(models_classifier_sections)s

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.models import MLPClassifier
    >>> X, y = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> clf = MLPClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape[0] == len(X)
    True
    """

    def __init__(
        self,
        *,
        hidden_size=16,
        aggregation="concat",
        lr=1e-2,
        max_epochs=10,
        batch_size=256,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        n_channels="auto",
        norm=True,
        class_weight=None,
        train_split=None,
        callbacks=None,
        warm_start=False,
        random_state=None,
        device="cpu",
        verbose=0,
        interrupt="raise",
        **kwargs,
    ):
        self._store(locals())

    _missing_nodes = "sum"

    def _build_module(self, X3, y_enc):
        return WormMLP(
            n_neurons=X3.shape[1],
            n_channels=X3.shape[2],
            n_outputs=len(self.classes_),
            hidden_size=self.hidden_size,
            aggregation=self.aggregation,
            readout="graph",
            norm=self.norm,
        )


@fill_doc
class GNNClassifier(GraphMixin, _WormClassifier):
    """The paper's graph neural network classifier of behavioural states.

    Every frame is a graph of neurons. An edge encoder infers a weighted adjacency
    in (0, 1) between all ordered pairs of neurons from their activity (one graph
    per worm and batch for ``edges="static"``, one per frame for ``"dynamic"``), or
    a given ``adjacency`` (e.g. the connectome) is used; one message-passing step,
    then a readout over the nodes and a linear head give the class logits.

    Parameters
    ----------
    %(models_hidden_size_classifier)s
    %(models_aggregation_classifier)s
    edges : {"static", "dynamic"}, default="static"
        ``"static"``: one inferred graph per batch (edge embeddings averaged over
        its frames, i.e. over one worm); ``"dynamic"``: one graph per frame.
        Ignored when ``adjacency`` is given.
    %(models_adjacency)s
    %(models_classifier_parameters)s

    %(models_classifier_sections)s

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.models import GNNClassifier
    >>> X, y = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> clf = GNNClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> graphs = clf.inferred_graph(X)
    >>> sorted(graphs)
    ['sim0', 'sim1']
    >>> graphs["sim0"].shape
    (15, 15)
    """

    _parameter_constraints: dict = {
        **_WormClassifier._parameter_constraints,
        **GraphMixin._parameter_constraints,
    }

    def __init__(
        self,
        *,
        hidden_size=16,
        aggregation="concat",
        edges="static",
        adjacency=None,
        lr=1e-2,
        max_epochs=10,
        batch_size=256,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        n_channels="auto",
        norm=True,
        class_weight=None,
        train_split=None,
        callbacks=None,
        warm_start=False,
        random_state=None,
        device="cpu",
        verbose=0,
        interrupt="raise",
        **kwargs,
    ):
        self._store(locals())

    _missing_nodes = "always"

    def _build_module(self, X3, y_enc):
        return WormGNN(
            n_neurons=X3.shape[1],
            n_channels=X3.shape[2],
            n_outputs=len(self.classes_),
            hidden_size=self.hidden_size,
            edges=self.edges,
            adjacency=self._adjacency_tensor(),
            aggregation=self.aggregation,
            readout="graph",
            norm=self.norm,
        )
