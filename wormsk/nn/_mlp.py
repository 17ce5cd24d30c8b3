"""The paper's structure-agnostic MLP."""

from __future__ import annotations

import torch
from torch import nn

from ._blocks import (
    FrameNet,
    MLPBlock,
    check_frames,
    init_weights,
    node_mask,
    present_sum,
)

__all__ = ["WormMLP"]


class WormMLP(FrameNet):
    """The paper's MLP: a shared node encoder, aggregation over neurons, an MLP, a head.

    Every neuron's channels go through the same node encoder g_enc (C -> h -> h);
    the N encodings are concatenated (neuron identity kept) or summed; a 2-layer MLP
    and a linear head follow. All MLP blocks are Linear-ELU-Linear-ELU followed, when
    ``norm=True``, by a normalization with the statistics of the current batch in
    train *and* eval mode (one batch = frames of one worm; see
    :class:`~wormsk.nn.BatchStatNorm`). A batch of one frame therefore gives a
    degenerate but finite output in eval mode and a ``ValueError`` in training mode.

    Parameters
    ----------
    n_neurons : int
        Number of neurons (nodes) N.
    n_channels : int, default=2
        Channels per neuron C (trace, derivative).
    n_outputs : int, default=2
        Outputs per frame (``readout="graph"``) or per neuron (``readout="node"``).
    hidden_size : int, default=16
        Width h of every hidden layer.
    aggregation : {"concat", "sum"}, default="concat"
        How node encodings are combined: concatenation gives (B, N*h), sum (B, h).
    readout : {"graph", "node"}, default="graph"
        ``"graph"``: output (B, n_outputs). ``"node"``: the head emits
        N * n_outputs values reshaped to (B, N, n_outputs) (the Markov step).
    norm : bool, default=True
        Use batch-statistics normalization after every MLP block.

    Examples
    --------
    >>> import torch
    >>> net = WormMLP(n_neurons=15, n_outputs=7)
    >>> net(torch.rand(32, 15, 2)).shape
    torch.Size([32, 7])
    >>> WormMLP(15, n_outputs=2, readout="node")(torch.rand(32, 15, 2)).shape
    torch.Size([32, 15, 2])
    """

    def __init__(
        self,
        n_neurons: int,
        n_channels: int = 2,
        n_outputs: int = 2,
        hidden_size: int = 16,
        aggregation: str = "concat",
        readout: str = "graph",
        norm: bool = True,
    ) -> None:
        super().__init__()
        _, h = self._set_options(
            n_neurons, n_channels, n_outputs, hidden_size, aggregation, readout, norm
        )

        self.encoder = MLPBlock(n_channels, h, h, norm)
        agg_width = n_neurons * h if aggregation == "concat" else h
        self.mlp = MLPBlock(agg_width, h, h, norm)
        head_width = n_outputs * (n_neurons if readout == "node" else 1)
        self.head = nn.Linear(h, head_width)
        init_weights(self)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Frames (B, N, C) -> (B, n_outputs), or (B, N, n_outputs) for node readout.

        ``mask`` (B, N) bool marks present neurons; by default a neuron whose
        channels are all NaN is absent. Absent neurons are left out of the sum
        (scaled by N / present, see :class:`WormGNN`) and of the encoder's batch
        statistics, and their values are never read; their node outputs are 0.
        ``aggregation="concat"`` gives every neuron a fixed slot and refuses them.
        """
        check_frames(x, self.n_neurons, self.n_channels)
        x, mask = node_mask(x, mask)
        if mask is not None and self.aggregation == "concat":
            absent = (~mask).any(dim=0).nonzero().flatten().tolist()
            raise ValueError(
                f"Neurons {absent} (positions) are absent, but aggregation='concat' "
                "gives every neuron a fixed slot of the readout; use "
                "aggregation='sum', a WormGNN, or fill the values in beforehand."
            )
        z = self.encoder(x, mask)
        z = z.flatten(1) if self.aggregation == "concat" else present_sum(z, mask)
        out = self.head(self.mlp(z))
        if self.readout == "node":
            out = out.view(x.shape[0], self.n_neurons, self.n_outputs)
            if mask is not None:
                out = torch.where(mask.unsqueeze(-1), out, 0.0)
        return out
