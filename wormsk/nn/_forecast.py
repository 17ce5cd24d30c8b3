"""Trajectory forecasters: the Markovian rollout and the GRU variant."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._blocks import (
    MLPBlock,
    check_frames,
    check_positive_int,
    init_weights,
    node_mask,
)

__all__ = ["GRUForecaster", "GRUReadout", "MarkovForecaster"]


def _check_rollout_args(horizon, targets, teacher_prob, batch, n_neurons, n_channels):
    horizon = check_positive_int(horizon, "horizon")
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
    check_frames(targets, n_neurons, n_channels, name="targets", leading=2)
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


class _Rollout(nn.Module):
    """What the forecasters share: the start as "no change"."""

    def start_from_no_change(self):
        """Zero the output head, so that the rollout starts as "no change".

        The step x + tanh(head(.)) then predicts x_{t+1} = x_t before training,
        the strong baseline for smooth calcium traces, and learns the changes from
        there (the authors' bias of 0.1 would start every rollout drifting).
        Measured on simulated worms, this lowered the 1-step error on unseen worms
        below that of no change for the GNN, which it did not reach with the
        default initialization.

        Returns
        -------
        self : module
        """
        head = self.step_module.head
        with torch.no_grad():
            head.weight.zero_()
            head.bias.zero_()
        return self


class MarkovForecaster(_Rollout):
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

    @property
    def step_module(self) -> nn.Module:
        """The network that maps one frame (B, N, C) to its update: ``step``."""
        return self.step

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
        check_frames(x0, self.n_neurons, self.n_channels, name="x0")
        horizon = _check_rollout_args(
            horizon, targets, teacher_prob, x0.shape[0], self.n_neurons, self.n_channels
        )
        _, mask = node_mask(x0, mask, name="mask")
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


class GRUForecaster(_Rollout):
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
        self.n_neurons = check_positive_int(n_neurons, "n_neurons")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.hidden_size = h = check_positive_int(hidden_size, "hidden_size")
        self.norm = bool(norm)
        width = self.n_neurons * self.n_channels
        self.encoder = MLPBlock(width, h, h, norm)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.head = nn.Linear(h, width)
        init_weights(self)

    @property
    def step_module(self) -> nn.Module:
        """The network of one step: this module itself."""
        return self

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
        state = None
        for k in range(n_burn):
            x = step(k)
            state = _gru_step(self.encoder, self.gru, x, state)
        preds = []
        for k in range(horizon):
            pred = x + torch.tanh(self.head(state[-1])).view_as(x)
            preds.append(pred)
            if k + 1 < horizon:
                x = targets[:, k] if _teacher_forced(teacher_prob, generator) else pred
                state = _gru_step(self.encoder, self.gru, x, state)
        return torch.stack(preds, dim=1)


class GRUReadout(nn.Module):
    """GRU over a burn-in, then a linear head: one output vector per row.

    The direct (non-forecast) counterpart of :class:`GRUForecaster`, with the same
    encoder (one MLP block per frame, batch statistics over the frames of one time
    step), so that a GRU model regresses any target, not only the next frames.

    Parameters
    ----------
    n_neurons, n_channels : int
        Neurons N and channels per neuron C.
    n_outputs : int
        Width of the output.
    hidden_size, norm
        As for :class:`GRUForecaster` (default 64, True).

    Examples
    --------
    >>> import torch
    >>> GRUReadout(15, 2, n_outputs=3)(torch.rand(8, 4, 15, 2)).shape
    torch.Size([8, 3])
    """

    def __init__(
        self,
        n_neurons: int,
        n_channels: int,
        n_outputs: int,
        hidden_size: int = 64,
        norm: bool = True,
    ) -> None:
        super().__init__()
        self.n_neurons, self.n_channels, self.n_outputs, h = (
            check_positive_int(value, name) for value, name in (
                (n_neurons, "n_neurons"), (n_channels, "n_channels"),
                (n_outputs, "n_outputs"), (hidden_size, "hidden_size"))
        )
        self.encoder = MLPBlock(self.n_neurons * self.n_channels, h, h, norm)
        self.gru = nn.GRU(h, h, batch_first=True)
        self.head = nn.Linear(h, self.n_outputs)
        init_weights(self)

    def forward(
        self, history: torch.Tensor | tuple[torch.Tensor, torch.Tensor]
    ) -> torch.Tensor:
        """Burn-in ``history`` (B, L, N, C), or a (frames, rows) pair as in
        :meth:`GRUForecaster.forward`, -> (B, n_outputs)."""
        step, _, n_burn = _burn_in(history, self.n_neurons, self.n_channels)
        state = None
        for k in range(n_burn):
            state = _gru_step(self.encoder, self.gru, step(k), state)
        return self.head(state[-1])


def _gru_step(encoder: nn.Module, gru: nn.GRU, frames: torch.Tensor, state):
    """The GRU state after frames (B, N, C) of one time step, encoded on their own
    so that normalization statistics are over the B frames of that step."""
    _, state = gru(encoder(frames.flatten(1)).unsqueeze(1), state)
    return state


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
        check_frames(frames, n_neurons, n_channels, "frames")
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
    check_frames(history, n_neurons, n_channels, "history", leading=2)
    return (lambda k: history[:, k]), history.shape[0], history.shape[1]
