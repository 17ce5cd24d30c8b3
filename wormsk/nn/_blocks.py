"""Building blocks shared by the wormsk networks: the paper's MLP block, the
batch-statistics normalization, weight initialization and input checks."""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BatchStatNorm", "MLPBlock", "init_weights"]


class BatchStatNorm(nn.Module):
    """Normalization by the statistics of the current batch, in train and eval mode.

    Equivalent to ``torch.nn.BatchNorm1d(num_features, track_running_stats=False)``
    applied to ``x.reshape(-1, num_features)``: every feature (last dimension) is
    standardized by its mean and (biased) variance over all leading dimensions, then
    scaled and shifted by learned ``weight`` and ``bias``. Since wormsk forms every
    batch from one worm, this normalizes each worm, seen or unseen, by its own
    statistics (the authors' batch norm without running statistics).

    A batch with a single row per feature has variance 0: the normalized value is 0
    and the output is ``bias``; that is allowed in eval mode (no NaN) but raises a
    ``ValueError`` in training mode, where it would make learning meaningless.

    Parameters
    ----------
    num_features : int
        Size of the last dimension.
    eps : float, default=1e-5
        Added to the variance for numerical stability.

    Examples
    --------
    >>> import torch
    >>> norm = BatchStatNorm(3).eval()
    >>> out = norm(torch.randn(10, 4, 3))
    >>> out.shape, bool(out.mean(dim=(0, 1)).abs().max() < 1e-5)
    (torch.Size([10, 4, 3]), True)
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Normalize ``x``; with a boolean ``mask`` (broadcastable to
        ``x.shape[:-1]``, False = absent node), statistics are taken over the
        present rows only and absent rows come out as 0."""
        if mask is not None:
            return self._masked(x, mask)
        flat = x.reshape(-1, self.num_features)
        n = flat.shape[0]
        self._check_rows(n)
        if n == 1:  # zero variance: the normalized value is 0 (torch would raise)
            return torch.zeros_like(x) * self.weight + self.bias
        out = F.batch_norm(
            flat, None, None, self.weight, self.bias, training=True, eps=self.eps
        )
        return out.view_as(x)

    def _masked(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.num_features)
        keep = mask.expand(x.shape[:-1]).reshape(-1, 1)
        present = flat[keep[:, 0]]
        n = present.shape[0]
        self._check_rows(n)
        if n == 1:
            normed = torch.zeros_like(flat)
        else:
            mean = present.mean(dim=0)
            var = present.var(dim=0, unbiased=False)
            normed = (flat - mean) * torch.rsqrt(var + self.eps)
        out = torch.where(keep, normed * self.weight + self.bias, 0.0)
        return out.view_as(x)

    def _check_rows(self, n: int) -> None:
        if n == 0:
            raise ValueError("Cannot normalize an empty batch (0 frames).")
        if n == 1 and self.training:
            raise ValueError(
                "Batch-statistics normalization needs at least 2 samples per feature "
                "in training mode, got a batch of 1 frame. Train on batches of at "
                "least 2 frames of a worm, or build the network with norm=False."
            )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


