"""Trajectory forecasters: the Markovian rollout and the GRU variant."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._blocks import (
    MLPBlock,
    _check_frames,
    _check_positive_int,
    _node_mask,
    init_weights,
)

__all__ = ["MarkovForecaster", "GRUForecaster"]


def _check_rollout_args(horizon, targets, teacher_prob, batch, n_neurons, n_channels):
    horizon = _check_positive_int(horizon, "horizon")
    if isinstance(teacher_prob, bool) or not isinstance(teacher_prob, (int, float)):
        raise ValueError(
            f"teacher_prob must be a number in [0, 1]; got {teacher_prob!r}."
        )
    if not 0.0 <= teacher_prob <= 1.0:
        raise ValueError(f"teacher_prob must be in [0, 1]; got {teacher_prob!r}.")
    if targets is None:
        if teacher_prob > 0 and horizon > 1:
            raise ValueError(
                f"teacher_prob={teacher_prob} feeds true frames back, so targets of "
                f"shape (batch, horizon, n_neurons, n_channels) are required."
            )
        return horizon
    _check_frames(targets, n_neurons, n_channels, name="targets", leading=2)
    if targets.shape[0] != batch or targets.shape[1] < horizon - 1:
        raise ValueError(
            f"targets must have shape ({batch}, horizon={horizon}, {n_neurons}, "
            f"{n_channels}) matching the input batch; got {tuple(targets.shape)}."
        )
    return horizon


def _teacher_forced(teacher_prob: float, generator) -> bool:
    """One Bernoulli(teacher_prob) draw; no draw (and no generator use) at 0 or 1."""
    if teacher_prob <= 0.0:
        return False
    if teacher_prob >= 1.0:
        return True
    return bool(torch.rand((), generator=generator) < teacher_prob)


class MarkovForecaster(nn.Module):
    """Markovian rollout x_{k+1} = x_k + tanh(step(x_k)) with scheduled sampling.

    Parameters
    ----------
    step : torch.nn.Module
        Maps frames (B, N, C) to updates (B, N, C): a :class:`~wormsk.nn.WormMLP` or
        :class:`~wormsk.nn.WormGNN` built with ``readout="node"`` and
        ``n_outputs=n_channels``.

    Examples
    --------
    >>> import torch
    >>> from wormsk.nn import WormGNN
    >>> step = WormGNN(15, n_outputs=2, edges="dynamic", readout="node")
    >>> MarkovForecaster(step)(torch.rand(8, 15, 2), horizon=16).shape
    torch.Size([8, 16, 15, 2])
    """

    def __init__(self, step: nn.Module) -> None:
        super().__init__()
        readout = getattr(step, "readout", "node")
        n_out, n_ch = (
            getattr(step, "n_outputs", None),
            getattr(step, "n_channels", None),
        )
        if readout != "node" or n_out != n_ch:
            raise ValueError(
                "step must predict one update per neuron and channel: build it with "
                f"readout='node' and n_outputs=n_channels; got readout={readout!r}, "
                f"n_outputs={n_out!r}, n_channels={n_ch!r}."
            )
        self.step = step
        self.n_neurons = step.n_neurons
        self.n_channels = step.n_channels

    def forward(
        self,
        x0: torch.Tensor,
        horizon: int,
        targets: torch.Tensor | None = None,
        teacher_prob: float = 0.0,
        generator: torch.Generator | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Roll out ``horizon`` frames from ``x0`` (B, N, C).

        Parameters
        ----------
        x0 : tensor of shape (B, N, C)
            The true frames x_t.
        horizon : int
            Number of frames to predict.
        targets : tensor of shape (B, horizon, N, C), optional
            True frames x_{t+1}, ..., x_{t+horizon}; needed when ``teacher_prob > 0``.
        teacher_prob : float, default=0.0
            Probability, drawn once per step for the whole batch, that the next input
            is the true frame ``targets[:, k]`` instead of the prediction.
        generator : torch.Generator, optional
            Source of the Bernoulli draws (torch's global generator if None).
        mask : bool tensor of shape (B, N), optional
            Present neurons, fixed over the rollout; by default derived once from
            ``x0`` (a neuron with all channels NaN is absent). The step treats
            absent neurons as missing nodes and never reads their values (in
            ``x0``, in predictions or in ``targets``).

        Returns
        -------
        Y : tensor of shape (B, horizon, N, C)
            Predicted frames x_{t+1}, ..., x_{t+horizon}; NaN for absent neurons.
        """
        _check_frames(x0, self.n_neurons, self.n_channels, name="x0")
        horizon = _check_rollout_args(
            horizon, targets, teacher_prob, x0.shape[0], self.n_neurons, self.n_channels
        )
        _, mask = _node_mask(x0, mask, name="mask")
        keep = None if mask is None else mask.unsqueeze(-1)
        # The step always gets the mask: a prediction that overflowed to NaN is
        # an error to report, never a neuron to take as absent.
        step_mask = mask
        if mask is None:
            step_mask = x0.new_ones(x0.shape[:2], dtype=torch.bool)
        x, preds = x0, []
        for k in range(horizon):
            pred = x + torch.tanh(self.step(x, step_mask))
            if keep is not None:
                pred = torch.where(keep, pred, math.nan)
            preds.append(pred)
            if k + 1 < horizon:
                x = targets[:, k] if _teacher_forced(teacher_prob, generator) else pred
        return torch.stack(preds, dim=1)


