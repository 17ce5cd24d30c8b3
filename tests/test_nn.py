import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _data import OpLog

from wormsk.nn import (
    BatchStatNorm,
    GRUForecaster,
    GRUReadout,
    MarkovForecaster,
    WormGNN,
    WormMLP,
    init_weights,
)

N, C, B = 6, 2, 10


# The tensors here are tiny: thread start-up dominates, and on a busy machine
# spinning OpenMP workers make these tests several times slower.
pytestmark = pytest.mark.usefixtures("one_thread")


def frames(batch=B, n=N, seed=0):
    return torch.rand(batch, n, C, generator=torch.Generator().manual_seed(seed))


def reference_gnn(net, x):
    """WormGNN written out naively: explicit [u_i || u_j] pairs, explicit averaging."""
    b, n, _ = x.shape
    v = net.node(x)
    if net.edge_encoder is None:
        adj = net.adjacency.expand(b, n, n)
    else:
        enc = net.edge_encoder
        u = enc.node(x)
        h = u.shape[-1]
        pairs = torch.cat(
            [u[:, :, None].expand(b, n, n, h), u[:, None].expand(b, n, n, h)], dim=-1
        )
        emb = F.elu(enc.second(F.elu(enc.first(pairs))))  # E_ij, (B, N, N, h)
        if net.edges == "static":
            emb = emb.mean(dim=0, keepdim=True)  # one graph: embeddings averaged
        adj = torch.sigmoid(enc.logit(emb).squeeze(-1)).expand(b, n, n)
    m = net.message(torch.einsum("bij,bjk->bik", adj, v))
    z = torch.cat([v, m], dim=-1)
    if net.readout == "node":
        return net.head(net.mlp(z))
    z = z.flatten(1) if net.aggregation == "concat" else z.sum(dim=1)
    return net.head(net.mlp(z))


def assert_grads_close(net, actual, expected):
    # The bias just before a normalization gets an analytically zero gradient, which
    # float32 computes as a cancelling sum: rounding noise only, not compared.
    names = [name for name, _ in net.named_parameters()]
    for name, a, b in zip(names, actual, expected, strict=True):
        if not (net.norm and name.endswith("linear2.bias")):
            assert (a - b).abs().max() <= 1e-4 * b.abs().max() + 1e-7, name


GNN_KINDS = [
    dict(edges="static"),
    dict(edges="dynamic"),
    dict(adjacency=torch.rand(N, N)),
]


@pytest.mark.parametrize("aggregation", ["concat", "sum"])
@pytest.mark.parametrize("readout", ["graph", "node"])
def test_output_shapes(aggregation, readout):
    x = frames()
    nets = [WormMLP(N, C, 3, 8, aggregation, readout)]
    nets += [
        WormGNN(N, C, 3, 8, aggregation=aggregation, readout=readout, **kw)
        for kw in GNN_KINDS
    ]
    expected = (B, 3) if readout == "graph" else (B, N, 3)
    for net in nets:
        for mode in (net.train, net.eval):
            mode()
            out = net(x)
            assert out.shape == expected and out.dtype == torch.float32
            assert torch.isfinite(out).all()


def test_inferred_adjacency_shapes_and_range():
    x = frames()
    static = WormGNN(N, hidden_size=8, edges="static")
    dynamic = WormGNN(N, hidden_size=8, edges="dynamic")
    a_s, a_d = static.infer_adjacency(x), dynamic.infer_adjacency(x)
    assert a_s.shape == (1, N, N) and a_d.shape == (B, N, N)
    for a in (a_s, a_d):
        assert torch.isfinite(a).all() and (a > 0).all() and (a < 1).all()
    # Dynamic graphs do differ between frames.
    assert (a_d[0] - a_d[1]).abs().max() > 1e-4


