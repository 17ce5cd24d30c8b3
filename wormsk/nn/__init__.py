"""Plain torch modules of wormsk (imports only torch).

Inputs are float32 tensors of shape (B, N, C): B frames of one worm, N neurons,
C channels. Every MLP block normalizes with the statistics of the current batch in
train and eval mode, so a batch must be frames of a single worm. A neuron whose
channels are all NaN (or that a boolean ``mask`` of shape (B, N) marks False) is
a missing node for :class:`WormGNN`, :class:`WormMLP` with ``aggregation="sum"``
and :class:`MarkovForecaster`: its values are never read.

- :class:`WormMLP`: the paper's structure-agnostic MLP.
- :class:`WormGNN`: the paper's GNN on an inferred (static or dynamic) or fixed graph.
- :class:`MarkovForecaster`: x_{k+1} = x_k + tanh(step(x_k)) rollouts with scheduled
  sampling.
- :class:`GRUForecaster`: the recurrent variant with a burn-in.
- :class:`GRUReadout`: the recurrent encoder with one output vector per row (direct
  regression).
"""

from ._blocks import BatchStatNorm, MLPBlock, init_weights
from ._forecast import GRUForecaster, GRUReadout, MarkovForecaster
from ._gnn import EdgeEncoder, WormGNN
from ._mlp import WormMLP

__all__ = [
    "BatchStatNorm",
    "EdgeEncoder",
    "GRUForecaster",
    "GRUReadout",
    "MLPBlock",
    "MarkovForecaster",
    "WormGNN",
    "WormMLP",
    "init_weights",
]
