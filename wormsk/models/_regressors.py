"""Trajectory forecasters and general regressors: the paper's MLP, GNN and GRU."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted
from skorch import NeuralNetRegressor
from torch import nn

from .._utils import check_positive_int
from ..nn import (
    GRUForecaster,
    MarkovForecaster,
    MLPBlock,
    WormGNN,
    WormMLP,
    init_weights,
)
from ..nn._forecast import _burn_in
from ._data import _History
from ._docs import _MISSING_DOC, _ROUTED_DOC, _RUN_DOC
from ._estimator import _WormEstimator
from ._graph import _GraphMixin
from ._net import _WormNetMixin

_TARGETS = ("auto", "forecast", "direct")


class _RegressorNet(_WormNetMixin, NeuralNetRegressor):
    """skorch regressor on per-worm batches (private).

    In forecast mode a batch's targets are the next frames (B, k, N, C): training
    rolls out ``rollout_horizon_`` steps with scheduled sampling, prediction rolls
    out all ``horizon_`` steps from the input alone. In direct mode it is a plain
    regression of (B, n_outputs) targets.
    """

    def _teacher_prob(self):
        if not self.teacher_forcing_epochs_:
            return 0.0
        epoch = max(len(self.history) - 1, 0)
        return max(0.0, 1.0 - epoch / self.teacher_forcing_epochs_)

    def _predict_targets(self, Xi, yi, teacher_prob):
        Xi = _module_input(Xi)
        if self.horizon_ is None:
            return self.module_(Xi), yi
        targets = yi[:, : self.rollout_horizon_]
        y_pred = self.module_(
            Xi,
            horizon=self.rollout_horizon_,
            targets=targets,
            teacher_prob=teacher_prob,
            generator=self.generator_,
        )
        return y_pred, targets

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = batch
        y_pred, y_true = self._predict_targets(Xi, yi, self._teacher_prob())
        loss = self.get_loss(y_pred, y_true, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, yi = batch
        with torch.no_grad():
            y_pred, y_true = self._predict_targets(Xi, yi, 0.0)
            loss = self.get_loss(y_pred, y_true, X=Xi, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def infer(self, x, **fit_params):
        x = _module_input(x)
        if self.horizon_ is None:
            return self.module_(x)
        return self.module_(x, horizon=self.horizon_).flatten(1)


class _MaskedMSELoss(nn.MSELoss):
    """Mean squared error over the known targets: the frames of neurons absent
    from a worm are NaN in the targets (and in the forecasts) and carry no loss."""

    def forward(self, input, target):
        known = ~torch.isnan(target)
        if bool(known.all()):
            return super().forward(input, target)
        return super().forward(input[known], target[known])


def _module_input(X):
    """What the network takes: a burn-in as its (frames, rows) pair."""
    return X.parts() if isinstance(X, _History) else X


class _GRUReadout(nn.Module):
    """GRU over the burn-in frames, then a linear head: direct (non-forecast) output.

    Mirrors :class:`wormsk.nn.GRUForecaster`'s encoder (one MLP block per frame,
    batch statistics over the frames of one time step) so that GRURegressor is a
    general regressor too.
    """

    def __init__(self, n_neurons, n_channels, n_outputs, hidden_size, norm):
        super().__init__()
        # nn.GRU refuses numpy integers, which a parameter grid hands out.
        h = check_positive_int(hidden_size, "hidden_size")
        self.frame_shape = (n_neurons, n_channels)
        self.encoder = MLPBlock(n_neurons * n_channels, h, h, norm)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.head = nn.Linear(h, n_outputs)
        init_weights(self)

    def forward(self, history):
        step, _, n_burn = _burn_in(history, *self.frame_shape)
        state = None
        for k in range(n_burn):
            encoded = self.encoder(step(k).flatten(1)).unsqueeze(1)
            _, state = self.gru(encoded, state)
        return self.head(state[-1])


def _start_from_no_change(module):
    """Zero the output head of a forecaster so that it starts as "no change".

    The Markov step x + tanh(f(x)) (and the GRU's residual head) then predicts
    x_{t+1} = x_t before training, the strong baseline for smooth calcium traces,
    and learns the changes from there (the authors' bias of 0.1 would start every
    rollout drifting). Measured on simulated worms, this lowered the 1-step error
    on unseen worms below that of no change for the GNN, which it did not reach
    with the default initialization.
    """
    head = getattr(module, "step", module).head
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
    return module


class _WormRegressor(RegressorMixin, _WormEstimator):
    """Target handling, training set-up and prediction shared by the regressors."""

    _parameter_constraints: dict = {
        **_WormEstimator._parameter_constraints,
        "train_horizon": [Interval(Integral, 1, None, closed="left")],
        "teacher_forcing_epochs": [Interval(Real, 0, None, closed="left")],
        "target": [StrOptions(set(_TARGETS))],
    }
    _criterion = _MaskedMSELoss

    def _encode_y(self, y, n_samples, reset, classes=None):
        # NaN is allowed only where a forecast target's neuron is absent from the
        # worm (checked against X in _check_y_absent); never in direct targets.
        y = check_array(y, ensure_2d=False, dtype=np.float32, input_name="y",
                        ensure_all_finite="allow-nan")
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D; got shape {y.shape}.")
        if y.shape[0] != n_samples:
            raise ValueError(
                f"y has {y.shape[0]} rows but X has {n_samples}; give one target row "
                "per row of X."
            )
        width = 1 if y.ndim == 1 else y.shape[1]
        if width == 0:
            raise ValueError("y has 0 columns; give at least one target.")
        if reset:
            self._set_target_mode(y, width)
        elif (y.ndim, width) != (self._y_ndim, self.n_outputs_):
            raise ValueError(
                f"y has shape {y.shape} but the first fit had {self.n_outputs_} "
                "target column(s); with warm_start=True the targets must keep their "
                "shape."
            )
        if self.horizon_ is not None:
            k = self.horizon_
            y = y.reshape(n_samples, k, self.n_neurons_, self.n_channels_)
            return torch.tensor(y), None
        missing = np.isnan(y).reshape(n_samples, -1).any(axis=1)
        if missing.any():
            raise ValueError(
                f"Input y contains NaN in {int(missing.sum())} rows, the first at row "
                f"{int(np.flatnonzero(missing)[0])}; direct targets must all be "
                "known: drop those rows."
            )
        y = (y.reshape(n_samples, width) - self.target_mean_) / self.target_scale_
        return torch.tensor(y, dtype=torch.float32), None

    def _set_target_mode(self, y, width):
        n_features = self.n_features_in_
        whole = y.ndim == 2 and width % n_features == 0
        if self.target == "forecast" and not whole:
            raise ValueError(
                f"target='forecast' needs Y of width horizon * n_features (a whole "
                f"multiple of {n_features}, frame-major); got shape {y.shape}."
            )
        forecast = whole if self.target == "auto" else self.target == "forecast"
        self._y_ndim = y.ndim
        self.n_outputs_ = width
        if forecast:
            self.horizon_ = width // n_features
            self.target_mean_ = self.target_scale_ = None
        else:
            self.horizon_ = None
            # Direct targets (a speed in mm/s, say) are standardized for training
            # so that the default learning rate suits any unit.
            flat = y.reshape(len(y), width).astype(np.float64)
            self.target_mean_ = flat.mean(axis=0)
            scale = flat.std(axis=0)
            self.target_scale_ = np.where(scale > 0, scale, 1.0)

    def _baseline_loss(self, X3, y_enc):
        # In numpy: float64 sums, and the torch path stays float32 throughout.
        y = y_enc.numpy().astype(np.float64)
        if self.horizon_ is None:
            # Predicting the mean of the standardized targets.
            return float(np.mean(y**2))
        # Predicting no change over the training rollout (where the network starts).
        steps = min(int(self.train_horizon), self.horizon_)
        change = y[:, :steps] - X3.numpy()[:, None].astype(np.float64)
        return float(np.nanmean(change**2))  # absent neurons carry no loss

    def _check_y_absent(self, X3, y_enc, codes, labels):
        """Forecast targets are NaN exactly where X's neuron is absent."""
        if self.horizon_ is None:
            return
        absent = torch.isnan(X3).unsqueeze(1).expand_as(y_enc)
        wrong = torch.isnan(y_enc) != absent
        if not bool(wrong.any()):
            return
        row, step, neuron, _ = (int(i) for i in wrong.nonzero()[0])
        name = self.neuron_names_[neuron]
        gone = bool(absent[row, step, neuron, 0])
        problem = (
            "Input y (the next frames) has a known value for an absent neuron"
            if gone else "Input y contains NaN at a recorded neuron"
        )
        raise ValueError(
            f"{problem}: neuron {name!r} is "
            f"{'absent from' if gone else 'recorded in'} worm "
            f"{labels[codes[row]]!r} (row {row}) but its target at step {step + 1} "
            f"is {'known' if gone else 'NaN'}. A forecast target is NaN exactly for "
            "the neurons absent from the worm (NaN in all its frames of X), as "
            "make_trajectory_targets builds it; NaN inside a recorded trace is "
            "refused."
        )

    def _check_finite_output(self, out, X3, codes, labels):
        # Forecasts of absent neurons are NaN by design (``out`` may also be
        # inferred_graph's per-row flags, which need no such allowance).
        if self.horizon_ is not None and out.ndim == 2:
            absent = torch.isnan(X3).unsqueeze(1).expand(-1, self.horizon_, -1, -1)
            out = torch.where(absent.reshape(out.shape), 0.0, out)
        super()._check_finite_output(out, X3, codes, labels)

    def _make_net(self, module):
        net = _RegressorNet(
            module=module, criterion=_MaskedMSELoss, **self._net_kwargs()
        )
        self._set_rollout(net)
        return net

    def _update_net(self):
        super()._update_net()
        self._set_rollout(self.net_)

    def _set_rollout(self, net):
        net.horizon_ = self.horizon_
        # int(): train_horizon may be a numpy integer (checked before we get here).
        net.rollout_horizon_ = (
            None
            if self.horizon_ is None
            else min(int(self.train_horizon), self.horizon_)
        )
        net.teacher_forcing_epochs_ = self.teacher_forcing_epochs

    def fit(self, X, y, groups=None, sample_weight=None):
        """Train on frames ``X`` and targets ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            One row per frame (x_t), neuron-major columns, ``n_channels`` per neuron.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            With ``target="auto"``: a 2-D ``y`` of width ``k * n_features`` holds the
            next k frames after each row (frame-major, as built by
            :func:`wormsk.preprocessing.make_trajectory_targets`) and is forecast by
            rollouts; any other ``y`` is regressed directly.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input (routed by metadata routing).
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every row in the loss (routed like ``groups``); the weights
            do not enter the per-worm batch statistics.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, sample_weight=sample_weight)

    def partial_fit(self, X, y, groups=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing the model of earlier calls.

        The first call (on an unfitted estimator) builds the network from the
        shapes of ``X`` and ``y``; later calls need the same columns and target
        width. Batches hold frames of one worm each, as in :meth:`fit`; the
        scheduled sampling counts the epochs of all calls.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets, as for :meth:`fit`.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of every row in the loss.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, sample_weight=sample_weight, partial=True)

    def predict(self, X, groups=None):
        """Forecast the next ``horizon_`` frames of every row, or the direct targets.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames of one or more worms; each worm is one batch.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        y : ndarray
            Forecasts of shape (n_samples, k * n_features), k = ``horizon_``, rolled
            out from each row alone (no true frame fed back), frame-major like the
            training targets; or direct predictions shaped like the ``y`` of
            ``fit``: (n_samples,) or (n_samples, n_targets).
        """
        out = self._forward(X, groups)
        out = out.cpu().numpy().astype(np.float64)
        if self.horizon_ is None:
            out = out * self.target_scale_ + self.target_mean_
            if self._y_ndim == 1:
                out = out.ravel()
        return out

    def score(self, X, y, sample_weight=None, groups=None):
        """R^2 of :meth:`predict` (averaged uniformly over target columns).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Frames.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True targets.
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows.
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        score : float
        """
        check_is_fitted(self, "net_")
        return r2_score(y, self.predict(X, groups), sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


_COMMON_DOC = """
    lr : float, default=3e-3
        Adam learning rate (the paper: 1e-3 for the MLP, 5e-4 for the GNN, 600
        epochs).
    max_epochs : int, default=10
        Training epochs. (With the default teacher_forcing_epochs, short runs
        train mostly on true inputs, i.e. one-step prediction.)
    batch_size : int, default=256
        Frames per training batch, every batch drawn from one worm. Prediction
        runs each worm as one batch regardless. -1: whole worms.
    optimizer : torch optimizer class or str, default=torch.optim.Adam
        A name selects that optimizer of ``torch.optim`` (case-insensitive, e.g.
        ``"adam"``, ``"adamw"``, ``"sgd"``).
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    n_channels : int or "auto", default="auto"
        Columns per neuron: ``"auto"`` reads it from ``<NEURON>_<channel>``
        column names, else one channel per column (every column a node); an
        integer fixes it.
    norm : bool, default=True
        Normalize by the statistics of the current batch (one worm) in training
        and prediction alike.
    train_horizon : int, default=8
        Steps rolled out in training (at most the target's k frames), as in the
        paper.
    teacher_forcing_epochs : float, default=275
        Scheduled sampling: at epoch e (from 0) each training step feeds the true
        next frame with probability ``max(0, 1 - e / teacher_forcing_epochs)``,
        else the prediction (the paper's 275). 0: always self-fed.
    target : {"auto", "forecast", "direct"}, default="auto"
        ``"auto"``: a 2-D ``y`` whose width is a whole multiple k of
        ``n_features_in_`` is read as the next k frames and forecast; other ``y``
        (1-D, or other widths, e.g. a behavioural variable) is regressed directly
        through a graph-level readout, standardized internally.
    train_split : callable or None, default=None
        Internal validation split; ``None`` trains on everything.
        ``ValidSplit(5)`` / ``ValidSplit(0.2)`` hold out whole worms (GroupKFold,
        GroupShuffleSplit on the worms); a ValidSplit of a group splitter gets
        the worm of every row as ``groups``; ``ValidSplit(KFold(5))`` splits
        frames within worms.
    callbacks : list of skorch callbacks, default=None
        Added (as copies) to the private skorch net.
        A ``Checkpoint`` (or ``TrainEndCheckpoint``) writes into
        ``<dirname>/<checkpoint_folder_>``, a folder of each fit's own, so fits run
        in parallel (``GridSearchCV(n_jobs=...)``, a Dask cluster) never share
        files; ``load_params(checkpoint=...)`` with that Checkpoint reads them.
    warm_start : bool, default=False
        If True and fitted, ``fit`` continues training for ``max_epochs`` more.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, batch shuffling and scheduled sampling.
""" + _RUN_DOC + _ROUTED_DOC + """
    Attributes
    ----------
    n_channels_ : int
        Columns per neuron used (``n_channels``, or what ``"auto"`` read).
    horizon_ : int or None
        k, the number of frames forecast per row; None in direct mode.
    n_outputs_ : int
        Width of ``y`` (1 for 1-D ``y``).
    target_mean_, target_scale_ : ndarray or None
        Standardization of direct targets (None when forecasting).
    n_features_in_, feature_names_in_, n_neurons_, neuron_names_, net_, module_,
    history_, checkpoint_folder_, unseen_neurons_
        As for the classifiers.

    Notes
    -----""" + _MISSING_DOC


class MLPRegressor(_WormRegressor):
    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        "aggregation": [StrOptions({"concat", "sum"})],
    }

    __doc__ = (
        """The paper's MLP as a trajectory forecaster (and general regressor).

    Forecasting is Markovian, x_{t+1} = x_t + tanh(f(x_t)) with f the MLP giving one
    update per neuron and channel, rolled out by feeding predictions back.

    Parameters
    ----------
    hidden_size : int, default=16
        Width of every hidden layer (the paper used 256 for trajectories).
    aggregation : {"concat", "sum"}, default="concat"
        How the network combines the neuron encodings."""
        + _COMMON_DOC
        + """
    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.preprocessing import make_trajectory_targets
    >>> from wormsk.models import MLPRegressor
    >>> X, _ = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> X_t, Y = make_trajectory_targets(X, horizon=4)
    >>> reg = MLPRegressor(max_epochs=3, random_state=0).fit(X_t, Y)
    >>> reg.horizon_, reg.predict(X_t).shape == Y.shape
    (4, True)
    """
    )

    def __init__(
        self,
        hidden_size=16,
        aggregation="concat",
        lr=3e-3,
        max_epochs=10,
        batch_size=256,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        n_channels="auto",
        norm=True,
        train_horizon=8,
        teacher_forcing_epochs=275,
        target="auto",
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
        self.train_horizon = train_horizon
        self.teacher_forcing_epochs = teacher_forcing_epochs
        self.target = target
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
        n, c = X3.shape[1], X3.shape[2]
        common = dict(hidden_size=self.hidden_size, aggregation=self.aggregation,
                      norm=self.norm)
        if self.horizon_ is None:
            return WormMLP(n, c, n_outputs=self.n_outputs_, readout="graph", **common)
        step = WormMLP(n, c, n_outputs=c, readout="node", **common)
        return _start_from_no_change(MarkovForecaster(step))


class GNNRegressor(_GraphMixin, _WormRegressor):
    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        **_GraphMixin._parameter_constraints,
        "aggregation": [StrOptions({"concat", "sum"})],
    }

    __doc__ = (
        """The paper's GNN as a trajectory forecaster (and general regressor).

    Forecasting is Markovian, x_{t+1} = x_t + tanh(f(x_t)) with f the GNN giving
    one update per neuron and channel (node readout), on an inferred graph (one per
    frame by default, as in the paper's trajectory model) or a fixed
    ``adjacency``.

    Parameters
    ----------
    hidden_size : int, default=16
        Width of every hidden layer (the paper used 256 for trajectories).
    aggregation : {"concat", "sum"}, default="concat"
        Graph readout of direct regression (forecasts use a per-node readout).
    edges : {"static", "dynamic"}, default="dynamic"
        One inferred graph per frame (``"dynamic"``) or per batch, i.e. per worm.
    adjacency : array-like of shape (n_neurons, n_neurons) or DataFrame, default=None
        A fixed graph instead of an inferred one; ``adjacency[i, j]`` weighs the
        message from neuron j to neuron i; a DataFrame is aligned by neuron name."""
        + _COMMON_DOC
        + """
    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.preprocessing import make_trajectory_targets
    >>> from wormsk.models import GNNRegressor
    >>> X, _ = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> X_t, Y = make_trajectory_targets(X, horizon=4)
    >>> reg = GNNRegressor(max_epochs=2, random_state=0).fit(X_t, Y)
    >>> reg.predict(X_t).shape == Y.shape
    True
    """
    )

    def __init__(
        self,
        hidden_size=16,
        aggregation="concat",
        edges="dynamic",
        adjacency=None,
        lr=3e-3,
        max_epochs=10,
        batch_size=256,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        n_channels="auto",
        norm=True,
        train_horizon=8,
        teacher_forcing_epochs=275,
        target="auto",
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
        self.train_horizon = train_horizon
        self.teacher_forcing_epochs = teacher_forcing_epochs
        self.target = target
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
        n, c = X3.shape[1], X3.shape[2]
        common = dict(hidden_size=self.hidden_size, aggregation=self.aggregation,
                      edges=self.edges, adjacency=self._adjacency_tensor(),
                      norm=self.norm)
        if self.horizon_ is None:
            return WormGNN(n, c, n_outputs=self.n_outputs_, readout="graph", **common)
        step = WormGNN(n, c, n_outputs=c, readout="node", **common)
        return _start_from_no_change(MarkovForecaster(step))


class GRURegressor(_WormRegressor):
    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        "burn_in": [Interval(Integral, 1, None, closed="left")],
    }

    __doc__ = (
        """The paper's recurrent variant: a GRU forecaster with a burn-in.

    Each frame (all neurons and channels) is encoded by an MLP block, a GRU runs
    over the ``burn_in`` frames ending at the current row, and the rollout predicts
    x_{k+1} = x_k + tanh(head(h_k)), feeding predictions back. The burn-in frames
    are the preceding rows of the same worm in ``X`` (rows must be in time order;
    a worm's first rows repeat its first frame as padding). With
    :func:`~wormsk.preprocessing.make_trajectory_targets` (``stride=1``) those are
    the preceding frames.

    Parameters
    ----------
    hidden_size : int, default=64
        Width of the frame encoder and of the GRU state.
    burn_in : int, default=4
        True frames (the current one included) the GRU reads before rolling out."""
        + _COMMON_DOC
        + """
    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> from wormsk.preprocessing import make_trajectory_targets
    >>> from wormsk.models import GRURegressor
    >>> X, _ = make_worms(n_worms=2, n_frames=300, random_state=0, return_X_y=True)
    >>> X_t, Y = make_trajectory_targets(X, horizon=4)
    >>> reg = GRURegressor(max_epochs=2, random_state=0).fit(X_t, Y)
    >>> reg.predict(X_t).shape == Y.shape
    True
    """
    )

    def __init__(
        self,
        hidden_size=64,
        burn_in=4,
        lr=3e-3,
        max_epochs=10,
        batch_size=256,
        optimizer=torch.optim.Adam,
        weight_decay=0.0,
        n_channels="auto",
        norm=True,
        train_horizon=8,
        teacher_forcing_epochs=275,
        target="auto",
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
        self.burn_in = burn_in
        self.lr = lr
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.n_channels = n_channels
        self.norm = norm
        self.train_horizon = train_horizon
        self.teacher_forcing_epochs = teacher_forcing_epochs
        self.target = target
        self.train_split = train_split
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.interrupt = interrupt
        self._set_routed(kwargs)

    @property
    def _burn_in_rows(self):
        return int(self.burn_in)  # checked by the constraints in fit

    def _build_module(self, X3, y_enc):
        n, c = X3.shape[1], X3.shape[2]
        if self.horizon_ is None:
            return _GRUReadout(n, c, self.n_outputs_, self.hidden_size, self.norm)
        forecaster = GRUForecaster(n, c, hidden_size=self.hidden_size, norm=self.norm)
        return _start_from_no_change(forecaster)