class GRUForecaster(nn.Module):
    """Recurrent forecaster: frame encoder, GRU over a burn-in, residual rollout.

    Each frame (N*C values) is encoded by an MLP block (Linear-ELU-Linear-ELU, then
    batch-statistics normalization over the B frames of that time step when
    ``norm=True``), a GRU runs over the burn-in frames ending at x_t, and the rollout
    predicts x_{k+1} = x_k + tanh(head(h_k)), feeding predictions (or, with
    probability ``teacher_prob``, true frames) back into the GRU.

    Parameters
    ----------
    n_neurons : int
        Number of neurons N.
    n_channels : int, default=2
        Channels per neuron C.
    hidden_size : int, default=64
        Width of the encoder and of the GRU state.
    norm : bool, default=True
        Batch-statistics normalization in the frame encoder.

    Examples
    --------
    >>> import torch
    >>> net = GRUForecaster(15)
    >>> net(torch.rand(8, 4, 15, 2), horizon=16).shape
    torch.Size([8, 16, 15, 2])
    """

    def __init__(
        self,
        n_neurons: int,
        n_channels: int = 2,
        hidden_size: int = 64,
        norm: bool = True,
    ) -> None:
        super().__init__()
        self.n_neurons = _check_positive_int(n_neurons, "n_neurons")
        self.n_channels = _check_positive_int(n_channels, "n_channels")
        self.hidden_size = h = _check_positive_int(hidden_size, "hidden_size")
        self.norm = bool(norm)
        width = self.n_neurons * self.n_channels
        self.encoder = MLPBlock(width, h, h, norm)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.head = nn.Linear(h, width)
        init_weights(self)

    def forward(
        self,
        history: torch.Tensor | tuple[torch.Tensor, torch.Tensor],
        horizon: int,
        targets: torch.Tensor | None = None,
        teacher_prob: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Roll out ``horizon`` frames after a burn-in ``history`` (B, L, N, C).

        Parameters
        ----------
        history : tensor of shape (B, L, N, C), L >= 1, or a pair (frames, rows)
            True frames x_{t-L+1}, ..., x_t (the burn-in); the rollout starts at x_t.
            As a pair: ``frames`` of shape (M, N, C) and ``rows``, a long tensor
            of shape (B, L) of positions into ``frames``; burn-in step k reads
            ``frames[rows[:, k]]``, so the (B, L, N, C) tensor is never built
            and, without autograd, memory does not grow with L.
        horizon, targets, teacher_prob, generator
            As in :meth:`MarkovForecaster.forward`.

        Returns
        -------
        Y : tensor of shape (B, horizon, N, C)
            Predicted frames x_{t+1}, ..., x_{t+horizon}.
        """
        step, batch, n_burn = _burn_in(history, self.n_neurons, self.n_channels)
        horizon = _check_rollout_args(
            horizon, targets, teacher_prob, batch, self.n_neurons, self.n_channels
        )
        # One GRU step per burn-in frame, each encoded on its own so normalization
        # statistics are always over the B frames of one time step, as in the
        # rollout below.
        state = None
        for k in range(n_burn):
            x = step(k)
            _, state = self.gru(self.encoder(x.flatten(1)).unsqueeze(1), state)
        preds = []
        for k in range(horizon):
            pred = x + torch.tanh(self.head(state[-1])).view_as(x)
            preds.append(pred)
            if k + 1 < horizon:
                x = targets[:, k] if _teacher_forced(teacher_prob, generator) else pred
                _, state = self.gru(self.encoder(x.flatten(1)).unsqueeze(1), state)
        return torch.stack(preds, dim=1)


def _burn_in(history, n_neurons: int, n_channels: int):
    """(frame of burn-in step k, B, L) for a (B, L, N, C) tensor or a
    (frames, rows) pair; checks shapes."""
    if isinstance(history, tuple):
        if len(history) != 2:
            raise ValueError(
                "history as a pair must be (frames, rows); got a tuple of "
                f"{len(history)}."
            )
        frames, rows = history
        _check_frames(frames, n_neurons, n_channels, "frames")
        if (
            not isinstance(rows, torch.Tensor)
            or rows.dtype != torch.long
            or rows.ndim != 2
            or 0 in rows.shape
        ):
            raise ValueError(
                "rows must be a non-empty long tensor of shape (batch, burn_in); got "
                f"{getattr(rows, 'dtype', type(rows).__name__)} of shape "
                f"{tuple(getattr(rows, 'shape', ()))}."
            )
        if int(rows.min()) < 0 or int(rows.max()) >= frames.shape[0]:
            raise ValueError(
                f"rows must be positions into frames (0 to {frames.shape[0] - 1})."
            )
        return (lambda k: frames[rows[:, k]]), rows.shape[0], rows.shape[1]
    _check_frames(history, n_neurons, n_channels, "history", leading=2)
    return (lambda k: history[:, k]), history.shape[0], history.shape[1]
