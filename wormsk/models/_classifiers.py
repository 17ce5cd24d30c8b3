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
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch import NeuralNetClassifier

from .._utils import plain
from ..nn import WormGNN, WormMLP
from ._docs import _MISSING_DOC, _ROUTED_DOC, _RUN_DOC
from ._estimator import _WormEstimator
from ._graph import _GraphMixin
from ._net import _WormNetMixin

_AGGREGATIONS = StrOptions({"concat", "sum"})


class _ClassifierNet(_WormNetMixin, NeuralNetClassifier):
    """skorch classifier on per-worm batches (private; labels are class codes)."""


class _WormClassifier(ClassifierMixin, _WormEstimator):
    """Label handling, prediction and scoring shared by the classifiers."""

    _parameter_constraints: dict = {
        **_WormEstimator._parameter_constraints,
        "aggregation": [_AGGREGATIONS],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _criterion = torch.nn.CrossEntropyLoss

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

    def _make_net(self, module):
        return _ClassifierNet(
            module=module,
            criterion=torch.nn.CrossEntropyLoss,
            classes=list(range(len(self.classes_))),
            **self._net_kwargs(),
        )

    def fit(self, X, y, groups=None, sample_weight=None):
        """Train on frames ``X`` with state labels ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            One row per frame, neuron-major columns with ``n_channels`` channels per
            neuron. A DataFrame's index level ``worm`` gives worm identity.
        y : array-like of shape (n_samples,)
            State labels (e.g. strings), at least two distinct.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input (routed by sklearn's metadata
            routing); overrides the index. Without either, X is one worm.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every frame in the loss (multiplied by ``class_weight``);
            routed like ``groups``. The weights do not enter the per-worm batch
            statistics.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, groups=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing the model of earlier calls.

        Batches hold frames of one worm each, as in :meth:`fit`. The first call
        (on an unfitted estimator) builds the network and needs ``classes``, as
        in sklearn: later calls may show only some of them.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames, with the columns of the first call.
        y : array-like of shape (n_samples,)
            State labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All labels, required on the first call and ignored afterwards.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every frame in the loss.

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
        return self._fit(X, y, groups, sample_weight=sample_weight, partial=True,
                         classes=classes)

    def predict_proba(self, X, groups=None):
        """Class probabilities, every worm normalized by its own frames.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames of one or more worms (each worm's rows are one batch).
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        logits = self._forward(X, groups)
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def predict(self, X, groups=None):
        """Most probable state of every frame.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames of one or more worms.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X, groups)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None, groups=None):
        """Accuracy of :meth:`predict` on ``X`` against ``y``.

        Labels never seen in ``fit`` count as errors.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the frames.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "net_")
        return accuracy_score(y, self.predict(X, groups), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


_COMMON_DOC = """
    hidden_size : int, default=16
        Width of every hidden layer (the paper used 12-16 for classification).
    aggregation : {"concat", "sum"}, default="concat"
        How the readout combines neurons: concatenation keeps neuron identity.
    lr : float, default=1e-2
        Adam learning rate. The paper used 1e-3 for 800 epochs (keeping the best
        checkpoint); with the larger rate, 10 epochs reach the accuracy of 30 on
        unseen simulated worms (leave-one-worm-out), at a fraction of the time.
    max_epochs : int, default=10
        Training epochs (passes over all frames).
    batch_size : int, default=256
        Frames per training batch, every batch drawn from one worm (the paper used
        600). Prediction runs each worm as one batch regardless. -1: whole worms.
    optimizer : torch optimizer class or str, default=torch.optim.Adam
        A name selects that optimizer of ``torch.optim`` (case-insensitive, e.g.
        ``"adam"``, ``"adamw"``, ``"sgd"``).
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    n_channels : int or "auto", default="auto"
        Columns per neuron. ``"auto"``: read from ``<NEURON>_<channel>`` column
        names (the number of channels of every neuron, e.g. 2 for ``AVAL_trace,
        AVAL_deriv, ...``); one channel per column, every column a node, for
        numpy input or other names. An integer fixes it (the width of X must
        be a multiple).
    norm : bool, default=True
        Normalize every block by the statistics of the current batch, i.e. of one
        worm, in training and prediction alike (the authors' batch norm without
        running statistics).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss: ``{label: weight}`` (other classes
        weigh 1), or ``"balanced"``, ``n_samples / (n_classes * count)`` from the
        labels of ``fit``. Multiplies ``sample_weight``.
    train_split : callable or None, default=None
        Internal validation split. ``None`` (default) trains on everything.
        ``ValidSplit(5)`` or ``ValidSplit(0.2)`` hold out whole worms
        (``GroupKFold(5)``, ``GroupShuffleSplit(test_size=0.2)`` on the worms);
        a ValidSplit of a group splitter (``ValidSplit(GroupKFold(5))``)
        receives the worm of every row as ``groups``; ``ValidSplit(KFold(5))``
        splits frames within worms. This enables ``valid_loss`` (and
        ``valid_acc``) for callbacks such as
        :class:`skorch.callbacks.EarlyStopping` or ``Checkpoint``.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Added to the private skorch net (copies; the objects passed stay unchanged).
        A ``Checkpoint`` (or ``TrainEndCheckpoint``) writes into
        ``<dirname>/<checkpoint_folder_>``, a folder of each fit's own, so fits run
        in parallel (``GridSearchCV(n_jobs=...)``, a Dask cluster) never share
        files; ``load_params(checkpoint=...)`` with that Checkpoint reads them.
    warm_start : bool, default=False
        If True and already fitted, ``fit`` continues training the same network
        for ``max_epochs`` more epochs (same columns and classes required).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization and batch shuffling: the same value gives the
        same predictions, also in another process (with the same
        ``WORMSK_NUM_THREADS``: other thread counts round differently).
""" + _RUN_DOC + _ROUTED_DOC

_ATTRIBUTES_DOC = """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``.
    n_features_in_ : int
        Number of columns of ``X``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` was a DataFrame with string column names.
    n_channels_ : int
        Columns per neuron used (``n_channels``, or what ``"auto"`` read).
    n_neurons_ : int
        Number of neurons (nodes), ``n_features_in_ / n_channels_``.
    neuron_names_ : list of str
        Neuron names from the column names (``"AVAL_trace"`` -> ``"AVAL"``), else
        ``"n0", "n1", ...``.
    unseen_neurons_ : list of str
        Neurons absent from every worm in ``fit``; ignored at prediction.
    net_ : skorch net
        The private skorch net that trains the module.
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.History
        Training history (``train_loss`` per epoch, ...).
    checkpoint_folder_ : str
        Name of this fit's subfolder of every checkpoint's ``dirname``.
"""

_NOTES_DOC = """
    Notes
    -----
    Training batches hold frames of one worm (worm identity from the DataFrame
    index level ``worm``, else ``groups``, else one worm); prediction runs each
    worm as one batch, so results do not depend on ``batch_size`` or on the other
    worms in the call, but a worm's prediction uses all of its frames passed. Each
    worm needs at least 2 frames in ``fit``. DataFrame columns at prediction must
    have the names and order seen in ``fit`` (else a ``ValueError`` names them).
    Rows of a DataFrame indexed by (``worm``, ``frame``) must not repeat a frame
    or go back in time within a worm.

    For numpy input inside ``Pipeline``/``GridSearchCV`` with metadata routing
    enabled, request ``groups`` where it is needed, e.g.
    ``clf.set_fit_request(groups=True).set_score_request(groups=True)`` (and
    ``set_predict_request``); without routing, sklearn passes ``groups`` only to
    the splitter and the estimator sees one worm per call. torch runs with
    ``WORMSK_NUM_THREADS`` intra-op threads (default 1) during ``fit`` and
    prediction (see the threads note in :mod:`wormsk.models`).
""" + _MISSING_DOC


class MLPClassifier(_WormClassifier):
    __doc__ = (
        """The paper's structure-agnostic MLP classifier of behavioural states.

    Each frame is a set of neurons with ``n_channels`` features; a shared node
    encoder embeds every neuron, the embeddings are concatenated (or summed), and a
    two-layer MLP and a linear head give the class logits (cross-entropy loss).

    Parameters
    ----------"""
        + _COMMON_DOC
        + _ATTRIBUTES_DOC
        + _NOTES_DOC
        + """
    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.models import MLPClassifier
    >>> X, y = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> clf = MLPClassifier(max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X).shape[0] == len(X)
    True
    """
    )

    def __init__(
        self,
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
        self.hidden_size = hidden_size
        self.aggregation = aggregation
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.n_channels = n_channels
        self.norm = norm
        self.class_weight = class_weight
        self.train_split = train_split
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.interrupt = interrupt
        self._set_routed(kwargs)

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


class GNNClassifier(_GraphMixin, _WormClassifier):
    _parameter_constraints: dict = {
        **_WormClassifier._parameter_constraints,
        **_GraphMixin._parameter_constraints,
    }

    __doc__ = (
        """The paper's graph neural network classifier of behavioural states.

    Every frame is a graph of neurons. An edge encoder infers a weighted adjacency
    in (0, 1) between all ordered pairs of neurons from their activity (one graph
    per worm and batch for ``edges="static"``, one per frame for ``"dynamic"``), or
    a given ``adjacency`` (e.g. the connectome) is used; one message-passing step,
    then a readout over the nodes and a linear head give the class logits.

    Parameters
    ----------"""
        + _COMMON_DOC
        + """    edges : {"static", "dynamic"}, default="static"
        ``"static"``: one inferred graph per batch (edge embeddings averaged over
        its frames, i.e. over one worm); ``"dynamic"``: one graph per frame.
        Ignored when ``adjacency`` is given.
    adjacency : array-like of shape (n_neurons, n_neurons) or DataFrame, default=None
        A fixed graph instead of an inferred one; ``adjacency[i, j]`` weighs the
        message from neuron j to neuron i. A DataFrame labelled by neuron names
        (e.g. from :func:`wormsk.datasets.load_connectome`) is aligned to the
        neurons of ``X`` by name when ``X`` has named columns; an array is taken
        in column order.
"""
        + _ATTRIBUTES_DOC
        + _NOTES_DOC
        + """
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
    )

    def __init__(
        self,
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
        self.hidden_size = hidden_size
        self.aggregation = aggregation
        self.edges = edges
        self.adjacency = adjacency
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.n_channels = n_channels
        self.norm = norm
        self.class_weight = class_weight
        self.train_split = train_split
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.interrupt = interrupt
        self._set_routed(kwargs)

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
