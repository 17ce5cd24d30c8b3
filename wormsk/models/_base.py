"""Machinery shared by the wormsk estimators.

Every public estimator is a plain scikit-learn estimator whose ``__init__`` only
stores parameters. ``fit`` validates the input here (one place for all five
estimators), infers the dimensions, builds the torch module and trains it through a
private skorch net (``net_``) whose batches are in-memory float32 tensors, each
holding frames of one worm only. Prediction runs every worm as one whole batch, so
the networks' batch-statistics normalization sees one worm at a time, as in the
paper; predictions therefore never depend on ``batch_size``, on the order of the
worms or on which other worms share the call.
"""

from __future__ import annotations

import contextlib
import copy
import dis
import inspect
import math
import numbers
import os
import pickle
import uuid
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    StratifiedGroupKFold,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import Callback, Checkpoint, TrainEndCheckpoint
from skorch.dataset import ValidSplit
from torch.utils.data import Subset

from .._utils import (
    check_column_order,
    check_recording_index,
    frame_labels,
    get_worms,
    is_integer,
    n_neurons_from_width,
    neuron_names,
    plain,
    worm_indices,
)

# ----------------------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------------------


#: Environment variable that sets the torch threads of one fit or predict (default 1).
THREADS_ENV = "WORMSK_NUM_THREADS"

_INTERRUPTS = ("raise", "stop")

#: Root of wormsk's documentation, which the estimators' HTML repr links to.
DOC_URL = "https://wormsk.readthedocs.io/en/stable/"


def _available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _n_threads() -> int:
    value = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(value)
    except ValueError:
        n = 0
    cores = _available_cores()
    if not 1 <= n <= cores:
        # More threads than cores only adds waiting, and torch crashes when asked
        # for tens of thousands of OpenMP threads: refuse rather than pass it on.
        raise ValueError(
            f"The environment variable {THREADS_ENV} must be an integer from 1 to "
            f"{cores} (the CPU cores this process may use; the torch threads of one "
            f"fit or predict); got {value!r}."
        )
    return n


@contextlib.contextmanager
def _torch_threads():
    """Run the enclosed torch work with ``WORMSK_NUM_THREADS`` (default one) intra-op
    threads, then restore the caller's setting.

    wormsk's batches are small (one worm's frames, tens to hundreds of neurons):
    measured on a 2-core machine, two threads made a step about 1.6x faster when the
    machine was idle but 10 to 100 times slower when other processes competed for
    the cores (OpenMP threads waiting on each other). So the default is one thread;
    use more cores by running fits in parallel (``n_jobs`` of ``GridSearchCV`` or
    ``cross_val_score``; joblib gives each worker one thread), or set
    ``WORMSK_NUM_THREADS`` for one large fit on an otherwise idle machine.
    """
    previous = torch.get_num_threads()
    wanted = _n_threads()
    if previous != wanted:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if previous != wanted:
            torch.set_num_threads(previous)


# ----------------------------------------------------------------------------------
# data held once, as tensors, with the worm of every row
# ----------------------------------------------------------------------------------


class _WormDataset(torch.utils.data.Dataset):
    """Frames of several worms as tensors, with per-worm row positions.

    ``X`` is (n_samples, N, C) float32; ``y`` the encoded targets (or None);
    ``worms`` one integer code per row; ``history`` optionally (n_samples, L) row
    positions of the L frames that end at each row (for recurrent burn-in). Indexing
    one row is supported for skorch compatibility, but training and prediction go
    through :class:`_WormBatches`, which gathers whole batches at once.
    """

    def __init__(self, X, y=None, worms=None, history=None, split_y=None,
                 weights=None):
        self.X = X
        self.y = y
        n = X.shape[0]
        self.worms = np.zeros(n, dtype=np.int64) if worms is None else worms
        self.history = history
        # Targets handed to a ``train_split`` (stratification needs class labels).
        self.split_y = split_y
        # Loss weight of every row (sample_weight times class_weight), or None.
        self.weights = weights

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        xb, yb = self.batch(torch.as_tensor([i]))
        return xb[0], None if yb is None else yb[0]

    def batch(self, rows):
        """The (X, y) batch of the row positions ``rows`` (a long tensor).

        With a history, X is a :class:`_History`: the recurrent network gathers
        one burn-in step at a time, never a (B, L, N, C) copy of the frames.
        """
        if self.history is None:
            xb = self.X[rows]
        else:
            xb = _History(self.X, self.history[rows])
        yb = None if self.y is None else self.y[rows]
        return xb, yb


class _History:
    """Burn-in of a batch: all frames and (B, L) row positions into them.

    Not a tuple, so that skorch measures its length (B) instead of recursing
    into it; :meth:`parts` is what the recurrent networks take.
    """

    def __init__(self, frames, rows):
        self.frames = frames
        self.rows = rows

    def __len__(self):
        return self.rows.shape[0]

    def __getitem__(self, i):
        return self.frames[self.rows[i]]

    def parts(self):
        return self.frames, self.rows


def _rows_by_worm(dataset):
    """[(worm code, row positions into the base dataset)] of a dataset or Subset."""
    if isinstance(dataset, Subset):
        base = dataset.dataset
        if not isinstance(base, _WormDataset):
            raise TypeError(
                "train_split must return subsets of the dataset it is given (as "
                "skorch's ValidSplit does); got a subset of "
                f"{type(base).__name__}."
            )
        rows = np.asarray(dataset.indices, dtype=np.int64)
        codes = base.worms[rows]
        return base, [(w, rows[pos]) for w, pos in worm_indices(codes)]
    if not isinstance(dataset, _WormDataset):
        raise TypeError(
            "wormsk nets iterate over wormsk datasets only; a train_split must "
            f"return subsets of the dataset it is given, got {type(dataset).__name__}."
        )
    return dataset, worm_indices(dataset.worms)


class _WormBatches:
    """Per-worm mini-batches of in-memory tensors (iterable; one pass per epoch).

    Training (``shuffle=True``): each worm's frames are shuffled with ``generator``
    and cut into chunks of ``batch_size`` (a remainder of a single frame joins the
    previous chunk, because batch statistics of one frame are degenerate); the
    order of all chunks is then shuffled across worms. Otherwise: every worm is
    one batch, in time order, worms in order of first appearance.
    """

    def __init__(self, dataset, batch_size, shuffle, generator=None, net=None):
        self.base, groups = _rows_by_worm(dataset)
        self.positions = [torch.as_tensor(pos) for _, pos in groups]
        # torch.split refuses numpy integers, which a parameter grid hands out.
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        # The net whose get_loss weighs the rows of the batch being yielded: skorch
        # hands get_loss (y_pred, y) only, and y stays the plain targets that
        # skorch's scoring callbacks read.
        self.net = net

    def _chunks(self):
        if not self.shuffle:
            return self.positions
        chunks = []
        for pos in self.positions:
            n = len(pos)
            size = n if self.batch_size in (None, -1) else self.batch_size
            pos = pos[torch.randperm(n, generator=self.generator)]
            parts = list(torch.split(pos, size))
            if len(parts) > 1 and len(parts[-1]) == 1:
                parts[-2:] = [torch.cat(parts[-2:])]
            chunks.extend(parts)
        order = torch.randperm(len(chunks), generator=self.generator)
        return [chunks[i] for i in order.tolist()]

    def __iter__(self):
        weights = self.base.weights
        for rows in self._chunks():
            if self.net is not None:
                self.net.batch_weights_ = None if weights is None else weights[rows]
            yield self.base.batch(rows)