@pytest.mark.parametrize("kind", GNN_KINDS, ids=["static", "dynamic", "fixed"])
@pytest.mark.parametrize("readout", ["graph", "node"])
def test_gnn_matches_naive_concatenation(kind, readout):
    # The per-node decomposition W_a u_i + W_b u_j of the edge MLP's first layer, the
    # chunked pair kernel and static averaging of embeddings give the textbook result.
    torch.manual_seed(0)
    net = WormGNN(N, C, 3, 8, readout=readout, **kind)
    x = frames().requires_grad_(True)
    out = net(x)
    ref = reference_gnn(net, x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
    params = [x, *net.parameters()]
    grad_out = torch.randn_like(out)
    g1 = torch.autograd.grad(out, params, grad_out)
    g2 = torch.autograd.grad(ref, params, grad_out)
    torch.testing.assert_close(g1[0], g2[0], rtol=1e-4, atol=1e-5)  # wrt x
    assert_grads_close(net, g1[1:], g2[1:])


def test_static_graph_is_one_graph_averaged_over_frames():
    torch.manual_seed(1)
    net = WormGNN(N, hidden_size=8, edges="static")
    x = frames()
    enc = net.edge_encoder
    per_frame = []
    for k in range(B):  # naive per-frame edge embeddings; frame k alone
        u = enc.node(x)[k]
        pairs = torch.cat([u[:, None].expand(N, N, 8), u[None].expand(N, N, 8)], -1)
        per_frame.append(F.elu(enc.second(F.elu(enc.first(pairs)))))
    mean_emb = torch.stack(per_frame).mean(0)
    expected = torch.sigmoid(enc.logit(mean_emb).squeeze(-1))
    torch.testing.assert_close(net.infer_adjacency(x)[0], expected)
    # Permuting the frames of the batch leaves the (single) graph unchanged.
    perm = torch.randperm(B)
    torch.testing.assert_close(
        net.infer_adjacency(x[perm]), net.infer_adjacency(x), rtol=0, atol=1e-6
    )


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "recomputed"])
@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_chunked_pairs_equal_one_piece(edges, keep, monkeypatch):
    # The pair kernel either keeps small activations for backward or recomputes
    # them chunk by chunk; both, at every chunk size, give the one-piece result.
    if not keep:
        monkeypatch.setattr("wormsk.nn._gnn.KEEP_LIMIT", 0)
    torch.manual_seed(2)
    n, h = 9, 4
    net = WormGNN(n, hidden_size=h, edges=edges, readout="node")
    x = frames(n=n, seed=3)
    ref = reference_gnn(net, x)
    ref_grads = torch.autograd.grad(ref.square().sum(), list(net.parameters()))
    # Budgets: everything at once, several frames, one frame, rows of a frame split.
    for budget in (10**9, 3 * n * n * h, n * n * h, 2 * n * h, 1):
        net.pair_budget = budget
        out = net(x)
        torch.testing.assert_close(out, ref, rtol=1e-6, atol=1e-6)
        with torch.no_grad():  # prediction path: graphs built a few frames at a time
            torch.testing.assert_close(net(x), ref, rtol=1e-6, atol=1e-6)
        grads = torch.autograd.grad(
            out.square().sum(), list(net.parameters()), retain_graph=True
        )
        assert_grads_close(net, grads, ref_grads)
        # A second backward through the same graph (kept activations are spent by
        # the first one) still gives the same gradients.
        again = torch.autograd.grad(out.square().sum(), list(net.parameters()))
        assert_grads_close(net, again, ref_grads)


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "recomputed"])
def test_no_pair_sized_tensor_is_built(keep, monkeypatch):
    # No tensor of (B, N, N, 2h) concatenated pairs, ever; and beyond KEEP_LIMIT
    # every tensor made in forward and backward stays within the chunk budget or the
    # size of the (B, N, N) adjacency, never the (B, N, N, h) pair hidden tensor.
    if not keep:
        monkeypatch.setattr("wormsk.nn._gnn.KEEP_LIMIT", 0)
    n, h, b, budget = 30, 8, 8, 4096
    net = WormGNN(n, hidden_size=h, edges="dynamic", pair_budget=budget)
    x = frames(batch=b, n=n)
    with OpLog() as forward:
        out = net(x).sum()
    with OpLog() as backward:  # a dispatch mode sees the ops autograd runs too
        out.backward()
    assert forward.count > 0 and backward.count > 0
    shapes = [shape for log in (forward, backward) for _, _, shape in log.tensors]
    assert not [s for s in shapes if len(s) >= 3 and s[-3:] == (n, n, 2 * h)]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    if keep:
        assert max(sizes) == b * n * n * h
    else:
        assert max(sizes) <= max(budget, b * n * n)


