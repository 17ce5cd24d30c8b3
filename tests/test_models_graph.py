"""Graphs of the GNN estimators (wormsk.models._graph)."""


import numpy as np
import pandas as pd
import pytest
from _data import FEATURE_NAMES_OK

from wormsk.models import GNNClassifier, GNNRegressor
from wormsk.preprocessing import make_trajectory_targets

pytestmark = FEATURE_NAMES_OK

FAST = dict(max_epochs=3, random_state=0)


# --------------------------------------------------------------------------------
# graphs
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_inferred_graph_is_labelled_and_in_unit_interval(small, edges):
    X, y = small
    clf = GNNClassifier(edges=edges, **FAST).fit(X, y)
    graphs = clf.inferred_graph(X)
    assert list(graphs) == ["sim0", "sim1"]
    names = [c[: -len("_trace")] for c in X.columns[::2]]
    for graph in graphs.values():
        assert list(graph.index) == names and list(graph.columns) == names
        values = graph.to_numpy()
        assert np.isfinite(values).all()
        assert (values > 0).all() and (values < 1).all()
    # a worm's graph is computed from that worm's frames alone
    one = clf.inferred_graph(X.loc[["sim1"]])
    np.testing.assert_allclose(one["sim1"], graphs["sim1"], atol=1e-6)
    assert not np.allclose(graphs["sim0"], graphs["sim1"])


def test_fixed_adjacency_is_used_as_given_and_aligned_by_name(small):
    X, y = small
    names = [c[: -len("_trace")] for c in X.columns[::2]]
    rng = np.random.default_rng(0)
    adj = pd.DataFrame(rng.uniform(size=(len(names), len(names))), index=names,
                       columns=names)
    shuffled = adj.iloc[::-1, ::-1]
    clf = GNNClassifier(adjacency=shuffled, **FAST).fit(X, y)
    for graph in clf.inferred_graph(X).values():
        np.testing.assert_allclose(graph.to_numpy(), adj.to_numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="lacks the neuron.*AVAL"):
        GNNClassifier(adjacency=adj.drop(index="AVAL", columns="AVAL"),
                      **FAST).fit(X, y)
    with pytest.raises(ValueError, match="adjacency has shape"):
        GNNClassifier(adjacency=np.ones((3, 3)), **FAST).fit(X, y)


def test_zero_adjacency_removes_messages(small):
    X, y = small
    n = X.shape[1] // 2
    clf = GNNClassifier(adjacency=np.zeros((n, n)), **FAST).fit(X, y)
    captured = []
    gnn = clf.module_
    handle = gnn.message.register_forward_hook(
        lambda module, args, out: captured.append(args[0].detach().clone()))
    try:
        clf.predict_proba(X)
    finally:
        handle.remove()
    assert captured and all((c == 0).all() for c in captured)
    graphs = clf.inferred_graph(X)
    assert all((g.to_numpy() == 0).all() for g in graphs.values())


def test_gnn_regressor_inferred_graph(small):
    X, _ = small
    X_t, Y = make_trajectory_targets(X, horizon=2)
    reg = GNNRegressor(hidden_size=8, **FAST).fit(X_t, Y)
    graphs = reg.inferred_graph(X_t)
    assert sorted(graphs) == ["sim0", "sim1"]
    values = graphs["sim0"].to_numpy()
    assert values.shape == (15, 15) and ((values > 0) & (values < 1)).all()