#: A training epoch whose mean loss exceeds this many times the loss of a trivial
#: predictor on the same data stops the fit (see :class:`_StopOnRunawayLoss`).
RUNAWAY_FACTOR = 10.0

_LOWER_LR = (
    "Lower lr, scale the inputs (PerWormScaler) or check them for extreme values."
)


class _StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a training loss is NaN or inf."""

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        # skorch records the batch's loss as a float before this hook runs; reading
        # it back spares a second device-to-host copy of the loss tensor.
        value = net.history[-1]["batches"][-1]["train_loss"]
        if not math.isfinite(value):
            epoch = len(net.history)
            n_batch = len(net.history[-1, "batches"])
            raise FloatingPointError(
                f"The training loss became {value} at epoch {epoch} (batch "
                f"{n_batch}); the model would predict garbage, so training stopped. "
                + _LOWER_LR
            )


class _StopOnRunawayLoss(Callback):
    """Stop training when an epoch's loss runs away from a trivial predictor's.

    The reference, ``net.baseline_loss_``, is the training loss of a predictor that
    learned nothing, computed by the estimator from the training data: for a
    classifier the log-loss of predicting the class frequencies (the entropy of
    ``y``), for a forecaster the error of predicting no change (where the network
    starts), for direct regression the variance of the standardized targets (1).
    On unscaled input an untrained network can start well above that value, so
    the reference is the larger of it and the untrained (or warm-started)
    network's loss on the first worm's frames, measured before the first step.
    Healthy training ends every epoch below or near the reference; a mean epoch
    loss of more than ``RUNAWAY_FACTOR`` (10) times it means the optimization
    diverged (a too large learning rate, typically), even while the loss is
    still finite.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.start_loss_ = None
        if X is None:
            return
        for batch in net.get_iterator(X, training=False):
            start = float(net.validation_step(batch)["loss"])
            if math.isfinite(start):
                self.start_loss_ = start
            break

    def on_epoch_end(self, net, **kwargs):
        baseline = getattr(net, "baseline_loss_", None)
        loss = net.history[-1].get("train_loss")
        if baseline is None or loss is None or not baseline > 0:
            return
        baseline = max(baseline, getattr(self, "start_loss_", None) or 0.0)
        if loss > RUNAWAY_FACTOR * baseline:
            raise FloatingPointError(
                f"The training loss ran away at epoch {len(net.history)}: {loss:.3g}, "
                f"more than {RUNAWAY_FACTOR:g} times the {baseline:.3g} of a "
                "predictor that learned nothing (training diverged), so training "
                f"stopped. The learning rate (lr={net.lr!r}) is probably too "
                "large. " + _LOWER_LR
            )


def _raised_by_callback(exc):
    """Whether a KeyboardInterrupt was raised by a ``raise`` in a skorch callback.

    skorch's ``EarlyStopping`` (and callbacks written like it) stop training by
    raising KeyboardInterrupt, which skorch catches. A Ctrl-C is raised wherever
    Python happens to be, so it is told apart by the innermost frame: a callback
    method, stopped at a ``raise`` instruction.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    code = frame.f_code.co_code
    at_raise = 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE
    return at_raise and isinstance(frame.f_locals.get("self"), Callback)


_RAISE = dis.opmap["RAISE_VARARGS"]


class _Interrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch, which would swallow it."""

    def __init__(self, interrupt):
        super().__init__()
        self.interrupt = interrupt