def test_fixed_adjacency_used_as_given():
    adj = torch.rand(N, N)
    net = WormGNN(N, hidden_size=8, adjacency=adj)
    assert net.edge_encoder is None
    torch.testing.assert_close(net.infer_adjacency(frames())[0], adj, rtol=0, atol=0)
    adj.fill_(0.0)  # the module holds its own copy
    assert net.adjacency.abs().sum() > 0
    from_numpy = WormGNN(N, adjacency=np.eye(N))  # float64 array -> float32 buffer
    assert from_numpy.adjacency.dtype == torch.float32


@pytest.mark.parametrize("adjacency, moves", [(torch.zeros(N, N), False), (None, True)])
def test_zero_adjacency_removes_messages(adjacency, moves):
    # Without messages (and without batch statistics coupling neurons) a neuron's
    # output depends on its own input only.
    torch.manual_seed(3)
    adj = torch.ones(N, N) if adjacency is None else adjacency
    net = WormGNN(N, hidden_size=8, adjacency=adj, readout="node", norm=False)
    x = frames()
    x2 = x.clone()
    x2[:, 0] += 0.5
    changed = (net(x2) - net(x)).abs().amax(dim=(0, 2))
    assert changed[0] > 1e-4
    assert bool((changed[1:] > 1e-6).any()) is moves


def test_batch_stat_norm_matches_torch_batchnorm_without_running_stats():
    x = torch.randn(40, 5)
    ours, ref = BatchStatNorm(5), torch.nn.BatchNorm1d(5, track_running_stats=False)
    with torch.no_grad():
        ours.weight.copy_(torch.rand(5))
        ours.bias.copy_(torch.rand(5))
        ref.weight.copy_(ours.weight)
        ref.bias.copy_(ours.bias)
    torch.testing.assert_close(ours(x), ref(x))
    torch.testing.assert_close(ours.eval()(x), ref(x))
    # Node-level use: statistics pooled over frames and neurons.
    y = torch.randn(7, 4, 5)
    torch.testing.assert_close(ours(y), ref(y.reshape(-1, 5)).view(7, 4, 5))


@pytest.mark.parametrize(
    "make",
    [
        lambda: WormMLP(N, hidden_size=8),
        lambda: WormGNN(N, hidden_size=8, edges="static"),
        lambda: WormGNN(N, hidden_size=8, edges="dynamic", readout="node"),
    ],
)
def test_eval_uses_batch_statistics_of_each_worm(make):
    torch.manual_seed(4)
    net = make()
    worm_a, worm_b = frames(seed=1), frames(seed=2) * 3 + 1
    train_out = net.train()(worm_a)
    eval_out = net.eval()(worm_a)
    torch.testing.assert_close(eval_out, train_out, rtol=0, atol=0)
    # A worm's prediction depends on its own frames' statistics only, so mixing in
    # another worm's frames (a batch across worms) changes it.
    mixed = net(torch.cat([worm_a, worm_b]))[:B]
    assert (mixed - eval_out).abs().max() > 1e-3
    torch.testing.assert_close(net(worm_a), eval_out, rtol=0, atol=0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: WormMLP(N),
        lambda: WormMLP(N, readout="node", aggregation="sum"),
        lambda: WormGNN(N, edges="static"),
        lambda: WormGNN(N, edges="dynamic", readout="node"),
        lambda: WormGNN(N, adjacency=torch.eye(N)),
    ],
)
def test_single_frame_batch(make):
    net = make()
    x = frames(batch=1)
    out = net.eval()(x)
    assert torch.isfinite(out).all()
    net.train()
    if isinstance(net, WormGNN) and net.readout == "node":
        net(x)  # node-level statistics pool N > 1 neurons: fine
    else:
        with pytest.raises(ValueError, match="at least 2 samples.*1 frame"):
            net(x)


