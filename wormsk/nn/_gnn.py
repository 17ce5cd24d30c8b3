"""The paper's GNN: an inferred (static/dynamic) or fixed graph, one message step."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ._blocks import (
    FrameNet,
    MLPBlock,
    check_choice,
    check_frames,
    check_positive_int,
    init_weights,
    node_mask,
    present_sum,
)

__all__ = ["WormGNN", "EdgeEncoder"]

#: Default element budget of one chunk of the pair hidden tensor (frames, rows, N, h):
#: 2**20 float32 elements = 4 MiB per scratch buffer (three in the backward pass).
#: Small enough to stay cache-friendly: measured faster than 2**23 on CPU.
DEFAULT_PAIR_BUDGET = 2**20

#: When all pairs of a batch total at most this many elements (16 MiB), the forward
#: activations are kept for the backward pass instead of recomputed (small graphs,
#: e.g. 15 neurons and a few hundred frames, train about a quarter faster).
KEEP_LIMIT = 2**22


def _chunk_shape(n_frames: int, n: int, h: int, budget: int) -> tuple[int, int]:
    """(frames, rows) per chunk of the (frames, rows, n, h) pair hidden tensor.

    Whole frames are preferred; the rows of a frame are split only when one frame
    exceeds the budget; a chunk holds at least one row (n * h elements) even when
    that exceeds the budget.
    """
    rows = min(n, max(1, budget // (n * h)))
    frames = min(n_frames, max(1, budget // (rows * n * h)))
    return frames, rows


def _chunks(n_frames: int, n: int, h: int, budget: int):
    """Slices (frames, rows) covering (n_frames, n) in chunks of <= budget elements."""
    frames, rows = _chunk_shape(n_frames, n, h, budget)
    for f0 in range(0, n_frames, frames):
        for i0 in range(0, n, rows):
            yield slice(f0, min(f0 + frames, n_frames)), slice(i0, min(i0 + rows, n))


def _buffer(size: int, like: torch.Tensor):
    """A flat scratch buffer reused by every chunk (spares allocation per chunk)."""
    return torch.empty(size, dtype=like.dtype, device=like.device)


def _first_two_layers(a_c, b_c, w2, b2, t1, t2):
    """h1 = elu(a_i + b_j) into ``t1``; h2 = elu(h1 W2^T + b2) into ``t2``."""
    fc, ic, h = a_c.shape
    n = b_c.shape[1]
    shape = (fc, ic, n, h)
    h1 = t1[: fc * ic * n * h].view(shape)
    torch.add(a_c.unsqueeze(2), b_c.unsqueeze(1), out=h1)
    F.elu_(h1)
    h2 = t2[: h1.numel()].view(shape)
    # mm then add_: addmm(out=...) would first copy the broadcast bias into out.
    torch.mm(h1.view(-1, h), w2.t(), out=h2.view(-1, h))
    F.elu_(h2.add_(b2))
    return h1, h2


class _PairLogits(torch.autograd.Function):
    """Edge logits of all pairs, computed and differentiated chunk by chunk.

    Inputs: ``a`` (B, N, h) = W_a u_i + b and ``b`` (B, N, h) = W_b u_j, so the
    broadcast sum a_i + b_j is the edge MLP's first layer on [u_i || u_j]; then
    ELU, Linear(h, h) (w2, b2), ELU, Linear(h, 1) (w3, b3). Output (B, N, N), or for
    ``static`` the mean over frames (N, N). Unless the whole pair tensor is small
    (``KEEP_LIMIT``), nothing pair-sized is kept between chunks or saved for
    backward: the backward pass recomputes each chunk into three reused scratch
    buffers of ``budget`` elements, so memory stays bounded in training too.
    Gradients are the exact derivatives (ELU'(z) = 1 if z > 0 else ELU(z) + 1);
    the tests check them against autograd on the explicit concatenation.
    """

    @staticmethod
    def forward(ctx, a, b, w2, b2, w3, b3, static: bool, budget: int, grad: bool):
        n_frames, n, h = a.shape
        frames, rows = _chunk_shape(n_frames, n, h, budget)
        size = frames * rows * n * h
        total = n_frames * n * n * h
        # needs_input_grad is set under torch.no_grad() too: ``grad`` (the caller's
        # grad mode) says whether a backward can follow at all.
        keep = total <= KEEP_LIMIT and grad and any(ctx.needs_input_grad)
        t1, t2 = (_buffer(total if keep else size, a) for _ in range(2))
        offset = 0
        w3v = w3.view(h)
        if static:
            out = torch.zeros(n, n, dtype=a.dtype, device=a.device)
        else:
            out = torch.empty(n_frames, n, n, dtype=a.dtype, device=a.device)
        for fs, rs in _chunks(n_frames, n, h, budget):
            _, h2 = _first_two_layers(
                a[fs, rs], b[fs], w2, b2, t1[offset:], t2[offset:]
            )
            if keep:  # successive chunks fill the full-size buffers
                offset += h2.numel()
            logits = torch.matmul(h2, w3v)  # (Fc, Ic, N)
            if static:
                out[rs] += logits.sum(dim=0)
            else:
                out[fs, rs] = logits
        (out.div_(n_frames) if static else out).add_(b3)
        ctx.save_for_backward(a, b, w2, b2, w3)
        ctx.static, ctx.budget, ctx.size = static, budget, size
        ctx.kept = (t1, t2) if keep else None
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        a, b, w2, b2, w3 = ctx.saved_tensors
        static, budget = ctx.static, ctx.budget
        n_frames, n, h = a.shape
        # Kept activations are overwritten below, so they serve one backward only
        # (a second one, with retain_graph=True, recomputes).
        kept, ctx.kept = ctx.kept, None
        t1, t2 = kept if kept is not None else (_buffer(ctx.size, a) for _ in "12")
        t3 = _buffer(ctx.size, a)
        offset = 0
        w3v = w3.view(h)
        grad_b3 = grad.sum()
        if static:
            grad = grad / n_frames  # out is the mean over frames
        grad_a, grad_b = torch.empty_like(a), torch.zeros_like(b)
        grad_w2, grad_b2 = torch.zeros_like(w2), torch.zeros_like(b2)
        grad_w3 = torch.zeros(h, dtype=a.dtype, device=a.device)
        for fs, rs in _chunks(n_frames, n, h, budget):
            if kept is None:
                h1, h2 = _first_two_layers(a[fs, rs], b[fs], w2, b2, t1, t2)
            else:
                shape = (fs.stop - fs.start, rs.stop - rs.start, n, h)
                numel = shape[0] * shape[1] * n * h
                h1 = t1[offset : offset + numel].view(shape)
                h2 = t2[offset : offset + numel].view(shape)
                offset += numel
            g = grad[rs].expand(h1.shape[:3]) if static else grad[fs, rs]
            grad_w3 += torch.mv(h2.view(-1, h).t(), g.reshape(-1))
            dz = h2.clamp_(max=0).add_(1)  # ELU'(z), reusing h2's storage
            gz = t3[: h1.numel()].view(h1.shape)
            torch.mul(g.unsqueeze(-1), w3v, out=gz)
            gz.mul_(dz)
            gz2 = gz.view(-1, h)
            grad_w2 += gz2.t() @ h1.view(-1, h)
            grad_b2 += gz2.sum(dim=0)
            gh1 = dz  # h2 is dead: its buffer takes grad wrt h1
            torch.mm(gz2, w2, out=gh1.view(-1, h))
            gs = h1.clamp_(max=0).add_(1).mul_(gh1)  # grad wrt a_i + b_j
            grad_a[fs, rs] = gs.sum(dim=2)
            grad_b[fs] += gs.sum(dim=1)
        return (
            grad_a,
            grad_b,
            grad_w2,
            grad_b2,
            grad_w3.view_as(w3),
            grad_b3.view(1),
            None,
            None,
            None,
        )


class EdgeEncoder(nn.Module):
    """Infer a weighted adjacency A_ij = sigmoid(logit(g_edge([u_i || u_j]))).

    u = g_u(x) is the encoder's own node MLP; g_edge is Linear(2h, h)-ELU-
    Linear(h, h)-ELU giving the edge embedding E_ij, and a linear layer maps E_ij to
    a scalar logit. The first layer is stored as an ordinary ``Linear(2h, h)`` (as on
    the concatenation) but evaluated as W_a u_i + W_b u_j + b per node and broadcast,
    so no (…, N, N, 2h) tensor exists. g_edge has no batch-statistics normalization,
    which keeps every pair of every frame independent of the others: the pair work is
    computed in chunks of at most ``pair_budget`` elements of the (frames, rows, N, h)
    hidden tensor, with the same result as in one piece. A custom autograd function
    recomputes each chunk in the backward pass (unless all pairs fit in
    ``KEEP_LIMIT`` elements), so training memory is bounded too (a few chunk-sized
    scratch buffers) instead of growing with B * N^2 * h.

    Static graphs average the edge embeddings over the frames of the batch; because
    the logit layer is linear this equals averaging the logits, which is what is
    computed (a chunked sum divided by B).

    Parameters
    ----------
    n_channels : int
        Channels per neuron.
    hidden_size : int
        Width h of u and of the edge embedding.
    norm : bool, default=True
        Batch-statistics normalization in the node MLP g_u (never on pairs).

    Examples
    --------
    >>> import torch
    >>> enc = EdgeEncoder(n_channels=2, hidden_size=8)
    >>> x = torch.rand(32, 15, 2)
    >>> enc(x, static=True).shape, enc(x, static=False).shape
    (torch.Size([1, 15, 15]), torch.Size([32, 15, 15]))
    """

    def __init__(self, n_channels: int, hidden_size: int, norm: bool = True) -> None:
        super().__init__()
        h = hidden_size
        self.hidden_size = h
        self.node = MLPBlock(n_channels, h, h, norm)
        self.first = nn.Linear(2 * h, h)
        self.second = nn.Linear(h, h)
        self.logit = nn.Linear(h, 1)

    def pair_inputs(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-node halves of g_edge's first layer: W_a u_i + b and W_b u_j, (B, N, h).

        Node statistics (of the optional normalization in g_u) are those of the whole
        batch ``x`` (of its present nodes when a ``mask`` is given; ``x`` must then
        hold finite values in the absent slots); everything after this is
        independent per frame and pair.
        """
        h = self.hidden_size
        u = self.node(x, mask)
        w = self.first.weight  # (h, 2h) = [W_a | W_b], as a Linear on [u_i || u_j]
        return F.linear(u, w[:, :h], self.first.bias), F.linear(u, w[:, h:])

    def pair_logits(
        self,
        a: torch.Tensor,
        b: torch.Tensor,
        static: bool,
        pair_budget: int = DEFAULT_PAIR_BUDGET,
    ) -> torch.Tensor:
        """Edge logits from :meth:`pair_inputs`: (1, N, N) if static else (B, N, N)."""
        logits = _PairLogits.apply(
            a,
            b,
            self.second.weight,
            self.second.bias,
            self.logit.weight,
            self.logit.bias,
            static,
            pair_budget,
            torch.is_grad_enabled(),
        )
        return logits.unsqueeze(0) if static else logits

    def forward(
        self,
        x: torch.Tensor,
        static: bool,
        pair_budget: int = DEFAULT_PAIR_BUDGET,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Edge logits of frames ``x`` (B, N, C): (1, N, N) if static else (B, N, N).

        Absent neurons (``mask`` False, by default all channels NaN) are left out
        of the node statistics; logits of pairs touching them are NaN.
        """
        x, mask = node_mask(x, mask)
        logits = self.pair_logits(*self.pair_inputs(x, mask), static, pair_budget)
        return _absent_pairs(logits, mask)


class WormGNN(FrameNet):
    """The paper's GNN on an inferred (static/dynamic) or a fixed adjacency.

    Node embedding v_i = g_node(x_i); adjacency A from the :class:`EdgeEncoder` (or
    fixed); one message-passing step m_i = g_msg(sum_j A_ij v_j); node state
    [v_i || m_i] of width 2h. Every MLP block is Linear-ELU-Linear-ELU followed, when
    ``norm=True``, by batch-statistics normalization (same in train and eval mode;
    node-level blocks pool statistics over all frames and neurons of the batch). The
    pairwise edge MLP has no such normalization.

    Parameters
    ----------
    n_neurons : int
        Number of neurons (nodes) N.
    n_channels : int, default=2
        Channels per neuron C.
    n_outputs : int, default=2
        Outputs per frame (``readout="graph"``) or per neuron (``readout="node"``).
    hidden_size : int, default=16
        Width h of every hidden layer.
    edges : {"static", "dynamic"}, default="static"
        ``"static"``: one graph per batch (= per worm), edge embeddings averaged over
        the batch's frames. ``"dynamic"``: one graph per frame. Ignored when
        ``adjacency`` is given.
    adjacency : tensor-like of shape (N, N), default=None
        A fixed weighted adjacency (e.g. the connectome); A_ij weighs the message
        from neuron j to neuron i. Stored as a float32 buffer (a copy); no edge
        encoder is built.
    aggregation : {"concat", "sum"}, default="concat"
        Graph readout: concatenate (B, N*2h) or sum (B, 2h) the node states.
    readout : {"graph", "node"}, default="graph"
        ``"graph"``: aggregate, MLP block, linear head -> (B, n_outputs).
        ``"node"``: a shared per-node MLP block and linear head -> (B, N, n_outputs).
    norm : bool, default=True
        Use batch-statistics normalization after every node/graph MLP block.
    pair_budget : int, default=2**20
        Maximum number of elements of one chunk of the (frames, rows, N, h) pair
        hidden tensor (4 MiB in float32); bounds the edge encoder's memory in
        prediction and training. Results do not depend on it beyond float rounding.

    Notes
    -----
    Missing nodes: a neuron not recorded in a worm is passed as NaN in all its
    channels (or marked False in ``mask``). It is then a missing node: its values
    are never read, its embedding is 0, so it sends no message and what it would
    receive is discarded; every normalization takes its statistics over the
    present nodes only; pairs touching it are NaN in :meth:`infer_adjacency`.
    The graph readout ``aggregation="sum"`` sums the present nodes and scales by
    N / (present nodes), i.e. N times their mean (the plain sum when all are
    present); ``"concat"`` puts zeros in the absent nodes' slots. Node readouts
    give 0 for absent nodes.

    Examples
    --------
    >>> import torch
    >>> net = WormGNN(n_neurons=15, n_outputs=7, edges="static")
    >>> x = torch.rand(32, 15, 2)
    >>> net(x).shape, net.infer_adjacency(x).shape
    (torch.Size([32, 7]), torch.Size([1, 15, 15]))
    >>> WormGNN(15, edges="dynamic").infer_adjacency(x).shape
    torch.Size([32, 15, 15])
    """

    def __init__(
        self,
        n_neurons: int,
        n_channels: int = 2,
        n_outputs: int = 2,
        hidden_size: int = 16,
        edges: str = "static",
        adjacency=None,
        aggregation: str = "concat",
        readout: str = "graph",
        norm: bool = True,
        pair_budget: int = DEFAULT_PAIR_BUDGET,
    ) -> None:
        super().__init__()
        n, h = self._set_options(
            n_neurons, n_channels, n_outputs, hidden_size, aggregation, readout, norm
        )
        self.edges = check_choice(edges, "edges", ("static", "dynamic"))
        self.pair_budget = check_positive_int(pair_budget, "pair_budget")

        self.node = MLPBlock(n_channels, h, h, norm)
        if adjacency is None:
            self.register_buffer("adjacency", None)
            self.edge_encoder = EdgeEncoder(n_channels, h, norm)
        else:
            self.register_buffer("adjacency", _as_adjacency(adjacency, n))
            self.edge_encoder = None
        self.message = MLPBlock(h, h, h, norm)
        if readout == "graph":
            agg_width = n * 2 * h if aggregation == "concat" else 2 * h
            self.mlp = MLPBlock(agg_width, h, h, norm)
        else:
            self.mlp = MLPBlock(2 * h, h, h, norm)
        self.head = nn.Linear(h, n_outputs)
        init_weights(self)

    def _adjacency(self, x: torch.Tensor, mask=None) -> torch.Tensor:
        if self.edge_encoder is None:
            return self.adjacency.unsqueeze(0)
        enc = self.edge_encoder
        logits = enc.pair_logits(
            *enc.pair_inputs(x, mask), self.edges == "static", self.pair_budget
        )
        return torch.sigmoid_(logits)  # logits is a fresh tensor: spare a copy

    def _aggregate(self, x: torch.Tensor, v: torch.Tensor, mask=None) -> torch.Tensor:
        """Messages sum_j A_ij v_j, (B, N, h).

        An absent sender j has v_j = 0 (the node block zeroes it), so it adds
        nothing: masking A's column j would give the same sum. What an absent
        receiver gets is discarded by the masked message block.
        """
        if self.edges == "static" or self.edge_encoder is None:
            return torch.matmul(self._adjacency(x, mask), v)
        enc, budget = self.edge_encoder, self.pair_budget
        a, b = enc.pair_inputs(x, mask)
        if torch.is_grad_enabled():
            adj = torch.sigmoid_(enc.pair_logits(a, b, False, budget))
            return torch.matmul(adj, v)
        # Without autograd, graphs are built a few frames at a time, so predicting a
        # long recording never holds its whole (B, N, N) adjacency; writing into one
        # preallocated output keeps the allocator from fragmenting.
        messages = torch.empty_like(v)
        for s, adj in self._frame_chunks(a, b):
            torch.matmul(adj, v[s], out=messages[s])
        return messages

    def _frame_chunks(self, a: torch.Tensor, b: torch.Tensor):
        """(frames slice, dynamic adjacency of those frames), a few frames at a time."""
        enc, budget = self.edge_encoder, self.pair_budget
        step = max(1, budget // (self.n_neurons * self.n_neurons))
        for f in range(0, a.shape[0], step):
            s = slice(f, f + step)
            yield s, torch.sigmoid_(enc.pair_logits(a[s], b[s], False, budget))

    def infer_adjacency(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Adjacency used for the batch ``x`` (B, N, C).

        Parameters
        ----------
        x : tensor of shape (B, N, C)
            Frames of one worm.
        mask : bool tensor of shape (B, N), optional
            Present neurons; by default a neuron whose channels are all NaN is
            absent.

        Returns
        -------
        A : tensor of shape (1, N, N) for static edges or a fixed adjacency, (B, N, N)
            for dynamic edges. Inferred weights lie in (0, 1); A[..., i, j] weighs the
            message from neuron j to neuron i. Rows and columns of absent neurons
            are NaN (for a single graph: of neurons absent from every frame).
        """
        check_frames(x, self.n_neurons, self.n_channels)
        x, mask = node_mask(x, mask)
        if self.edge_encoder is None:
            adj = self.adjacency.unsqueeze(0).clone()
        else:
            adj = self._adjacency(x, mask)
        return _absent_pairs(adj, mask)

    def mean_adjacency(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Mean over the frames of :meth:`infer_adjacency`, without holding (B, N, N).

        With dynamic edges the frames' graphs are built and summed a few frames at
        a time (``pair_budget``), so a whole recording's mean graph costs no more
        memory than prediction does.

        Parameters
        ----------
        x : tensor of shape (B, N, C)
            Frames of one worm.
        mask : bool tensor of shape (B, N), optional
            Present neurons, as in :meth:`infer_adjacency`.

        Returns
        -------
        A : tensor of shape (N, N)
            ``infer_adjacency(x, mask).mean(0)``; NaN rows and columns for neurons
            absent from every frame.
        """
        check_frames(x, self.n_neurons, self.n_channels)
        if self.edges == "static" or self.edge_encoder is None:
            return self.infer_adjacency(x, mask)[0]
        x, mask = node_mask(x, mask)
        total = x.new_zeros(self.n_neurons, self.n_neurons)
        for _, adj in self._frame_chunks(*self.edge_encoder.pair_inputs(x, mask)):
            total += adj.sum(dim=0)
        return _absent_pairs((total / x.shape[0]).unsqueeze(0), mask)[0]

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Frames (B, N, C) -> (B, n_outputs), or (B, N, n_outputs) for node readout.

        ``mask`` (B, N) bool marks present neurons; by default a neuron whose
        channels are all NaN is absent (see the class notes on missing nodes).
        """
        check_frames(x, self.n_neurons, self.n_channels)
        x, mask = node_mask(x, mask)
        v = self.node(x, mask)  # (B, N, h), 0 at absent nodes
        m = self.message(self._aggregate(x, v, mask), mask)
        z = torch.cat([v, m], dim=-1)  # (B, N, 2h)
        if self.readout == "node":
            out = self.head(self.mlp(z, mask))
            return out if mask is None else torch.where(mask.unsqueeze(-1), out, 0.0)
        z = z.flatten(1) if self.aggregation == "concat" else present_sum(z, mask)
        return self.head(self.mlp(z))


def _absent_pairs(adj: torch.Tensor, mask) -> torch.Tensor:
    """NaN at the pairs (1 or B, N, N) that touch an absent neuron.

    A single graph (leading size 1) masks the neurons absent from every frame.
    """
    if mask is None:
        return adj
    present = mask.any(dim=0, keepdim=True) if adj.shape[0] == 1 else mask
    pairs = present.unsqueeze(-1) & present.unsqueeze(-2)
    return torch.where(pairs, adj, math.nan)


def _as_adjacency(adjacency, n_neurons: int) -> torch.Tensor:
    try:
        adj = torch.as_tensor(adjacency)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(
            "adjacency must be an (n_neurons, n_neurons) numeric array or tensor; got "
            f"{type(adjacency).__name__} ({exc})."
        ) from None
    if adj.is_complex():
        raise ValueError(f"adjacency must be real-valued; got dtype {adj.dtype}.")
    if tuple(adj.shape) != (n_neurons, n_neurons):
        raise ValueError(
            f"adjacency must have shape (n_neurons, n_neurons) = ({n_neurons}, "
            f"{n_neurons}); got {tuple(adj.shape)}."
        )
    # A copy, so the caller's array is never aliased or changed by .to()/training.
    adj = adj.detach().to(dtype=torch.float32, copy=True)
    if not torch.isfinite(adj).all():
        raise ValueError(
            "adjacency contains NaN or infinite values; all must be finite."
        )
    return adj