class MLPBlock(nn.Module):
    """The paper's building block: Linear-ELU-Linear-ELU, then optional norm.

    Acts on the last dimension of a tensor of any rank; the normalization
    (:class:`BatchStatNorm`) pools statistics over all leading dimensions, e.g. over
    frames and neurons for a node-level block on ``(B, N, F)``.

    Parameters
    ----------
    in_features, hidden_size, out_features : int
        Widths of the input, the hidden layer and the output.
    norm : bool, default=True
        Append a :class:`BatchStatNorm`.

    Examples
    --------
    >>> import torch
    >>> block = MLPBlock(2, 8, 4)
    >>> block(torch.randn(5, 3, 2)).shape
    torch.Size([5, 3, 4])
    """

    def __init__(
        self, in_features: int, hidden_size: int, out_features: int, norm: bool = True
    ) -> None:
        super().__init__()
        self.linear1 = nn.Linear(in_features, hidden_size)
        self.linear2 = nn.Linear(hidden_size, out_features)
        self.act = nn.ELU()
        self.norm = BatchStatNorm(out_features) if norm else None

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Apply the block; ``mask`` (B, N) marks present nodes of a node-level
        input: normalization statistics skip absent nodes, whose output is 0."""
        x = self.act(self.linear2(self.act(self.linear1(x))))
        if mask is None:
            return x if self.norm is None else self.norm(x)
        if self.norm is not None:
            return self.norm(x, mask)
        return torch.where(mask.unsqueeze(-1), x, 0.0)


def init_weights(module: nn.Module) -> nn.Module:
    """Initialize a network as the authors did: Xavier-normal weights, bias 0.1.

    Applies to every ``nn.Linear`` and recurrent layer (``nn.GRU`` and friends)
    inside ``module`` (recursively; call it once on the root, not through
    ``module.apply``). Normalization parameters keep their identity initialization.
    Draws from torch's global generator, so ``torch.manual_seed`` makes it
    reproducible.

    Parameters
    ----------
    module : torch.nn.Module
        The network to initialize in place.

    Returns
    -------
    module : torch.nn.Module
        The same module.

    Examples
    --------
    >>> import torch
    >>> layer = init_weights(torch.nn.Linear(4, 2))
    >>> bool((layer.bias == 0.1).all())
    True
    """
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.RNNBase)):
                for name, p in m.named_parameters(recurse=False):
                    if name.startswith("weight"):
                        nn.init.xavier_normal_(p)
                    elif name.startswith("bias"):
                        p.fill_(0.1)
    return module


class FrameNet(nn.Module):
    """Base of :class:`WormMLP` and :class:`WormGNN`, the networks that map one
    frame (B, N, C): their shared sizes and options, checked once."""

    def _set_options(
        self, n_neurons, n_channels, n_outputs, hidden_size, aggregation, readout, norm
    ) -> tuple[int, int]:
        """Check and store the shared constructor arguments; return (N, h)."""
        self.n_neurons = check_positive_int(n_neurons, "n_neurons")
        self.n_channels = check_positive_int(n_channels, "n_channels")
        self.n_outputs = check_positive_int(n_outputs, "n_outputs")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.aggregation = check_choice(aggregation, "aggregation", ("concat", "sum"))
        self.readout = check_choice(readout, "readout", ("graph", "node"))
        self.norm = bool(norm)
        return self.n_neurons, self.hidden_size

    @property
    def step_module(self) -> nn.Module:
        """The network that maps one frame (B, N, C): this module itself (a
        forecaster's is its ``step``)."""
        return self


# --- argument and input checks (shared; private) ---------------------------------

def check_positive_int(value, name: str) -> int:
    """``value`` as a plain ``int`` (torch refuses numpy integers, which a parameter
    grid hands out), or a ``ValueError`` unless it is an integer >= 1 (not a bool)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
    return value


def check_frames(
    x, n_neurons: int, n_channels: int, name: str = "x", leading: int = 1
) -> torch.Tensor:
    """Check a float32 tensor of shape (*lead, n_neurons, n_channels)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}.")
    if x.dtype != torch.float32:
        raise TypeError(
            f"{name} must be float32 (wormsk networks compute in float32); got "
            f"{x.dtype}. Convert with {name}.float()."
        )
    expected = ("batch", "steps")[:leading] + (
        f"n_neurons={n_neurons}",
        f"n_channels={n_channels}",
    )
    if x.ndim != leading + 2 or tuple(x.shape[leading:]) != (n_neurons, n_channels):
        raise ValueError(
            f"{name} must have shape ({', '.join(expected)}); got {tuple(x.shape)}."
        )
    if any(s == 0 for s in x.shape[:leading]):
        raise ValueError(f"{name} is empty: got shape {tuple(x.shape)}.")
    return x


def node_mask(x: torch.Tensor, mask, name: str = "mask"):
    """(x with absent nodes set to 0, mask) for frames ``x`` (B, N, C).

    ``mask`` (B, N) bool marks present nodes; None derives it from ``x``: a node
    whose channels are all NaN is absent (wormsk's estimators pass a worm's
    absent neurons as NaN). Absent slots are overwritten with 0, so whatever they
    hold (NaN, garbage) never reaches the computation. The returned mask is None
    when every node is present: the unmasked code path, bit for bit.
    """
    if mask is None:
        nan = torch.isnan(x)
        if not bool(nan.any()):
            return x, None
        mask = ~nan.all(dim=-1)
    elif not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or tuple(
        mask.shape
    ) != tuple(x.shape[:-1]):
        raise ValueError(
            f"{name} must be a bool tensor of shape {tuple(x.shape[:-1])} (frames, "
            f"neurons), True where a neuron is present; got "
            f"{getattr(mask, 'dtype', type(mask).__name__)} of shape "
            f"{tuple(getattr(mask, 'shape', ()))}."
        )
    if bool(mask.all()):
        return x, None
    if not bool(mask.any(dim=-1).all()):
        raise ValueError(
            "A frame has no present neuron (every node absent); a graph needs at "
            "least one recorded neuron."
        )
    return torch.where(mask.unsqueeze(-1), x, 0.0), mask


def present_sum(z: torch.Tensor, mask) -> torch.Tensor:
    """Sum over nodes of (B, N, F), scaled by N / present nodes when some are absent.

    That is N times the mean over present nodes: the plain sum when all are
    present, and on the same scale when some are missing. Absent rows of ``z``
    are 0 (the blocks zero them).
    """
    total = z.sum(dim=1)
    if mask is None:
        return total
    return total * (mask.shape[1] / mask.sum(dim=1, keepdim=True))