def test_markov_rollout_is_residual_tanh_step():
    torch.manual_seed(5)
    step = WormGNN(N, C, n_outputs=C, hidden_size=8, edges="dynamic", readout="node")
    fc = MarkovForecaster(step)
    x0, targets = frames(), frames(seed=9).unsqueeze(1).repeat(1, 4, 1, 1)
    targets = targets + torch.arange(4.0).view(1, 4, 1, 1)
    free = fc(x0, horizon=4)
    assert free.shape == (B, 4, N, C)
    x, expected = x0, []
    for _ in range(4):
        x = x + torch.tanh(step(x))
        expected.append(x)
    assert torch.equal(free, torch.stack(expected, 1))
    assert torch.equal(fc(x0, 4, targets, teacher_prob=0.0), free)
    forced = fc(x0, 4, targets, teacher_prob=1.0)
    inputs = torch.cat([x0.unsqueeze(1), targets[:, :3]], dim=1)
    for k in range(4):
        assert torch.equal(forced[:, k], inputs[:, k] + torch.tanh(step(inputs[:, k])))


def test_scheduled_sampling_draws_from_generator():
    torch.manual_seed(6)
    step = WormMLP(N, n_outputs=C, hidden_size=8, readout="node")
    fc = MarkovForecaster(step)
    x0, targets = frames(), frames(seed=3).unsqueeze(1).repeat(1, 12, 1, 1)
    runs = [
        fc(x0, 12, targets, 0.5, torch.Generator().manual_seed(s)) for s in (0, 0, 1)
    ]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])
    # The same draws, replayed by hand: True -> true frame fed next.
    gen = torch.Generator().manual_seed(0)
    x, expected = x0, []
    for k in range(12):
        pred = x + torch.tanh(step(x))
        expected.append(pred)
        if k < 11:
            x = targets[:, k] if torch.rand((), generator=gen) < 0.5 else pred
    assert torch.equal(runs[0], torch.stack(expected, 1))


def test_forecaster_argument_errors():
    fc = MarkovForecaster(WormMLP(N, n_outputs=C, readout="node"))
    with pytest.raises(ValueError, match="targets of shape"):
        fc(frames(), 3, teacher_prob=0.5)
    with pytest.raises(ValueError, match="teacher_prob must be in"):
        fc(frames(), 3, teacher_prob=1.5)
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        fc(frames(), 0)
    with pytest.raises(ValueError, match="targets must have shape"):
        fc(frames(), 3, torch.zeros(B + 1, 3, N, C), teacher_prob=0.5)
    with pytest.raises(ValueError, match="readout='node' and n_outputs=n_channels"):
        MarkovForecaster(WormMLP(N, n_outputs=C))
    with pytest.raises(ValueError, match="readout='node' and n_outputs=n_channels"):
        MarkovForecaster(WormGNN(N, n_outputs=3, readout="node"))


