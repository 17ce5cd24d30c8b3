"""Properties behind wormsk's speed, tested without timing anything.

The fast paths (in-memory per-worm batches, the decomposed and chunked edge
encoder, chunked graphs in prediction) must give the results of the plain
reference; the torch path stays float32; forward passes have no Python loop over
neurons, pairs or frames (the number of torch operations does not grow with them);
no (..., N, N, 2h) pair tensor is ever built; and torch threads are not
oversubscribed, also under ``GridSearchCV(n_jobs=2)``. Timings live in
``benchmarks/``.
"""

import copy
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _data import OpLog
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.models._data import worm_chunks
from wormsk.nn import GRUForecaster, MarkovForecaster, WormGNN, WormMLP
from wormsk.preprocessing import make_trajectory_targets

# The estimators train with one thread: the reference loops must too, to sum in the
# same order (and many threads on small tensors are slow on a busy machine).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def worms():
    return make_worms(n_worms=2, n_frames=60, random_state=0, return_X_y=True)


# --- fast paths give the reference results -----------------------------------------


@pytest.mark.parametrize("cls", [MLPClassifier, GNNClassifier])
def test_estimator_trains_exactly_like_a_plain_torch_loop(worms, cls):
    # The estimator's in-memory per-worm batching is only a faster way to run the
    # hand-written loop: same batches, same losses, same weights, same predictions.
    # The batches come from worm_chunks with the net's own batch generator; that
    # the rule is right (one worm a batch, every row once, seeded reshuffles, a
    # lone remainder merged) is tested through the estimator in test_models_data.
    X, y = worms
    kw = dict(max_epochs=3, batch_size=16, random_state=0)
    est = cls(**kw).initialize(X, y)
    module = copy.deepcopy(est.module_)
    generator = torch.Generator()
    generator.set_state(est.net_.batch_generator_.get_state())
    est = cls(**kw).fit(X, y)

    codes = np.searchsorted(est.classes_, y)
    x3 = torch.tensor(X.to_numpy(np.float32)).view(len(X), -1, 2)
    yt = torch.as_tensor(codes)
    worm = X.index.get_level_values("worm")
    positions = [torch.as_tensor(np.flatnonzero(worm == w)) for w in worm.unique()]
    optimizer = torch.optim.Adam(module.parameters(), lr=est.lr)
    losses = []
    for _ in range(kw["max_epochs"]):
        module.train()
        total = 0.0
        for rows in worm_chunks(positions, kw["batch_size"], generator):
            optimizer.zero_grad()
            loss = F.cross_entropy(module(x3[rows]), yt[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(X))

    np.testing.assert_allclose(est.history_[:, "train_loss"], losses, rtol=1e-5)
    for (name, p), q in zip(est.module_.named_parameters(), module.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    module.eval()
    with torch.no_grad():
        expected = torch.cat([torch.softmax(module(x3[pos]), 1) for pos in positions])
    np.testing.assert_allclose(est.predict_proba(X), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_chunked_prediction_equals_autograd_path(edges):
    # Prediction builds graphs a few frames (or rows) at a time without autograd;
    # the training path, which holds the whole (B, N, N) adjacency, is the reference.
    torch.manual_seed(0)
    n = 20
    net = WormGNN(n, n_outputs=3, hidden_size=8, edges=edges).eval()
    x = torch.rand(90, n, 2)
    reference = net(x).detach()
    for budget in (2**20, n * n * 8 * 7, n * 8 * 3):  # one, several, partial frames
        net.pair_budget = budget
        with torch.no_grad():
            torch.testing.assert_close(net(x), reference, rtol=1e-5, atol=1e-6)
    # Without autograd no backward can follow, so no pair activations are kept for
    # one: nothing exceeds the (B, N, N) graphs, a ninth of the 90 x 20 x 20 x 8
    # pair hidden tensor.
    with torch.no_grad(), OpLog() as log:
        net(x)
    assert max(np.prod(s, dtype=np.int64) for _, _, s in log.tensors) <= 90 * n * n


@pytest.mark.parametrize("edges", ["static", "dynamic", "fixed"])
def test_mean_graph_in_chunks_equals_the_mean_of_all_graphs(edges):
    torch.manual_seed(0)
    n = 20
    adjacency = torch.rand(n, n) if edges == "fixed" else None
    kind = "static" if edges == "fixed" else edges
    net = WormGNN(n, n_outputs=3, hidden_size=8, edges=kind, adjacency=adjacency)
    net.eval()
    x = torch.rand(90, n, 2)
    with torch.no_grad():
        reference = net.infer_adjacency(x).mean(dim=0)
        for budget in (2**20, n * n * 8 * 7, n * 8 * 3):
            net.pair_budget = budget
            torch.testing.assert_close(net.mean_adjacency(x), reference)


def test_inferred_graph_of_a_long_worm_never_holds_all_its_frame_graphs():
    # Dynamic edges: one graph per frame. The mean graph of a worm must be summed
    # a few frames at a time, as prediction is, not from a (frames, N, N) stack.
    n, frames = 30, 200
    X, y = make_worms(n_worms=2, n_frames=frames, n_neurons=n, random_state=0,
                      return_X_y=True)
    clf = GNNClassifier(hidden_size=8, edges="dynamic", max_epochs=1,
                        batch_size=50, random_state=0).fit(X, y)
    clf.module_.pair_budget = n * n * 10  # graphs of ten frames per chunk
    with OpLog() as log:
        graphs = clf.inferred_graph(X)
    graph_stacks = [s for _, _, s in log.tensors if s[-2:] == (n, n)]
    assert graph_stacks  # the graphs were audited
    assert max(np.prod(s, dtype=np.int64) for s in graph_stacks) == 10 * n * n
    assert all(g.shape == (n, n) for g in graphs.values())


# --- float32 only ------------------------------------------------------------------


def _trajectories(X):
    return make_trajectory_targets(X, horizon=3)


ESTIMATORS = [
    (lambda: GNNClassifier(max_epochs=2, batch_size=32), False),
    (lambda: GNNClassifier(max_epochs=2, batch_size=32, edges="dynamic"), False),
    (lambda: MLPClassifier(max_epochs=2, batch_size=32), False),
    (lambda: GNNRegressor(max_epochs=2, train_horizon=2), True),
    (lambda: MLPRegressor(max_epochs=2, train_horizon=2), True),
    (lambda: GRURegressor(max_epochs=2, train_horizon=2), True),
]


@pytest.mark.parametrize(
    "make, forecast", ESTIMATORS,
    ids=["gnn-static", "gnn-dynamic", "mlp", "gnn-reg", "mlp-reg", "gru-reg"],
)
def test_no_float64_in_the_torch_path(worms, make, forecast):
    X, y = worms
    if forecast:
        X, y = _trajectories(X)
    est = make()
    with OpLog() as log:
        est.fit(X, y)
    assert log.count > 0
    assert {dtype for _, dtype, _ in log.tensors if dtype.is_floating_point} == {
        torch.float32
    }
    with OpLog() as log:
        out = est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)
    float64 = {shape for _, dtype, shape in log.tensors if dtype == torch.float64}
    # Only the final (n_samples, n_classes) probabilities are normalized in float64
    # (so that rows sum to 1 to sklearn's tolerance); the network runs in float32.
    assert float64 <= {out.shape}
    if not hasattr(est, "predict_proba"):
        assert not float64


# --- no N^2 x 2h pair tensor; bounded pair work ------------------------------------


@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_estimator_never_builds_concatenated_pairs(edges):
    # Frames per worm (36) and per batch (18) differ from N = 40, so a (B, N, 2h)
    # node state cannot pass for an (N, N, 2h) pair tensor.
    n, h = 40, 8
    X, y = make_worms(n_worms=2, n_frames=36, n_neurons=n, random_state=0,
                      return_X_y=True)
    clf = GNNClassifier(hidden_size=h, edges=edges, max_epochs=1, batch_size=18,
                        random_state=0)
    with OpLog() as log:
        clf.fit(X, y)
        clf.predict(X)
    shapes = [shape for _, _, shape in log.tensors]
    assert any(s[-2:] == (n, n) for s in shapes)  # the adjacency was audited
    assert not [s for s in shapes if len(s) >= 3 and s[-3:] == (n, n, 2 * h)]
    # Nothing as large as the concatenated pairs of a worm (the prediction batch).
    assert max(np.prod(s, dtype=np.int64) for s in shapes) < 36 * n * n * 2 * h


@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_whole_brain_training_step_stays_in_chunks(edges):
    # 302 neurons, 64 frames, hidden 16: the pair hidden tensor would be 93 million
    # floats (373 MB, three times that in backward). No tensor beyond the chunk
    # budget or the (64, 302, 302) adjacency may exist, whatever the pair count.
    n, b, h = 302, 64, 16
    torch.manual_seed(0)
    net = WormGNN(n, n_outputs=7, hidden_size=h, edges=edges)
    optimizer = torch.optim.Adam(net.parameters())
    with OpLog() as log:
        loss = F.cross_entropy(net(torch.rand(b, n, 2)), torch.randint(0, 7, (b,)))
        loss.backward()
        optimizer.step()
    largest = max(np.prod(s, dtype=np.int64) for _, _, s in log.tensors)
    assert largest <= max(net.pair_budget, b * n * n)
    assert largest * 4 < 2**30 / 16  # a few such tensors at most stay far below 1 GiB


# --- no Python loop over neurons, pairs or frames -----------------------------------


def _train_ops(net, x):
    net.zero_grad()
    with OpLog() as log:
        out = net(x)
        out.float().square().mean().backward()
    return log.count


def _predict_ops(net, x):
    with torch.no_grad(), OpLog() as log:
        net(x)
    return log.count


MODULES = {
    "gnn-static": lambda n: WormGNN(n, n_outputs=3, hidden_size=8, edges="static"),
    "gnn-dynamic": lambda n: WormGNN(n, n_outputs=3, hidden_size=8, edges="dynamic"),
    "gnn-fixed": lambda n: WormGNN(n, n_outputs=3, hidden_size=8,
                                   adjacency=torch.rand(n, n)),
    "gnn-node": lambda n: WormGNN(n, n_outputs=2, hidden_size=8, readout="node"),
    "mlp": lambda n: WormMLP(n, n_outputs=3, hidden_size=8),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_operation_count_does_not_grow_with_neurons_or_frames(name):
    # Sizes within one pair chunk (2**20 elements): chunking, which bounds memory
    # for large graphs, is the only place the count may grow, and then with the
    # pair work divided by a budget of about a million elements, not with N or B.
    counts = set()
    for n, b in [(5, 8), (40, 8), (5, 64), (40, 64)]:
        torch.manual_seed(0)
        net = MODULES[name](n)
        x = torch.rand(b, n, 2)
        counts.add((_train_ops(net, x), _predict_ops(net.eval(), x)))
    assert len(counts) == 1, counts
    [(train, predict)] = counts
    assert train > 0 and predict > 0, counts  # the log did see the operations


@pytest.mark.parametrize("kind", ["markov-gnn", "gru"])
def test_rollouts_loop_over_steps_only(kind):
    def count(n, b, horizon):
        torch.manual_seed(0)
        if kind == "gru":
            net = GRUForecaster(n, hidden_size=8)
            x = torch.rand(b, 3, n, 2)
        else:
            net = MarkovForecaster(WormGNN(n, n_outputs=2, hidden_size=8,
                                           edges="dynamic", readout="node"))
            x = torch.rand(b, n, 2)
        with OpLog() as log:
            net(x, horizon=horizon).square().mean().backward()
        return log.count

    base = count(5, 8, 4)
    assert count(30, 8, 4) == base
    assert count(5, 48, 4) == base
    assert count(5, 8, 8) > base  # the count does see the rollout's steps


# --- threads -----------------------------------------------------------------------


class _RecordThreads(Callback):
    """Write torch's intra-op thread count during training into the history."""

    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_fit_and_predict_use_one_thread_and_restore_the_callers(worms):
    X, y = worms
    torch.set_num_threads(2)  # a caller's setting, restored by fit and predict
    before = torch.get_num_threads()
    clf = GNNClassifier(max_epochs=2, callbacks=[_RecordThreads()]).fit(X, y)
    assert clf.history_[:, "torch_threads"] == [1, 1]
    seen = []
    clf.module_.register_forward_hook(
        lambda *args: seen.append(torch.get_num_threads()))
    clf.predict(X)
    assert seen == [1, 1]  # one forward per worm, one thread each
    assert torch.get_num_threads() == before


def test_more_threads_on_request_and_a_bad_setting_is_refused(worms, monkeypatch):
    X, y = worms
    before = torch.get_num_threads()
    monkeypatch.setenv("WORMSK_NUM_THREADS", "2")
    clf = GNNClassifier(max_epochs=1, callbacks=[_RecordThreads()]).fit(X, y)
    assert clf.history_[:, "torch_threads"] == [2]
    assert torch.get_num_threads() == before
    cores = len(os.sched_getaffinity(0))
    for bad in ["many", "0", str(cores + 1), "100000"]:
        monkeypatch.setenv("WORMSK_NUM_THREADS", bad)
        with pytest.raises(ValueError, match=rf"WORMSK_NUM_THREADS must be an "
                                             rf"integer from 1 to {cores} .*cores"):
            clf.predict(X)
    assert torch.get_num_threads() == before


def _threads_during_fit(estimator, X, y):
    return estimator.history_[-1, "torch_threads"]


def test_grid_search_with_two_jobs_does_not_oversubscribe(worms):
    # Each joblib worker trains with at most its share of the cores: no worker's
    # fit runs more torch threads than cpu_count // n_jobs (and at least 1).
    X, y = worms
    search = GridSearchCV(
        GNNClassifier(max_epochs=1, callbacks=[_RecordThreads()]),
        {"hidden_size": [4, 8]},
        cv=LeaveWormsOut(),
        scoring=_threads_during_fit,
        n_jobs=2,
        refit=False,
    )
    before = torch.get_num_threads()
    search.fit(X, y, groups=X.index.get_level_values("worm"))
    per_fit = search.cv_results_["mean_test_score"]
    assert len(per_fit) == 2
    assert np.all(per_fit >= 1)
    assert np.all(per_fit <= max(1, (os.cpu_count() or 1) // 2))
    assert torch.get_num_threads() == before