class _WormNetMixin:
    """Overrides that make a skorch net train on per-worm in-memory batches.

    ``X`` passed to ``fit`` / ``forward`` is always a :class:`_WormDataset`. The
    internal validation split (``train_split``) receives the worm codes as
    ``groups``, so ``ValidSplit(GroupKFold(...))`` holds out whole worms.

    skorch ends training quietly on Ctrl-C (``KeyboardInterrupt``) and returns
    the partly trained net; here the interrupt leaves ``partial_fit`` as a
    ``KeyboardInterrupt`` unless ``stop_on_interrupt_`` is set (the estimators'
    ``interrupt="stop"``), which keeps skorch's behaviour with a warning. A
    KeyboardInterrupt raised by a callback (skorch's ``EarlyStopping``) still
    ends training quietly.
    """

    stop_on_interrupt_ = False

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("finite_loss", _StopOnNonFiniteLoss()),
            ("runaway_loss", _StopOnRunawayLoss()),
        ]

    def fit_loop(self, X, y=None, **fit_params):
        try:
            return super().fit_loop(X, y, **fit_params)
        except KeyboardInterrupt as exc:
            if _raised_by_callback(exc):
                raise  # skorch's way to end training early (EarlyStopping)
            if not self.stop_on_interrupt_:
                raise _Interrupted(exc) from None
            warnings.warn(
                f"Training was interrupted during epoch {len(self.history)} of "
                f"{self.max_epochs}; with interrupt='stop' fit returns the partly "
                "trained model.",
                UserWarning,
                stacklevel=2,
            )
            raise

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except _Interrupted as exc:
            raise exc.interrupt from None

    def check_data(self, X, y=None):
        pass

    def _set_training(self, training=True):
        # skorch switches every submodule's mode before every batch; skip it when
        # the mode is already right (a measurable share of a small batch's time).
        if self.module_.training is not training or (
            self.criterion_.training is not training
        ):
            super()._set_training(training)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        if not self.train_split:
            return dataset, None
        split = _worm_split(self.train_split, dataset.worms)
        # Only splitters that use groups get them: sklearn warns on every call
        # that the others (KFold, ...) ignore groups.
        uses_groups = not isinstance(split, ValidSplit) or _cv_uses_groups(split.cv)
        groups = dataset.worms if uses_groups else None
        return split(dataset, dataset.split_y, groups=groups)

    def get_iterator(self, dataset, training=False):
        return _WormBatches(
            dataset, self.batch_size, shuffle=training, generator=self.generator_,
            net=self,
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weights = getattr(self, "batch_weights_", None)
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        # Per-row losses, weighted, then averaged over the batch: weights that
        # average to 1 (class_weight="balanced") keep the meaning of lr.
        criterion = self.criterion_
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            per_row = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = reduction
        per_row = per_row.reshape(per_row.shape[0], -1).mean(dim=1)
        return (per_row * weights).mean()


def _cv_uses_groups(cv):
    """Whether a splitter's ``split`` consumes ``groups`` (GroupKFold does, KFold
    does not), read from sklearn's metadata routing."""
    if isinstance(cv, (numbers.Number, type(None))):
        return False
    try:
        return bool(get_routing_for_object(cv).consumes("split", ["groups"]))
    except (AttributeError, TypeError):
        return True  # a custom splitter without routing: give it the worms


def _worm_split(train_split, worms):
    """``train_split`` with a number of folds or a fraction made worm-grouped.

    skorch's ``ValidSplit(5)`` / ``ValidSplit(0.2)`` splits frames (KFold,
    ShuffleSplit), mixing every worm into both sets; wormsk holds out whole worms
    instead: ``GroupKFold(5)`` (``StratifiedGroupKFold`` when stratified), or
    ``GroupShuffleSplit(test_size=0.2)``. A ValidSplit of an explicit splitter,
    and any other callable, is used as given.
    """
    if not isinstance(train_split, ValidSplit) or not isinstance(
        train_split.cv, numbers.Number
    ):
        return train_split
    cv, stratified = train_split.cv, train_split.stratified
    n_worms = len(np.unique(worms))
    fraction = not is_integer(cv)
    if fraction:
        if stratified:
            splitter = StratifiedGroupKFold(
                n_splits=max(2, round(1 / cv)), shuffle=True,
                random_state=train_split.random_state,
            )
        else:
            splitter = GroupShuffleSplit(
                n_splits=1, test_size=cv, random_state=train_split.random_state
            )
        needed = 2
    else:
        kind = StratifiedGroupKFold if stratified else GroupKFold
        splitter = kind(n_splits=int(cv))
        needed = int(cv)
    if n_worms < needed:
        raise ValueError(
            f"train_split=ValidSplit({cv!r}) holds out whole worms for validation "
            f"({type(splitter).__name__} on the worms), which needs at least "
            f"{needed} worms, but X has {n_worms}. Pass more worms, a smaller number "
            "of folds, or ValidSplit(KFold(...)) to split frames within worms "
            "(validation frames then come from the training worms)."
        )
    return ValidSplit(splitter, stratified=False)


# ----------------------------------------------------------------------------------
# the public base class
# ----------------------------------------------------------------------------------


class _WormEstimator(BaseEstimator):
    """Validation, seeding, the private net and persistence for wormsk estimators.

    Subclasses implement ``_build_module(X, y)``, ``_make_net(module)``,
    ``_encode_y(y, n_samples, reset)`` and the prediction methods.
    """

    # Subclasses that read a worm's preceding rows (recurrent burn-in) set this.
    _burn_in_rows = 0

    # The HTML repr (in notebooks) links each estimator to its page of the API docs.
    _doc_link_module = "wormsk"
    _doc_link_template = DOC_URL + "generated/{estimator_module}.{estimator_name}.html"

    # Checked by sklearn's machinery at the start of fit, before any data work;
    # _check_params adds the few checks constraints cannot express.
    _parameter_constraints: dict = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, math.inf, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        # -1: whole worms. One frame per batch would make batch statistics
        # degenerate, hence >= 2.
        "batch_size": [Interval(Integral, 2, None, closed="left"),
                       Options(Integral, {-1})],
        "optimizer": [str, callable],
        "weight_decay": [Interval(Real, 0, math.inf, closed="left")],
        "n_channels": [Interval(Integral, 1, None, closed="left"),
                       StrOptions({"auto"})],
        "norm": ["boolean"],
        "train_split": [callable, None],
        "callbacks": [list, tuple, None],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device],
        "verbose": [Interval(Integral, 0, None, closed="left")],
        "interrupt": [StrOptions(set(_INTERRUPTS))],
    }

    # skorch's routed parameters (set_params(optimizer__momentum=0.9), ...): kept
    # as keyword arguments of __init__, as skorch's NeuralNet does, so that
    # get_params, clone and grid searches carry them.
    _ROUTED = ("optimizer__", "criterion__", "callbacks__")
    # Routed names with a parameter of their own, which they would silently beat.
    _ROUTED_OWN = {"optimizer__lr": "lr", "optimizer__weight_decay": "weight_decay",
                   "optimizer__params": None, "criterion__reduction": None}
    _criterion = None  # set by the classifier and regressor bases

    def _set_routed(self, kwargs):
        # Stored, not checked: sklearn's __init__ only stores (fit refuses names
        # that are not routed ones, in _check_params).
        for key, value in kwargs.items():
            setattr(self, key, value)
        known = getattr(self, "_extra_params", ())
        self._extra_params = known + tuple(k for k in kwargs if k not in known)

    def _routed_params(self):
        return {k: getattr(self, k) for k in getattr(self, "_extra_params", ())}

    def get_params(self, deep=True):
        """Get parameters for this estimator, skorch's routed ones included.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators.

        Returns
        -------
        params : dict
        """
        return {**super().get_params(deep=deep), **self._routed_params()}

    def set_params(self, **params):
        """Set parameters, including skorch's routed ``optimizer__<name>``,
        ``criterion__<name>`` and ``callbacks__<callback>__<name>``.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : object
        """
        routed = {
            k: params.pop(k) for k in list(params)
            if k.startswith(self._ROUTED) and k not in self._ROUTED
        }
        self._set_routed(routed)
        return super().set_params(**params)

    def _check_params(self):
        """Check every parameter before any data work (``fit``, ``initialize``,
        ``partial_fit``): sklearn's constraints, then what they cannot express."""
        self._validate_params()
        name = type(self).__name__
        # Interval(Real) admits bools; True as a rate is a caller's mistake.
        for param in ("lr", "weight_decay", "teacher_forcing_epochs"):
            value = getattr(self, param, None)
            if isinstance(value, (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {param!r} parameter of {name} must be a number, not a "
                    f"bool. Got {value!r} instead."
                )
        # Names are case-insensitive and depend on the installed torch.
        optimizer = _optimizer_class(self.optimizer)
        # Whether CUDA is available is known only at run time.
        _check_device(self.device)
        # Routed names: the signature of the optimizer or loss they are passed to.
        for key in self._routed_params():
            if not key.startswith(self._ROUTED) or key in self._ROUTED:
                raise TypeError(
                    f"{name} got an unexpected keyword argument {key!r}; besides "
                    "its named parameters it takes skorch's routed parameters "
                    "optimizer__<name>, criterion__<name> and "
                    "callbacks__<callback name>__<name>."
                )
            if key in self._ROUTED_OWN:
                own = self._ROUTED_OWN[key]
                raise InvalidParameterError(
                    f"{key} cannot be set: "
                    + (f"use the parameter {own!r} of {name}." if own else
                       "wormsk sets it itself.")
                )
            prefix, _, rest = key.partition("__")
            target = {"optimizer": optimizer, "criterion": self._criterion}.get(prefix)
            if target is not None and rest not in _init_parameters(target):
                raise InvalidParameterError(
                    f"{key}: {target.__name__} has no parameter {rest!r}; it takes "
                    f"{sorted(_init_parameters(target))}."
                )
            if prefix == "callbacks" and "__" not in rest:
                raise InvalidParameterError(
                    f"{key}: name a callback and its parameter, as in "
                    "callbacks__<callback name>__<parameter>."
                )

    def _check_routed_callbacks(self, net):
        """Every callbacks__<name>__ must name a callback of the net (its names are
        known only once the net exists)."""
        names = dict(net.callbacks_)
        for key in self._routed_params():
            if key.startswith("callbacks__"):
                cb = key.split("__")[1]
                if cb not in names:
                    raise InvalidParameterError(
                        f"{key}: there is no callback named {cb!r}; the callbacks "
                        f"are {sorted(names)} (name yours with (name, callback) "
                        "pairs in callbacks)."
                    )

    # Which models take a worm's absent neurons (NaN in every frame) as missing
    # nodes: "always" (GNN), "sum" (with aggregation="sum"), else "never".
    _missing_nodes = "never"

    def _check_takes_absent(self, absent, worms, n_channels):
        """Refuse absent neurons, naming them, in a model that cannot take them."""
        mode = self._missing_nodes
        if mode == "always" or (mode == "sum" and self.aggregation == "sum"):
            return
        names = _feature_neurons(self, absent.shape[1] * n_channels, n_channels)
        found = []
        for worm, pos in worm_indices(worms):
            cols = np.flatnonzero(absent[pos[0]])
            if len(cols):
                found.append(f"worm {plain(worm)!r}: {[names[c] for c in cols[:5]]}"
                             + (" ..." if len(cols) > 5 else ""))
        if mode == "sum":
            what = f"{type(self).__name__}(aggregation={self.aggregation!r})"
            why = "its concatenation readout gives every neuron a fixed slot"
            also = "aggregation='sum', "
        else:
            what = type(self).__name__
            why = "it encodes all neurons of a frame as one vector"
            also = ""
        raise ValueError(
            "X has neurons absent from a worm (NaN in every frame of it): "
            + "; ".join(found[:3]) + (" ..." if len(found) > 3 else "")
            + f". {what} cannot take missing neurons: {why}. Use {also}"
            "GNNClassifier or GNNRegressor (they take absent neurons as missing "
            "nodes), or fill the values in with an imputer, e.g. "
            "make_pipeline(PerWormScaler(), SimpleImputer(), ...)."
        )

    def _check_y_absent(self, X3, y_enc, codes, labels):
        """Check targets against X's absent neurons (regressors that forecast)."""

    def _ignore_unseen(self, X3, codes, labels):
        """Treat neurons absent from every worm in ``fit`` as absent, with a warning.

        The model learned nothing about them (no weights were ever fitted to their
        values), so their values at prediction are not used. ``X3`` is the call's
        private tensor, changed in place.
        """
        unseen = set(getattr(self, "unseen_neurons_", ()))
        if not unseen:
            return
        idx = [i for i, name in enumerate(self.neuron_names_) if name in unseen]
        present = ~torch.isnan(X3[:, idx, 0])
        if not bool(present.any()):
            return
        rows = present.any(dim=1).numpy()
        worms = [labels[c] for c in dict.fromkeys(codes[rows].tolist())]
        names = [self.neuron_names_[idx[k]]
                 for k in np.flatnonzero(present.any(dim=0).numpy())]
        warnings.warn(
            f"Neuron(s) {names} were absent from every worm in fit, so the model "
            f"learned nothing about them; they are ignored (taken as absent) in "
            f"worm(s) {worms[:5]}{' ...' if len(worms) > 5 else ''}. Fit on worms "
            "that record them to use them.",
            UserWarning,
            stacklevel=4,
        )
        X3[:, idx] = math.nan
        empty = torch.isnan(X3[:, :, 0]).all(dim=1).numpy()
        if empty.any():
            raise ValueError(
                f"Worm {labels[codes[np.flatnonzero(empty)[0]]]!r} records only "
                f"neurons absent from every worm in fit ({names}); the model has "
                "nothing to predict from."
            )

    def _baseline_loss(self, X3, y_enc):
        """Training loss of a predictor that learned nothing (see
        :class:`_StopOnRunawayLoss`); subclasses define it for their targets."""
        raise NotImplementedError

    # -- validation ------------------------------------------------------------------

    def _validate_X(self, X, *, reset, groups=None):
        """Validate X and find the worm of every row.

        Returns ``(X3, codes, labels)``: X3 a float32 tensor (n, N, C) that never
        aliases the caller's data, ``codes`` the worm of every row as an integer
        (order of first appearance) and ``labels[code]`` that worm's label.
        """
        check_recording_index(X)
        if not reset:
            check_column_order(self, X)
        Xa = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float32,
            ensure_all_finite=False,
            order="C",
            ensure_min_samples=1,
        )
        worms = get_worms(X if hasattr(X, "index") else Xa, groups)
        if reset:
            names = getattr(self, "feature_names_in_", None)
            self.n_channels_, self._node_names = _channels(
                self.n_channels, None if names is None else [str(c) for c in names]
            )
            # Refuses a width that is not a multiple of an explicit n_channels.
            n_neurons_from_width(Xa.shape[1], self.n_channels_)
        n_channels = self.n_channels_
        n_neurons = Xa.shape[1] // n_channels
        absent = _absent_neurons(Xa, worms, X, n_channels)
        if absent is not None:
            self._check_takes_absent(absent, worms, n_channels)
        # The tensor must not share memory with the caller's array (nothing the
        # caller passed is ever modified); a float64 input was converted, hence
        # already a private copy.
        private = Xa.flags.owndata and Xa.flags.writeable and Xa is not X
        Xt = torch.from_numpy(Xa) if private else torch.tensor(Xa)
        Xt = Xt.view(Xa.shape[0], n_neurons, n_channels)
        labels, codes = _worm_codes(worms)
        return Xt, codes, labels

    # -- fitting ---------------------------------------------------------------------

    def _fit(self, X, y, groups, *, train=True, sample_weight=None, partial=False,
             classes=None):
        """Shared body of ``fit`` (``train=False``: build a fresh model, no epochs,
        whatever ``warm_start`` says; ``partial``: one epoch, continuing a fitted
        model)."""
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None."
            )
        fitted = hasattr(self, "net_")
        continuing = fitted and (partial or (train and bool(self.warm_start)))
        X3, codes, labels = self._validate_X(X, reset=not continuing, groups=groups)
        if not continuing:
            self.n_neurons_ = X3.shape[1]
            columns = getattr(self, "feature_names_in_", None)
            if columns is None:
                columns = [None] * self.n_features_in_
            self.neuron_names_ = self._node_names or neuron_names(
                list(columns), self.n_channels_
            )
        never = torch.isnan(X3[:, :, 0]).all(dim=0).numpy()
        seen_before = getattr(self, "unseen_neurons_", None) if continuing else None
        self.unseen_neurons_ = [
            name for name, gone in zip(self.neuron_names_, never)
            if gone and (seen_before is None or name in seen_before)
        ]
        y_enc, split_y = self._encode_y(y, X3.shape[0], reset=not continuing,
                                        classes=classes)
        self._check_y_absent(X3, y_enc, codes, labels)
        weights = self._row_weights(y_enc, sample_weight, X3.shape[0], partial)
        _refuse_one_frame_worms(codes, labels, "training")
        device = torch.device(self.device)
        dataset = _WormDataset(
            X3.to(device),
            y_enc.to(device),
            worms=codes,
            history=self._history_positions(codes, device, fitting=True),
            split_y=split_y,
            weights=None if weights is None else weights.to(device),
        )
        if not continuing:
            # Not drawn from random_state: two fits with the same seed, running
            # side by side, must still get different folders.
            self.checkpoint_folder_ = f"{type(self).__name__}-{uuid.uuid4().hex[:12]}"
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            # Module initialization draws from torch's global generator: seed it in
            # a forked state so the caller's global random state is left untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = self._build_module(X3, y_enc)
            net = self._make_net(module)
            net.initialize()
            self._check_routed_callbacks(net)
            net.generator_ = torch.Generator().manual_seed(seed + 1)
            self.net_ = net
        else:
            self._update_net()
        if train:
            self.net_.stop_on_interrupt_ = self.interrupt == "stop"
            baseline = self._baseline_loss(X3, y_enc)
            if weights is not None:
                # The loss is weighted: so is the runaway guard's reference.
                baseline *= float(weights.mean())
            self.net_.baseline_loss_ = baseline
            epochs = {"epochs": 1} if partial else {}
            with _torch_threads():
                self.net_.partial_fit(dataset, None, **epochs)
        return self

    def _row_weights(self, y_enc, sample_weight, n_samples, partial):
        """Loss weight of every row: ``sample_weight`` (times the classifiers'
        ``class_weight``), or None when all rows weigh the same."""
        if sample_weight is None:
            return None
        weights = _check_sample_weight(
            sample_weight, np.empty((n_samples, 0)), dtype=np.float64,
            ensure_non_negative=True,
        )
        return torch.tensor(weights, dtype=torch.float32)

    def _history_positions(self, codes, device, fitting=False):
        """Row positions of the ``_burn_in_rows`` frames ending at each row.

        In ``fit`` a burn-in longer than every worm is refused: its rows would be
        mostly copies of a worm's first frame, and the memory of a training
        batch's burn-in grows with ``batch_size * burn_in``.
        """
        length = self._burn_in_rows
        if not length:
            return None
        groups = worm_indices(codes)
        longest = max(len(pos) for _, pos in groups)
        if fitting and length > longest:
            raise ValueError(
                f"burn_in={length} is longer than every worm in X (the longest has "
                f"{longest} frames): the burn-in would be mostly copies of a worm's "
                "first frame, at a memory cost that grows with burn_in. Use "
                f"burn_in <= {longest}."
            )
        history = np.empty((len(codes), length), dtype=np.int64)
        offsets = np.arange(-length + 1, 1)
        for _, pos in groups:
            steps = np.arange(len(pos))[:, None] + offsets[None, :]
            # A worm's first rows have no predecessors: repeat its first frame.
            history[pos] = pos[np.clip(steps, 0, None)]
        return torch.from_numpy(history).to(device)

    def _net_kwargs(self):
        return dict(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            optimizer=_optimizer_class(self.optimizer),
            optimizer__weight_decay=self.weight_decay,
            train_split=self.train_split,
            callbacks=self._fit_callbacks(),
            device=self.device,
            verbose=self.verbose,
            warm_start=True,
            **self._routed_params(),
        )

    def _update_net(self):
        """Apply the current training parameters to the net that warm_start continues.

        The network itself (its architecture) is kept as first built.
        """
        self.net_.set_params(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            optimizer__weight_decay=self.weight_decay,
            train_split=self.train_split,
            callbacks=self._fit_callbacks(),
            verbose=self.verbose,
            **self._routed_params(),
        )

    def _fit_callbacks(self):
        """Private copies of ``callbacks``; checkpoints write into this fit's folder.

        Clones fitted in parallel (``GridSearchCV(n_jobs=...)``, a Dask cluster)
        hold copies of the same Checkpoint, hence the same ``dirname``: each fit
        writes into its own subfolder ``<dirname>/<checkpoint_folder_>``, so no two
        fits share files and ``load_best`` never reads another fit's weights.
        """
        callbacks = copy.deepcopy(self.callbacks)
        for item in callbacks or []:
            callback = item[1] if isinstance(item, tuple) else item
            if isinstance(callback, (Checkpoint, TrainEndCheckpoint)):
                callback.dirname = os.path.join(
                    callback.dirname, self.checkpoint_folder_
                )
        return callbacks

    def _fit_checkpoint(self, checkpoint):
        """This fit's copy of a Checkpoint given in ``callbacks`` (else unchanged)."""
        if not isinstance(checkpoint, Checkpoint):
            return checkpoint

        def unwrap(item):
            return item[1] if isinstance(item, tuple) else item

        for given, used in zip(self.callbacks or [], self.net_.callbacks or []):
            given, used = unwrap(given), unwrap(used)
            if given is checkpoint or (
                type(given) is type(checkpoint) and given.dirname == checkpoint.dirname
            ):
                return used
        return checkpoint

    def initialize(self, X, y, groups=None):
        """Validate data and build the model with the dimensions of ``X``, ``y``,
        without training it (e.g. before :meth:`load_params`).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data of the shape the saved model was trained on.
        y : array-like
            Targets of that shape (classifiers: all classes of the saved model).
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, train=False)

    # -- prediction ------------------------------------------------------------------

    def _forward(self, X, groups=None):
        """Run every worm of X as one batch; return the output in row order."""
        check_is_fitted(self, "net_")
        X3, codes, labels = self._validate_X(X, reset=False, groups=groups)
        self._ignore_unseen(X3, codes, labels)
        if self.norm:
            _refuse_one_frame_worms(codes, labels, "prediction")
        device = torch.device(self.device)
        dataset = _WormDataset(
            X3.to(device), worms=codes, history=self._history_positions(codes, device)
        )
        with _torch_threads():
            out = self.net_.forward(dataset, training=False)
        order = torch.as_tensor(
            np.concatenate([pos for _, pos in worm_indices(codes)])
        )
        result = torch.empty_like(out)
        result[order] = out
        self._check_finite_output(result, X3, codes, labels)
        return result

    def _check_finite_output(self, out, X3, codes, labels):
        """Refuse to return NaN or inf: say whether the weights or the inputs are
        to blame, and name the first worm affected."""
        finite = torch.isfinite(out.reshape(out.shape[0], -1)).all(dim=1).cpu()
        if bool(finite.all()):
            return
        if not all(bool(torch.isfinite(p).all()) for p in self.module_.parameters()):
            raise FloatingPointError(
                "The network's weights contain NaN or infinity (loaded from the "
                "parameter file of a diverged run, or changed by hand), so every "
                "output would be NaN; refit the estimator or load other weights."
            )
        row = int(np.flatnonzero(~finite.numpy())[0])
        code = codes[row]
        rows = torch.as_tensor(np.flatnonzero(codes == code))
        largest = float(torch.nan_to_num(X3[rows]).abs().max())  # absent: NaN
        raise ValueError(
            f"The network's output is not finite for worm {labels[code]!r} "
            f"({int((~finite.numpy()[codes == code]).sum())} of its {len(rows)} "
            f"rows): its inputs reach |x| = {largest:.3g}, too large for the "
            "network's float32 computations. Scale the inputs (PerWormScaler), as "
            "for training, before predicting."
        )

    # -- skorch surface ---------------------------------------------------------------

    @property
    def history_(self):
        """skorch ``History`` of the training run (per epoch and per batch)."""
        return self.net_.history

    @property
    def module_(self):
        """The trained torch module."""
        return self.net_.module_

    def save_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, **kwargs):
        """Save the module's weights (and optionally optimizer, history) with skorch.

        Only tensors and the history are written; the fitted attributes (classes,
        feature names) are not, so to restore, call :meth:`initialize` (or ``fit``)
        with data of the same shape, then :meth:`load_params`. To keep the whole
        estimator, pickle it (and, as with any pickle, only load files you trust).

        Parameters
        ----------
        f_params, f_optimizer, f_criterion, f_history : str, path or file, optional
            Where to save each part; ``None`` skips it.
        **kwargs
            Passed to :meth:`skorch.net.NeuralNet.save_params`.
        """
        check_is_fitted(self, "net_")
        self.net_.save_params(f_params=f_params, f_optimizer=f_optimizer,
                              f_criterion=f_criterion, f_history=f_history, **kwargs)

    def load_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, checkpoint=None, **kwargs):
        """Load weights saved by :meth:`save_params` or a skorch ``Checkpoint``.

        Loading is weights-only (``torch.load(weights_only=True)``): it never runs
        code from the file. The estimator must be fitted or initialized
        (:meth:`initialize`) with data of the same dimensions.

        Parameters
        ----------
        f_params, f_optimizer, f_criterion, f_history : str, path or file, optional
            What to load; ``None`` skips it.
        checkpoint : skorch.callbacks.Checkpoint, optional
            Load the files this checkpoint wrote (e.g. the best epoch). A
            Checkpoint given in ``callbacks`` (or one with its ``dirname``) loads
            this fit's files, from ``<dirname>/<checkpoint_folder_>``.
        **kwargs
            Passed to :meth:`skorch.net.NeuralNet.load_params`.
        """
        check_is_fitted(
            self, "net_",
            msg=(
                "This %(name)s has no network to load parameters into yet: call "
                "initialize(X, y) with data of the shape the parameters were saved "
                "with (same columns, classes or target width), or fit, before "
                "load_params."
            ),
        )
        checkpoint = self._fit_checkpoint(checkpoint)
        files = {} if checkpoint is None else checkpoint.get_formatted_files(self.net_)
        given = dict(f_params=f_params, f_optimizer=f_optimizer,
                     f_criterion=f_criterion, f_history=f_history, **kwargs)
        files.update({k: v for k, v in given.items() if v is not None})
        files = {k: v for k, v in files.items() if v is not None}
        # A file that fails to load must leave the estimator as it was, not with
        # the parts loaded before it.
        net = self.net_
        saved = (copy.deepcopy(net.module_.state_dict()),
                 copy.deepcopy(net.optimizer_.state_dict()), net.history)
        try:
            net.load_params(f_params=f_params, f_optimizer=f_optimizer,
                            f_criterion=f_criterion, f_history=f_history,
                            checkpoint=checkpoint, **kwargs)
        except (pickle.UnpicklingError, EOFError, RuntimeError, ValueError) as exc:
            net.module_.load_state_dict(saved[0])
            net.optimizer_.load_state_dict(saved[1])
            net.history = saved[2]
            raise self._load_error(exc, files) from None

    def _load_error(self, exc, files):
        """A clear error for a file ``load_params`` could not use.

        torch's own message for a refused file suggests retrying with
        ``weights_only=False``, which would run code from the file: wormsk never
        passes that advice on.
        """
        shown = ", ".join(f"{k}={os.fspath(v)!r}" if isinstance(v, (str, os.PathLike))
                          else k for k, v in files.items())
        mismatch = "size mismatch" in str(exc) or "key(s) in state_dict" in str(exc)
        if isinstance(exc, RuntimeError) and mismatch and "f_params" in files:
            return ValueError(
                f"The parameter file ({shown}) does not fit this network: "
                + self._describe_mismatch(files["f_params"])
            )
        lines = [line.strip() for line in str(exc).splitlines()]
        reason = "; ".join(
            line for line in lines
            if line and not any(w in line.lower() for w in _TORCH_LOAD_ADVICE)
        )
        return ParameterFileError(
            f"Could not load {shown}: not a file that wormsk can load safely "
            f"({type(exc).__name__}{': ' + reason if reason else ''}). wormsk loads "
            "weights only and never runs code from a file: load files written by "
            "save_params or a skorch Checkpoint."
        )

    def _describe_mismatch(self, f_params):
        """Which tensors of the module ``f_params`` holds with other shapes."""
        if hasattr(f_params, "seek"):
            f_params.seek(0)
        saved = torch.load(f_params, map_location="cpu", weights_only=True)
        own = self.module_.state_dict()
        missing = sorted(set(own) - set(saved))
        extra = sorted(set(saved) - set(own))
        shapes = [
            f"{key} is {tuple(saved[key].shape)} in the file, "
            f"{tuple(own[key].shape)} here"
            for key in own if key in saved and saved[key].shape != own[key].shape
        ]
        parts = shapes + [f"missing in the file: {missing}"] * bool(missing) + [
            f"not in this network: {extra}"] * bool(extra)
        return (
            "; ".join(parts) + ". Build the estimator with the hyper-parameters "
            "(hidden_size, edges, ...) the file was saved with and initialize it "
            "with data of the same shape (columns, classes, horizon)."
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _GraphMixin:
    """``inferred_graph`` for the GNN estimators."""

    _parameter_constraints: dict = {
        "edges": [StrOptions({"static", "dynamic"})],
        # Its shape and labels depend on X: checked in _adjacency_tensor.
        "adjacency": ["array-like", None],
    }

    def _gnn(self):
        module = self.module_
        return getattr(module, "step", module)

    def inferred_graph(self, X, groups=None):
        """The adjacency the network uses for each worm of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Recordings, as for ``predict``.
        groups : array-like of shape (n_samples,), optional
            Worm of every row (numpy input); by default the DataFrame index level
            ``worm``, else the whole input is one worm.

        Returns
        -------
        graphs : dict
            ``{worm: DataFrame}``, each N x N and labelled by ``neuron_names_``; entry
            ``[i, j]`` weighs the message from neuron ``j`` (column) to neuron ``i``
            (row). Inferred weights lie in (0, 1); with dynamic edges (one graph per
            frame) the value is the mean over the worm's frames. With a fixed
            ``adjacency`` it is that matrix, for every worm. Rows and columns of the
            neurons absent from a worm (NaN in all its frames) are NaN in its graph.
        """
        check_is_fitted(self, "net_")
        X3, codes, labels = self._validate_X(X, reset=False, groups=groups)
        self._ignore_unseen(X3, codes, labels)
        if self.norm:
            _refuse_one_frame_worms(codes, labels, "graph inference")
        gnn = self._gnn()
        self.module_.eval()
        graphs = {}
        device = torch.device(self.device)
        with torch.no_grad(), _torch_threads():
            for code, pos in worm_indices(codes):
                frames = X3[torch.as_tensor(pos)]
                adj = gnn.mean_adjacency(frames.to(device))
                # Absent neurons' rows and columns are NaN by design.
                present = ~torch.isnan(frames[0, :, 0]).to(device)
                if not bool(torch.isfinite(adj[present][:, present]).all()):
                    flags = torch.zeros(len(codes))  # NaN marks this worm's rows
                    flags[torch.as_tensor(pos)] = math.nan
                    self._check_finite_output(flags, X3, codes, labels)
                adj = adj.cpu().numpy().astype(np.float64)
                graphs[labels[code]] = pd.DataFrame(
                    adj, index=pd.Index(self.neuron_names_, name="receiver"),
                    columns=pd.Index(self.neuron_names_, name="sender"),
                )
        return graphs

    def _adjacency_tensor(self):
        """The ``adjacency`` parameter as an (N, N) array aligned to the neurons."""
        adjacency = self.adjacency
        if adjacency is None:
            return None
        n = self.n_neurons_
        if isinstance(adjacency, pd.DataFrame):
            if not hasattr(self, "feature_names_in_"):
                raise ValueError(
                    "adjacency is a DataFrame labelled by neuron names, but X has no "
                    "column names, so its neurons cannot be matched to the labels "
                    "(its order would be taken on trust). Pass X as a DataFrame with "
                    "<NEURON>_<channel> columns to align by name, or pass "
                    "adjacency.to_numpy() after ordering it as X's columns."
                )
            wanted = self.neuron_names_
            labels = set(adjacency.index) & set(adjacency.columns)
            missing = [name for name in wanted if name not in labels]
            if missing:
                raise ValueError(
                    "adjacency is a labelled DataFrame but lacks the neuron(s) "
                    f"{missing} of X; it must have rows and columns for all of "
                    f"{wanted}."
                )
            adjacency = adjacency.loc[wanted, wanted]
            adjacency = adjacency.to_numpy(dtype=np.float64)
        try:
            adjacency = np.asarray(adjacency, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"adjacency must be a numeric N x N array; {exc}"
            ) from None
        if adjacency.shape != (n, n):
            raise ValueError(
                f"adjacency has shape {adjacency.shape} but X has {n} neurons; give an "
                f"({n}, {n}) array or a DataFrame labelled by neuron names."
            )
        if not np.isfinite(adjacency).all():
            raise ValueError("adjacency contains NaN or infinite values.")
        return torch.tensor(adjacency, dtype=torch.float32)


# ----------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------


def _init_parameters(cls):
    """Keyword parameters of ``cls.__init__`` (those a routed name may set)."""
    return {
        name for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _channel_layout(columns):
    """Channels per neuron of ``<NEURON>_<channel>`` column names, or None.

    The names must be neuron-major (a neuron's columns adjacent) and every neuron
    must have the same channels in the same order. A numeric suffix (``PC_1``,
    ``col_0``) numbers features, it does not name a channel.
    """
    parts = [c.rsplit("_", 1) for c in columns]
    if any(len(p) != 2 or not p[0] or not p[1] or p[1].isdigit() for p in parts):
        return None
    runs = []
    for neuron, channel in parts:
        if not runs or runs[-1][0] != neuron:
            runs.append((neuron, []))
        runs[-1][1].append(channel)
    layouts = {tuple(channels) for _, channels in runs}
    if len({neuron for neuron, _ in runs}) != len(runs) or len(layouts) != 1:
        return None
    (layout,) = layouts
    return len(layout) if len(set(layout)) == len(layout) else None


def _channels(n_channels, columns):
    """``(n_channels, node names or None)`` for the ``n_channels`` parameter.

    ``"auto"``: read from ``<NEURON>_<channel>`` column names; one channel per
    column (every column a node, named by its column) for unnamed input or names
    without that layout. An integer is taken as given.
    """
    if n_channels != "auto":
        return int(n_channels), None
    if columns is None:
        return 1, None
    found = _channel_layout(columns)
    if found is not None:
        return found, None
    parts = [c.rsplit("_", 1) for c in columns]
    if all(len(p) == 2 and not p[1].isdigit() for p in parts):
        by_neuron: dict[str, set] = {}
        for neuron, channel in parts:
            by_neuron.setdefault(neuron, set()).add(channel)
        channels = set().union(*by_neuron.values())
        if len(channels) > 1 and all(c == channels for c in by_neuron.values()):
            # Every neuron has every channel, out of neuron-major order (e.g.
            # channel-major): read as nodes, channels of different neurons would be
            # paired. neuron_names refuses it, naming the first column out of place.
            neuron_names(list(columns), len(channels))
    if any("_" in c and not c.rsplit("_", 1)[1].isdigit() for c in columns):
        warnings.warn(
            "n_channels='auto' found column names like <NEURON>_<channel> but not "
            "one layout for all neurons (the same channels, adjacent, in the same "
            f"order; first columns {columns[:4]}), so every column is a node of one "
            "channel. Pass n_channels=<int> for neuron-major columns, or select "
            "whole neurons.",
            UserWarning,
            stacklevel=4,
        )
    return 1, list(columns)


# Docs of the run parameters every estimator shares.
_RUN_DOC = """    device : {"cpu", "cuda"}, default="cpu"
        Torch device: ``"cpu"``, or ``"cuda"`` (``"cuda:<index>"``) when CUDA is
        available.
    verbose : int, default=0
        skorch's per-epoch log when > 0.
    interrupt : {"raise", "stop"}, default="raise"
        What Ctrl-C (``KeyboardInterrupt``) during ``fit`` does. ``"raise"``: it
        leaves ``fit`` as a ``KeyboardInterrupt``, so a cross-validation or grid
        search stops instead of scoring a half-trained model. ``"stop"``:
        training ends after the current batch and ``fit`` returns the partly
        trained model with a warning (skorch's own behaviour); ``warm_start=True``
        can continue it. A callback that raises ``KeyboardInterrupt`` to end
        training early, as skorch's ``EarlyStopping`` does, still does so.
"""

# Docs of skorch's routed parameters, shared by every estimator.
_ROUTED_DOC = """    **kwargs
        skorch's routed parameters, as for a skorch ``NeuralNet``:
        ``optimizer__<name>`` (e.g. ``optimizer__momentum=0.9`` with
        ``optimizer="sgd"``), ``criterion__<name>`` (e.g.
        ``criterion__label_smoothing``) and ``callbacks__<callback>__<name>``
        (e.g. ``callbacks__es__patience=3`` for ``callbacks=[("es",
        EarlyStopping())]``). They work in ``set_params``, ``clone`` and grid
        searches; names the optimizer, loss or callback does not take are refused
        in ``fit``. ``lr`` and ``weight_decay`` are set by their own parameters.
"""

# Notes paragraph on absent neurons shared by the estimators' docstrings.
_MISSING_DOC = """
    A neuron absent from a worm (NaN in every frame and channel of that worm, the
    union of neurons) is a missing node for the GNNs and for the MLPs with
    ``aggregation="sum"``: its values are never read, it sends and receives no
    message, batch statistics skip it, the "sum" readout is N times the mean
    over the present nodes, and the GNN's "concat" readout holds zeros in its
    slot. The MLPs with "concat" and the GRU refuse it, naming it. Forecasts are
    NaN for absent neurons and the loss skips their (NaN) targets. A neuron
    absent from every worm in ``fit`` (``unseen_neurons_``) is ignored at
    prediction with a warning. Any other NaN is refused. See the user guide,
    "Bring your own recordings".
"""

# Lines of torch.load's refusal that advise unsafe loading or filing a torch issue.
_TORCH_LOAD_ADVICE = ("weights_only", "weights only", "documentation of torch.load")


class ParameterFileError(pickle.UnpicklingError, ValueError):
    """A file given to ``load_params`` is not a parameter file wormsk loads safely
    (a ``ValueError``, and a ``pickle.UnpicklingError`` as torch's refusal is)."""


def _is_real(value):
    """A real number that is not a bool (True as a learning rate is a mistake)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _torch_optimizers():
    """{lower-case name: class} of the optimizers in ``torch.optim``."""
    return {
        name.lower(): obj
        for name, obj in vars(torch.optim).items()
        if isinstance(obj, type)
        and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
    }


def _optimizer_class(optimizer):
    """The optimizer class of the ``optimizer`` parameter (a class or a name)."""
    if isinstance(optimizer, str):
        known = _torch_optimizers()
        try:
            return known[optimizer.lower()]
        except KeyError:
            raise ValueError(
                f"optimizer={optimizer!r} is not an optimizer of torch.optim; give "
                f"one of {sorted(known)} or a torch.optim.Optimizer class."
            ) from None
    if not callable(optimizer):
        raise TypeError(
            "optimizer must be a torch.optim.Optimizer class (e.g. torch.optim.Adam) "
            f"or its name (e.g. 'adam'); got {optimizer!r}."
        )
    return optimizer


def _check_device(device):
    """Only CPU and (available) CUDA devices: the others fail deep inside torch."""
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError, ValueError):
        kind = None
    if kind not in ("cpu", "cuda"):
        raise ValueError(
            f"device must be 'cpu' or 'cuda' (or 'cuda:<index>'); got {device!r}."
        )
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} but CUDA is not available on this machine; "
            "use device='cpu'."
        )


def _refuse_one_frame_worms(codes, labels, what):
    """Refuse worms of one frame, naming the first: the batch statistics of one
    frame are degenerate (every input gives the same normalized value)."""
    short = [code for code, pos in worm_indices(codes) if len(pos) < 2]
    if short:
        raise ValueError(
            f"Worm {labels[short[0]]!r} has only 1 sample (frame); {what} "
            "normalizes every batch by the statistics of its worm's frames, which "
            "needs at least 2 frames per worm (one frame would give the same output "
            "whatever its values). Pass more frames of the worm, or use a model "
            "built with norm=False."
        )


def _column_labels(X):
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _worm_codes(worms):
    """Worm labels in order of first appearance and the integer code of every row."""
    groups = worm_indices(worms)
    codes = np.empty(len(worms), dtype=np.int64)
    for k, (_, pos) in enumerate(groups):
        codes[pos] = k
    labels = [plain(w) for w, _ in groups]
    return labels, codes


def _check_finite(Xa, worms, X):
    """Refuse NaN or inf in ``Xa``, naming the worm, frames and columns.

    A value that is finite in the caller's ``X`` but beyond float32's range
    (|x| > 3.4e38) became inf in ``Xa``: that is reported as an overflow, not as
    NaN or infinity. The labels come from ``X`` (the caller's object) only on
    failure: building them costs a pass over the index and columns on every fit
    and predict.
    """
    finite = np.isfinite(Xa)
    if finite.all():
        return
    bad = ~finite
    try:
        overflow = np.isfinite(np.asarray(X, dtype=np.float64)) & bad
    except (TypeError, ValueError):
        overflow = np.zeros_like(bad)
    if overflow.shape == bad.shape and overflow.any():
        bad = overflow
        what = (
            f"values too large for float32 (|x| > {np.finfo(np.float32).max:.3g}), "
            "the precision of wormsk's networks"
        )
        advice = "Scale the inputs (PerWormScaler) before fitting or predicting."
    else:
        what = "NaN or infinity"
        advice = (
            "Interpolate or drop those frames, or drop the neuron, before fitting or "
            "predicting. (A neuron not identified in a worm is NaN in every frame "
            "and channel of that worm: it is then absent, which the GNN and the "
            "summing MLP take as a missing node.)"
        )
    frames = frame_labels(X)
    columns = _column_labels(X)
    bad_rows = np.flatnonzero(bad.any(axis=1))
    worm = worms[bad_rows[0]]
    in_worm = np.flatnonzero(worms == worm)
    bad_in_worm = bad_rows[worms[bad_rows] == worm]
    if frames is not None:
        labels = frames[bad_in_worm]
        where = f"frames {labels.min()}-{labels.max()}"
    else:
        first = np.searchsorted(in_worm, bad_in_worm)
        where = f"frames (row positions within the worm) {first.min()}-{first.max()}"
    bad_cols = np.flatnonzero(bad[bad_in_worm].any(axis=0))
    names = [columns[c] if columns is not None else f"column {c}" for c in bad_cols]
    shown = ", ".join(map(str, names[:5])) + (" ..." if len(names) > 5 else "")
    worm = plain(worm)
    raise ValueError(
        f"X contains {what}: worm {worm!r}, {where} ({len(bad_in_worm)} "
        f"rows), column(s) {shown}; {int(bad.sum())} such values in all. " + advice
    )


def _feature_neurons(estimator, n_features, n_channels):
    """Neuron names of the columns (fitted names, else ``n0``, ``n1``, ...)."""
    if getattr(estimator, "_node_names", None):
        return estimator._node_names
    columns = getattr(estimator, "feature_names_in_", None)
    columns = [None] * n_features if columns is None else list(columns)
    return neuron_names(columns, n_channels)


def _absent_neurons(Xa, worms, X, n_channels):
    """Each row's absent neurons, (n_samples, n_neurons) bool, or None if none.

    A neuron is absent from a worm when all its channels are NaN in every frame of
    that worm. Any other NaN or infinity (a gap inside a recorded trace, say) is
    refused by :func:`_check_finite`, naming the worm, frames and columns, and so
    is a worm with no recorded neuron at all.
    """
    finite = np.isfinite(Xa)
    if finite.all():
        return None
    n = Xa.shape[0]
    node_nan = np.isnan(Xa).reshape(n, -1, n_channels).all(axis=2)
    absent = np.zeros_like(node_nan)
    for _, pos in worm_indices(worms):
        absent[pos] = node_nan[pos].all(axis=0)
    cells = np.repeat(absent, n_channels, axis=1)
    if not (finite | cells).all():
        _check_finite(np.where(cells, 0.0, Xa), worms, X)
    empty = absent.all(axis=1)
    if empty.any():
        raise ValueError(
            f"Worm {plain(worms[np.flatnonzero(empty)[0]])!r} has no recorded "
            "neuron (all its columns are NaN in every frame); drop it from X."
        )
    return absent if absent.any() else None