def test_gru_forecaster_shapes_burn_in_and_teacher_forcing():
    torch.manual_seed(7)
    net = GRUForecaster(N, C, hidden_size=16)
    history = torch.rand(B, 4, N, C)
    targets = torch.rand(B, 5, N, C)
    out = net(history, horizon=5)
    assert out.shape == (B, 5, N, C) and out.dtype == torch.float32
    # Residual from the last burn-in frame, bounded by tanh.
    assert ((out[:, 0] - history[:, -1]).abs() < 1).all()
    # Earlier burn-in frames matter (the GRU reads them) ...
    changed = history.clone()
    changed[:, 0] += 1.0
    assert (net(changed, 5) - out).abs().max() > 1e-4
    # ... a single burn-in frame works too.
    assert net(history[:, -1:], 2).shape == (B, 2, N, C)
    # teacher_prob=0 ignores targets; teacher_prob=1 feeds them from the 2nd step on.
    assert torch.equal(net(history, 5, targets, 0.0), out)
    forced = net(history, 5, targets, 1.0)
    assert torch.equal(forced[:, 0], out[:, 0])
    other = targets.clone()
    other[:, 1] += 1.0
    forced2 = net(history, 5, other, 1.0)
    assert torch.equal(forced2[:, :2], forced[:, :2])
    assert (forced2[:, 2] - forced[:, 2]).abs().max() > 1e-5
    with pytest.raises(ValueError, match="history must have shape"):
        net(torch.rand(B, N, C), 2)


def test_gru_burn_in_as_frames_and_rows_equals_the_gathered_tensor():
    torch.manual_seed(3)
    net = GRUForecaster(N, C, hidden_size=16)
    frames = torch.rand(30, N, C)
    rows = torch.randint(0, 30, (B, 6))
    expected = net(frames[rows], horizon=3)
    torch.testing.assert_close(net((frames, rows), horizon=3), expected,
                               rtol=0, atol=0)
    # without autograd, no tensor holds the burn-in of the whole batch: the
    # largest is a GRU weight (48 x 16), whatever the burn-in's length
    long_rows = torch.randint(0, 30, (B, 40))
    with torch.no_grad(), OpLog() as log:
        net((frames, long_rows), horizon=3)
    assert max(math.prod(shape) for _, _, shape in log.tensors) == 3 * 16 * 16
    with pytest.raises(ValueError, match="rows must be a non-empty long tensor"):
        net((frames, rows.float()), 2)
    with pytest.raises(ValueError, match=r"rows must be positions into frames "
                                         r"\(0 to 29\)"):
        net((frames, rows + 30), 2)
    with pytest.raises(ValueError, match="must be \\(frames, rows\\)"):
        net((frames, rows, rows), 2)


@pytest.mark.parametrize(
    "make",
    [
        lambda: WormMLP(N, hidden_size=8),
        lambda: WormGNN(N, hidden_size=8, edges="static"),
        lambda: WormGNN(N, hidden_size=8, edges="dynamic", aggregation="sum"),
        lambda: WormGNN(N, hidden_size=8, adjacency=torch.rand(N, N)),
        lambda: MarkovForecaster(
            WormGNN(N, n_outputs=C, hidden_size=8, edges="dynamic", readout="node")
        ),
        lambda: GRUForecaster(N, hidden_size=8),
    ],
)
def test_gradients_flow_and_everything_is_float32(make):
    torch.manual_seed(8)
    net = make()
    if isinstance(net, MarkovForecaster):

        def run():
            return net(frames(), 3)
    elif isinstance(net, GRUForecaster):

        def run():
            return net(torch.rand(B, 4, N, C), 3)
    else:

        def run():
            return net(frames())

    # A dispatch mode sees every op's inputs and outputs, backward ops included.
    with OpLog() as forward:
        out = run().square().mean()
    with OpLog() as backward:
        out.backward()
    for log in (forward, backward):
        assert log.count > 0
        dtypes = {dtype for _, dtype, _ in log.tensors if dtype.is_floating_point}
        assert dtypes == {torch.float32}
    for name, p in net.named_parameters():
        assert p.dtype == torch.float32
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_construction_and_forward_are_reproducible():
    outs = []
    for _ in range(2):
        torch.manual_seed(11)
        net = WormGNN(N, hidden_size=8, edges="dynamic")
        outs.append((net.state_dict(), net(frames())))
    for k in outs[0][0]:
        assert torch.equal(outs[0][0][k], outs[1][0][k])
    assert torch.equal(outs[0][1], outs[1][1])


