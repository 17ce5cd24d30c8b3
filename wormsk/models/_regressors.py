"""Trajectory forecasters and general regressors: the paper's MLP, GNN and GRU."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array
from skorch import NeuralNetRegressor
from torch import nn

from ..nn import GRUForecaster, GRUReadout, MarkovForecaster, WormGNN, WormMLP
from ._data import module_input
from ._docs import fill_doc
from ._estimator import WormEstimator
from ._graph import GraphMixin
from ._net import WormNetMixin, seeded_generator

_TARGETS = ("auto", "forecast", "direct")


class _RegressorNet(WormNetMixin, NeuralNetRegressor):
    """skorch regressor on per-worm batches (private).

    In forecast mode (``horizon`` k, an int) a batch's targets are the next
    frames (B, k, N, C): training rolls out ``rollout_horizon_`` =
    min(``train_horizon``, k) steps with scheduled sampling over
    ``teacher_forcing_epochs``, drawing from ``sampling_generator_`` (seeded
    apart from the batches, so it never shifts the batch order); prediction
    rolls out all k steps from the input alone. With ``horizon=None`` it is a
    plain regression of (B, n_outputs) targets.
    """

    def __init__(self, *args, horizon=None, train_horizon=8,
                 teacher_forcing_epochs=0, **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        self.horizon = horizon
        self.train_horizon = train_horizon
        self.teacher_forcing_epochs = teacher_forcing_epochs

    def initialize(self):
        super().initialize()
        self.sampling_generator_ = seeded_generator(self.random_state, offset=1)
        return self

    @property
    def rollout_horizon_(self):
        """Steps rolled out in training (None in direct mode)."""
        if self.horizon is None:
            return None
        # int(): train_horizon may be a numpy integer from a parameter grid.
        return min(int(self.train_horizon), int(self.horizon))

    def _teacher_prob(self):
        if not self.teacher_forcing_epochs:
            return 0.0
        epoch = max(len(self.history) - 1, 0)
        return max(0.0, 1.0 - epoch / self.teacher_forcing_epochs)

    def _predict_targets(self, Xi, yi, teacher_prob):
        Xi = module_input(Xi)
        if self.horizon is None:
            return self.module_(Xi), yi
        steps = self.rollout_horizon_
        targets = yi[:, :steps]
        y_pred = self.module_(
            Xi,
            horizon=steps,
            targets=targets,
            teacher_prob=teacher_prob,
            generator=self.sampling_generator_,
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
        x = module_input(x)
        if self.horizon is None:
            return self.module_(x)
        return self.module_(x, horizon=self.horizon).flatten(1)


class _MaskedMSELoss(nn.MSELoss):
    """Mean squared error over the known targets: the frames of neurons absent
    from a worm are NaN in the targets (and in the forecasts) and carry no loss."""

    def forward(self, input, target):
        known = ~torch.isnan(target)
        if bool(known.all()):
            return super().forward(input, target)
        return super().forward(input[known], target[known])


class _WormRegressor(RegressorMixin, WormEstimator):
    """Target handling, training set-up and prediction shared by the regressors."""

    _parameter_constraints: dict = {
        **WormEstimator._parameter_constraints,
        "train_horizon": [Interval(Integral, 1, None, closed="left")],
        "teacher_forcing_epochs": [Interval(Real, 0, None, closed="left")],
        "target": [StrOptions(set(_TARGETS))],
    }
    _criterion = _MaskedMSELoss
    _net_class = _RegressorNet
    _metric = staticmethod(r2_score)
    # The estimators' score, not the mixin's: it resolves worm identity.
    score = WormEstimator.score
    _NET_PARAMS = (*WormEstimator._NET_PARAMS, "train_horizon",
                   "teacher_forcing_epochs")  # fmt: skip

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

    def _check_y_absent(self, X3, y_enc, worms):
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
            f"{worms.labels[worms.codes[row]]!r} (row {row}) but its target at step "
            f"{step + 1} "
            f"is {'known' if gone else 'NaN'}. A forecast target is NaN exactly for "
            "the neurons absent from the worm (NaN in all its frames of X), as "
            "make_trajectory_targets builds it; NaN inside a recorded trace is "
            "refused."
        )

    def _check_finite_output(self, out, X3, worms):
        # Forecasts of absent neurons are NaN by design (``out`` may also be
        # inferred_graph's per-row flags, which need no such allowance).
        if self.horizon_ is not None and out.ndim == 2:
            absent = torch.isnan(X3).unsqueeze(1).expand(-1, self.horizon_, -1, -1)
            out = torch.where(absent.reshape(out.shape), 0.0, out)
        super()._check_finite_output(out, X3, worms)

    def _net_params(self):
        return {**super()._net_params(), "horizon": self.horizon_}

    @fill_doc
    def partial_fit(self, X, y, groups=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``, continuing the model of earlier calls.

        The first call (on an unfitted estimator) builds the network from the
        shapes of ``X`` and ``y``; later calls need the same columns and target
        width. Batches hold frames of one worm each, as in :meth:`fit`; the
        scheduled sampling counts the epochs of all calls.

        Parameters
        ----------
        %(models_X)s
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets, as for :meth:`fit`.
        %(models_groups)s
        %(models_sample_weight_fit)s

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, method="partial_fit",
                         sample_weight=sample_weight, partial=True)

    @fill_doc
    def predict(self, X, groups=None):
        """Forecast the next ``horizon_`` frames of every row, or the direct targets.

        Parameters
        ----------
        %(models_X)s
        %(models_groups)s

        Returns
        -------
        y : ndarray
            Forecasts of shape (n_samples, k * n_features), k = ``horizon_``, rolled
            out from each row alone (no true frame fed back), frame-major like the
            training targets; or direct predictions shaped like the ``y`` of
            ``fit``: (n_samples,) or (n_samples, n_targets).
        """
        return self._predict(X, groups, "predict")

    def _predict(self, X, groups, method):
        out = self._forward(X, groups, method)
        out = out.cpu().numpy().astype(np.float64)
        if self.horizon_ is None:
            out = out * self.target_scale_ + self.target_mean_
            if self._y_ndim == 1:
                out = out.ravel()
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


@fill_doc
class MLPRegressor(_WormRegressor):
    """The paper's MLP as a trajectory forecaster (and general regressor).

    Forecasting is Markovian, x_{t+1} = x_t + tanh(f(x_t)) with f the MLP giving one
    update per neuron and channel, rolled out by feeding predictions back.

    Parameters
    ----------
    %(models_hidden_size_regressor)s
    aggregation : {"concat", "sum"}, default="concat"
        How the network combines the neuron encodings.
    %(models_regressor_parameters)s

    %(models_regressor_sections)s

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

    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        "aggregation": [StrOptions({"concat", "sum"})],
    }

    def __init__(
        self,
        *,
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
        self._store(locals())

    _missing_nodes = "sum"

    def _build_module(self, X3, y_enc):
        n, c = X3.shape[1], X3.shape[2]
        common = dict(hidden_size=self.hidden_size, aggregation=self.aggregation,
                      norm=self.norm)
        if self.horizon_ is None:
            return WormMLP(n, c, n_outputs=self.n_outputs_, readout="graph", **common)
        step = WormMLP(n, c, n_outputs=c, readout="node", **common)
        return MarkovForecaster(step).start_from_no_change()


@fill_doc
class GNNRegressor(GraphMixin, _WormRegressor):
    """The paper's GNN as a trajectory forecaster (and general regressor).

    Forecasting is Markovian, x_{t+1} = x_t + tanh(f(x_t)) with f the GNN giving
    one update per neuron and channel (node readout), on an inferred graph (one per
    frame by default, as in the paper's trajectory model) or a fixed
    ``adjacency``.

    Parameters
    ----------
    %(models_hidden_size_regressor)s
    aggregation : {"concat", "sum"}, default="concat"
        Graph readout of direct regression (forecasts use a per-node readout).
    edges : {"static", "dynamic"}, default="dynamic"
        One inferred graph per frame (``"dynamic"``) or per batch, i.e. per worm.
        Ignored when ``adjacency`` is given.
    %(models_adjacency)s
    %(models_regressor_parameters)s

    %(models_regressor_sections)s

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

    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        **GraphMixin._parameter_constraints,
        "aggregation": [StrOptions({"concat", "sum"})],
    }

    def __init__(
        self,
        *,
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
        self._store(locals())

    _missing_nodes = "always"

    def _build_module(self, X3, y_enc):
        n, c = X3.shape[1], X3.shape[2]
        common = dict(hidden_size=self.hidden_size, aggregation=self.aggregation,
                      edges=self.edges, adjacency=self._adjacency_tensor(),
                      norm=self.norm)
        if self.horizon_ is None:
            return WormGNN(n, c, n_outputs=self.n_outputs_, readout="graph", **common)
        step = WormGNN(n, c, n_outputs=c, readout="node", **common)
        return MarkovForecaster(step).start_from_no_change()


@fill_doc
class GRURegressor(_WormRegressor):
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
        True frames (the current one included) the GRU reads before rolling out.
    %(models_regressor_parameters)s

    %(models_regressor_sections)s

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

    _parameter_constraints: dict = {
        **_WormRegressor._parameter_constraints,
        "burn_in": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
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
        self._store(locals())

    @property
    def _burn_in_rows(self):
        return int(self.burn_in)  # checked by the constraints in fit

    def _build_module(self, X3, y_enc):
        n, c = X3.shape[1], X3.shape[2]
        if self.horizon_ is None:
            return GRUReadout(n, c, self.n_outputs_, self.hidden_size, self.norm)
        forecaster = GRUForecaster(n, c, hidden_size=self.hidden_size, norm=self.norm)
        return forecaster.start_from_no_change()
