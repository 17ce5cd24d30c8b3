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

import copy
import inspect
import math
import os
import pickle
import uuid
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
)
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from skorch.callbacks import Checkpoint, TrainEndCheckpoint

from .._utils import (
    check_column_order,
    check_recording_index,
    n_neurons_from_width,
)
from .._worms import resolve_worms
from ._data import WormDataset
from ._docs import fill_doc
from ._threads import torch_threads
from ._validation import (
    absent_neurons,
    channels,
    feature_neurons,
    refuse_one_frame_worms,
)

_INTERRUPTS = ("raise", "stop")

#: Root of wormsk's documentation, which the estimators' HTML repr links to.
DOC_URL = "https://wormsk.readthedocs.io/en/stable/"


class WormEstimator(BaseEstimator):
    """Validation, seeding, the private net and persistence for wormsk estimators.

    Subclasses set ``_net_class`` and ``_criterion``, implement
    ``_build_module(X, y)``, ``_encode_y(y, n_samples, reset)`` and the public
    methods, each resolving worm identity once (``_validate_X``).
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
    _net_class = None

    def _store(self, params):
        """The constructors' one body: store every parameter as given (sklearn's
        rule: no check, no change) and skorch's routed ones (``**kwargs``)."""
        for name, value in params.items():
            if name not in ("self", "__class__", "kwargs"):
                setattr(self, name, value)
        self._set_routed(params.get("kwargs", {}))

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
        names = feature_neurons(self, absent.shape[1] * n_channels, n_channels)
        found = []
        for worm, pos in worms:
            cols = np.flatnonzero(absent[pos[0]])
            if len(cols):
                found.append(f"worm {worm!r}: {[names[c] for c in cols[:5]]}"
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

    def _check_y_absent(self, X3, y_enc, worms):
        """Check targets against X's absent neurons (regressors that forecast)."""

    def _ignore_unseen(self, X3, worms):
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
        where = [worms.labels[c] for c in dict.fromkeys(worms.codes[rows].tolist())]
        names = [self.neuron_names_[idx[k]]
                 for k in np.flatnonzero(present.any(dim=0).numpy())]
        warnings.warn(
            f"Neuron(s) {names} were absent from every worm in fit, so the model "
            f"learned nothing about them; they are ignored (taken as absent) in "
            f"worm(s) {where[:5]}{' ...' if len(where) > 5 else ''}. Fit on worms "
            "that record them to use them.",
            UserWarning,
            stacklevel=4,
        )
        X3[:, idx] = math.nan
        empty = torch.isnan(X3[:, :, 0]).all(dim=1).numpy()
        if empty.any():
            raise ValueError(
                f"Worm {worms.labels[worms.codes[np.flatnonzero(empty)[0]]]!r} "
                "records only "
                f"neurons absent from every worm in fit ({names}); the model has "
                "nothing to predict from."
            )

    def _baseline_loss(self, X3, y_enc):
        """Training loss of a predictor that learned nothing (see
        :class:`~._callbacks.StopOnRunawayLoss`), for the subclass's targets."""
        raise NotImplementedError

    # -- validation ------------------------------------------------------------------

    def _validate_X(self, X, *, reset, groups, method):
        """Validate X and resolve the worm of every row, once for the public call
        ``method`` (e.g. ``"predict"``).

        Returns ``(X3, worms)``: X3 a float32 tensor (n, N, C) that never aliases
        the caller's data, and the :class:`~wormsk._worms.Worms` of its rows.
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
        # The caller's X keeps its index (the worm level); validation dropped it.
        worms = resolve_worms(
            X if hasattr(X, "index") else Xa, groups,
            caller=f"{type(self).__name__}.{method}",
        )
        if reset:
            names = getattr(self, "feature_names_in_", None)
            self.n_channels_, self._node_names = channels(
                self.n_channels, None if names is None else [str(c) for c in names]
            )
            # Refuses a width that is not a multiple of an explicit n_channels.
            n_neurons_from_width(Xa.shape[1], self.n_channels_)
        n_channels = self.n_channels_
        n_neurons = Xa.shape[1] // n_channels
        absent = absent_neurons(Xa, worms, X, n_channels)
        if absent is not None:
            self._check_takes_absent(absent, worms, n_channels)
        # The tensor must not share memory with the caller's array (nothing the
        # caller passed is ever modified); a float64 input was converted, hence
        # already a private copy.
        private = Xa.flags.owndata and Xa.flags.writeable and Xa is not X
        Xt = torch.from_numpy(Xa) if private else torch.tensor(Xa)
        Xt = Xt.view(Xa.shape[0], n_neurons, n_channels)
        return Xt, worms

    # -- fitting ---------------------------------------------------------------------

    @fill_doc
    def fit(self, X, y, groups=None, sample_weight=None):
        """Train on frames ``X`` with targets ``y``.

        Parameters
        ----------
        %(models_X)s
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Classifiers: state labels (e.g. strings), at least two distinct.
            Regressors, with ``target="auto"``: a 2-D ``y`` of width
            ``k * n_features`` holds the next k frames after each row
            (frame-major, as built by
            :func:`wormsk.preprocessing.make_trajectory_targets`) and is forecast
            by rollouts; any other ``y`` is regressed directly.
        %(models_groups)s
        %(models_sample_weight_fit)s

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, method="fit", sample_weight=sample_weight)

    def _fit(self, X, y, groups, *, method, train=True, sample_weight=None,
             partial=False, classes=None):  # fmt: skip
        """Shared body of ``fit`` (``train=False``: build a fresh model, no epochs,
        whatever ``warm_start`` says; ``partial``: one epoch, continuing a fitted
        model). ``method`` names the public call, for messages."""
        self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None."
            )
        fitted = hasattr(self, "net_")
        continuing = fitted and (partial or (train and bool(self.warm_start)))
        X3, worms = self._validate_X(X, reset=not continuing, groups=groups,
                                     method=method)
        if not continuing:
            self.n_neurons_ = X3.shape[1]
            self.neuron_names_ = feature_neurons(
                self, self.n_features_in_, self.n_channels_
            )
        never = torch.isnan(X3[:, :, 0]).all(dim=0).numpy()
        seen_before = getattr(self, "unseen_neurons_", None) if continuing else None
        self.unseen_neurons_ = [
            name for name, gone in zip(self.neuron_names_, never)
            if gone and (seen_before is None or name in seen_before)
        ]
        y_enc, split_y = self._encode_y(y, X3.shape[0], reset=not continuing,
                                        classes=classes)
        self._check_y_absent(X3, y_enc, worms)
        weights = self._row_weights(y_enc, sample_weight, X3.shape[0], partial)
        refuse_one_frame_worms(worms, "training")
        baseline = None
        if train:
            baseline = self._baseline_loss(X3, y_enc)
            if weights is not None:
                # The loss is weighted: so is the runaway guard's reference.
                baseline *= float(weights.mean())
        device = torch.device(self.device)
        dataset = WormDataset(
            X3.to(device),
            y_enc.to(device),
            worms=worms,
            history=self._history_positions(worms, device, fitting=True),
            split_y=split_y,
            weights=None if weights is None else weights.to(device),
            baseline_loss=baseline,
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
            net = self._make_net(module, seed=seed + 1)
            net.initialize()
            self._check_routed_callbacks(net)
            self.net_ = net
        else:
            self._update_net()
        if train:
            epochs = {"epochs": 1} if partial else {}
            with torch_threads():
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

    def _history_positions(self, worms, device, fitting=False):
        """Row positions of the ``_burn_in_rows`` frames ending at each row.

        In ``fit`` a burn-in longer than every worm is refused: its rows would be
        mostly copies of a worm's first frame, and the memory of a training
        batch's burn-in grows with ``batch_size * burn_in``.
        """
        length = self._burn_in_rows
        if not length:
            return None
        longest = int(worms.lengths.max())
        if fitting and length > longest:
            raise ValueError(
                f"burn_in={length} is longer than every worm in X (the longest has "
                f"{longest} frames): the burn-in would be mostly copies of a worm's "
                "first frame, at a memory cost that grows with burn_in. Use "
                f"burn_in <= {longest}."
            )
        history = np.empty((worms.n_samples, length), dtype=np.int64)
        offsets = np.arange(-length + 1, 1)
        for pos in worms.rows:
            steps = np.arange(len(pos))[:, None] + offsets[None, :]
            # A worm's first rows have no predecessors: repeat its first frame.
            history[pos] = pos[np.clip(steps, 0, None)]
        return torch.from_numpy(history).to(device)

    # The net's parameters of the same name as the estimator's: the net is built
    # with them and, when training continues (warm_start, partial_fit), they are
    # set on it again. The optimizer class and the device are fixed when built.
    _NET_PARAMS = ("lr", "max_epochs", "batch_size", "train_split", "verbose",
                   "interrupt")  # fmt: skip

    def _net_params(self):
        """Training parameters of the net, from the estimator's current ones."""
        return {
            **{name: getattr(self, name) for name in self._NET_PARAMS},
            "optimizer__weight_decay": self.weight_decay,
            "callbacks": self._fit_callbacks(),
            **self._routed_params(),
        }

    def _make_net(self, module, seed):
        """The private skorch net that trains ``module``, its batches seeded by
        ``seed``."""
        return self._net_class(
            module=module,
            criterion=self._criterion,
            optimizer=_optimizer_class(self.optimizer),
            device=self.device,
            warm_start=True,
            random_state=seed,
            **self._net_params(),
        )

    def _update_net(self):
        """Apply the current training parameters to the net that warm_start continues.

        The network itself (its architecture) is kept as first built.
        """
        self.net_.set_params(**self._net_params())

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
        return self._fit(X, y, groups, method="initialize", train=False)

    # -- prediction ------------------------------------------------------------------

    def _predict_input(self, X, groups, method, what="prediction"):
        """``(X3, worms)`` of a fitted model's input to the public call ``method``:
        validated, unseen neurons ignored, one-frame worms refused."""
        check_is_fitted(self, "net_")
        X3, worms = self._validate_X(X, reset=False, groups=groups, method=method)
        self._ignore_unseen(X3, worms)
        if self.norm:
            refuse_one_frame_worms(worms, what)
        return X3, worms

    def _forward(self, X, groups, method):
        """Run every worm of X as one batch; return the output in row order."""
        X3, worms = self._predict_input(X, groups, method)
        device = torch.device(self.device)
        dataset = WormDataset(
            X3.to(device), worms=worms,
            history=self._history_positions(worms, device),
        )
        with torch_threads():
            out = self.net_.forward(dataset, training=False)
        result = torch.empty_like(out)
        result[torch.as_tensor(worms.order)] = out
        self._check_finite_output(result, X3, worms)
        return result

    def _check_finite_output(self, out, X3, worms):
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
        code = worms.codes[int(np.flatnonzero(~finite.numpy())[0])]
        rows = worms.rows[code]
        largest = float(torch.nan_to_num(X3[rows]).abs().max())  # absent: NaN
        raise ValueError(
            f"The network's output is not finite for worm {worms.labels[code]!r} "
            f"({int((~finite.numpy()[rows]).sum())} of its {len(rows)} "
            f"rows): its inputs reach |x| = {largest:.3g}, too large for the "
            "network's float32 computations. Scale the inputs (PerWormScaler), as "
            "for training, before predicting."
        )

    _metric = None  # accuracy_score or r2_score, set by the subclasses

    @fill_doc
    def score(self, X, y, sample_weight=None, groups=None):
        """Score :meth:`predict` on ``X`` against ``y``: the classifiers'
        accuracy (labels never seen in ``fit`` count as errors), the regressors'
        R^2 (averaged uniformly over target columns).

        Parameters
        ----------
        %(models_X)s
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True labels or targets.
        %(models_sample_weight_score)s
        %(models_groups)s

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "net_")
        return self._metric(y, self._predict(X, groups, "score"),
                            sample_weight=sample_weight)

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


def _init_parameters(cls):
    """Keyword parameters of ``cls.__init__`` (those a routed name may set)."""
    return {
        name for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


# Lines of torch.load's refusal that advise unsafe loading or filing a torch issue.
_TORCH_LOAD_ADVICE = ("weights_only", "weights only", "documentation of torch.load")


class ParameterFileError(pickle.UnpicklingError, ValueError):
    """A file given to ``load_params`` is not a parameter file wormsk loads safely
    (a ``ValueError``, and a ``pickle.UnpicklingError`` as torch's refusal is)."""


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