def test_init_weights():
    net = init_weights(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.GRU(3, 5)))
    assert torch.equal(net[0].bias, torch.full((3,), 0.1))
    assert all((p == 0.1).all() for n, p in net[1].named_parameters() if "bias" in n)
    gnn = WormGNN(N)
    assert torch.equal(gnn.head.bias, torch.full((2,), 0.1))
    assert torch.equal(gnn.node.norm.weight, torch.ones(16))


def test_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="aggregation must be one of"):
        WormMLP(N, aggregation="mean")
    with pytest.raises(ValueError, match="edges must be one of"):
        WormGNN(N, edges="fixed")
    with pytest.raises(ValueError, match="readout must be one of"):
        WormGNN(N, readout="nodes")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        WormGNN(N, hidden_size=0)
    with pytest.raises(ValueError, match=r"adjacency must have shape .*\(6, 6\)"):
        WormGNN(N, adjacency=torch.zeros(N, N + 1))
    with pytest.raises(ValueError, match="NaN or infinite"):
        WormGNN(N, adjacency=torch.full((N, N), float("nan")))
    net = WormGNN(N)
    with pytest.raises(ValueError, match=r"n_neurons=6, n_channels=2\); got \(10, 5"):
        net(torch.rand(B, 5, C))
    with pytest.raises(TypeError, match="float32"):
        net(frames().double())
    with pytest.raises(ValueError, match="empty"):
        net(torch.rand(0, N, C))


def test_wormsk_nn_imports_only_torch():
    code = (
        "import sys, wormsk.nn; "
        "print(sorted(m for m in ('pandas', 'sklearn', 'skorch', 'scipy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_step_module_is_the_network_of_one_frame():
    gnn = WormGNN(N, n_outputs=C, hidden_size=8, readout="node")
    assert gnn.step_module is gnn
    mlp = WormMLP(N, n_outputs=C, hidden_size=8, readout="node")
    assert mlp.step_module is mlp
    assert MarkovForecaster(gnn).step_module is gnn


@pytest.mark.parametrize(
    "make",
    [
        lambda: MarkovForecaster(WormGNN(N, n_outputs=C, hidden_size=8,
                                         edges="dynamic", readout="node")),
        lambda: GRUForecaster(N, hidden_size=8),
    ],
)
def test_start_from_no_change_predicts_the_last_frame(make):
    torch.manual_seed(0)
    net = make()
    assert net.start_from_no_change() is net
    x = torch.rand(B, N, C)
    start = x if isinstance(net, MarkovForecaster) else x.unsqueeze(1)
    out = net(start, horizon=3)
    torch.testing.assert_close(out, x.unsqueeze(1).expand(-1, 3, -1, -1))


def test_gru_readout_reads_the_burn_in_and_checks_it():
    torch.manual_seed(0)
    net = GRUReadout(N, C, n_outputs=3, hidden_size=8)
    frames = torch.rand(30, N, C)
    rows = torch.randint(0, 30, (B, 4))
    out = net((frames, rows))
    assert out.shape == (B, 3)
    torch.testing.assert_close(net(frames[rows]), out, rtol=0, atol=0)
    # the output depends on the earlier burn-in frames, not only the last
    moved = rows.clone()
    moved[:, 0] = (rows[:, 0] + 1) % 30
    assert not torch.allclose(net((frames, moved)), out)
    with pytest.raises(ValueError, match="n_outputs must be a positive integer"):
        GRUReadout(N, C, n_outputs=0)
    with pytest.raises(ValueError, match=r"history must have shape"):
        net(torch.rand(B, N, C))
