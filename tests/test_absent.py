"""Worms with different neurons: absent neurons (NaN in every frame of a worm) as
missing nodes in the networks, the estimators, PerWormScaler and the imputation
pipeline for sklearn estimators."""

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import is_classifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from wormsk.datasets import recordings_from_arrays
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.nn import BatchStatNorm, MarkovForecaster, WormGNN, WormMLP
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

N, C = 6, 2
ABSENT = [1, 4]


def _frames(seed=0, n=24):
    return torch.randn(n, N, C, generator=torch.Generator().manual_seed(seed))


def _mask(n=24):
    mask = torch.ones(n, N, dtype=torch.bool)
    mask[:, ABSENT] = False
    return mask


def _finite_grads(module):
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return bool(grads) and all(bool(torch.isfinite(g).all()) for g in grads)


def _fill(x, value):
    x = x.clone()
    x[:, ABSENT] = value
    return x


# --- nn level ---------------------------------------------------------------------


@pytest.mark.parametrize("readout", ["graph", "node"])
@pytest.mark.parametrize("aggregation", ["concat", "sum"])
@pytest.mark.parametrize("edges", ["static", "dynamic", "fixed"])
def test_gnn_ignores_values_in_absent_slots(edges, aggregation, readout):
    torch.manual_seed(0)
    fixed = edges == "fixed"
    net = WormGNN(
        N, C, n_outputs=3, hidden_size=8, readout=readout, aggregation=aggregation,
        edges="static" if fixed else edges,
        adjacency=torch.rand(N, N) if fixed else None,
    )
    x, mask = _frames(), _mask()
    for training in (True, False):
        net.train(training)
        outs = [net(_fill(x, v), mask=mask) for v in (1e6, -7.0, math.inf)]
        outs.append(net(_fill(x, math.nan)))  # mask derived from all-NaN channels
        for out in outs[1:]:
            torch.testing.assert_close(out, outs[0], rtol=0, atol=0)
        assert torch.isfinite(outs[0]).all()
    if readout == "node":
        assert (outs[0][:, ABSENT] == 0).all()
    # Gradients stay finite with NaN in the absent slots.
    net.train()
    net(_fill(x, math.nan)).sum().backward()
    assert _finite_grads(net)


def test_gnn_absent_node_sends_nothing():
    # A present node's output does not change when an absent node's would-be
    # message changes: only the absent values differ, and they are never read.
    # With the absent node present, it does change (it sends messages).
    torch.manual_seed(1)
    net = WormGNN(N, C, n_outputs=2, hidden_size=8, readout="node").eval()
    x, mask = _frames(), _mask()
    a, b = _fill(x, 0.5), _fill(x, -0.5)
    assert not torch.allclose(net(a)[:, 0], net(b)[:, 0])
    torch.testing.assert_close(net(a, mask=mask), net(b, mask=mask), rtol=0, atol=0)


def test_masked_batch_norm_uses_present_nodes_only():
    norm = BatchStatNorm(3)
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        norm.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    z = torch.randn(10, N, 3)
    mask = _mask(10)
    out = norm(_fill(z, 1e3), mask)
    present = z[:, [i for i in range(N) if i not in ABSENT]]
    expected = norm(present)  # the unmasked statistics of the present nodes only
    torch.testing.assert_close(out[:, [0, 2, 3, 5]], expected, rtol=1e-5, atol=1e-5)
    assert (out[:, ABSENT] == 0).all()


def test_mlp_sum_averages_over_present_nodes():
    # Every neuron carries the same trace: the mean over present nodes equals the
    # mean over all, so a missing node changes nothing (N * mean = the full sum).
    torch.manual_seed(2)
    net = WormMLP(N, C, n_outputs=3, hidden_size=8, aggregation="sum").eval()
    x = _frames()[:, :1].expand(-1, N, -1).contiguous()
    torch.testing.assert_close(net(x, mask=_mask()), net(x), rtol=1e-5, atol=1e-5)
    outs = [net(_fill(x, v), mask=_mask()) for v in (3.0, -1e5)]
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_mlp_concat_refuses_absent_nodes():
    net = WormMLP(N, C, aggregation="concat")
    with pytest.raises(ValueError, match=r"Neurons \[1, 4\].*aggregation='sum'"):
        net(_fill(_frames(), math.nan))


def test_mask_checked_and_empty_frames_refused():
    net = WormGNN(N, C)
    with pytest.raises(ValueError, match="bool tensor of shape"):
        net(_frames(), mask=torch.ones(24, N))
    with pytest.raises(ValueError, match="no present neuron"):
        net(_frames(), mask=torch.zeros(24, N, dtype=torch.bool))


@pytest.mark.parametrize("edges", ["static", "dynamic"])
def test_infer_adjacency_nan_rows_and_columns(edges):
    torch.manual_seed(3)
    net = WormGNN(N, C, edges=edges).eval()
    x = _fill(_frames(), math.nan)
    adj = net.infer_adjacency(x)
    mean = net.mean_adjacency(x)
    for a in (adj[0], mean):
        assert torch.isnan(a[ABSENT]).all() and torch.isnan(a[:, ABSENT]).all()
        keep = [0, 2, 3, 5]
        assert torch.isfinite(a[keep][:, keep]).all()
    # Present pairs do not depend on the absent values either.
    garbage = net.mean_adjacency(_fill(_frames(), 9.0), mask=_mask())
    torch.testing.assert_close(garbage, mean, rtol=0, atol=0, equal_nan=True)


def test_forecaster_absent_neurons_nan_and_values_never_read():
    torch.manual_seed(4)
    step = WormGNN(N, C, n_outputs=C, hidden_size=8, readout="node", edges="dynamic")
    model = MarkovForecaster(step)
    x, mask = _frames(), _mask()
    targets = torch.randn(24, 5, N, C)
    targets[:, :, ABSENT] = math.nan
    gen = torch.Generator().manual_seed(0)
    y_nan = model(_fill(x, math.nan), 5, targets, 0.5, gen)
    gen = torch.Generator().manual_seed(0)
    garbage = targets.clone()
    garbage[:, :, ABSENT] = 42.0
    y_garbage = model(_fill(x, -42.0), 5, garbage, 0.5, gen, mask=mask)
    torch.testing.assert_close(y_garbage, y_nan, rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(y_nan[:, :, ABSENT]).all()
    assert torch.isfinite(y_nan[:, :, [0, 2, 3, 5]]).all()
    known = ~torch.isnan(targets)
    ((y_nan - targets)[known] ** 2).mean().backward()
    assert _finite_grads(model)


# --- estimators ---------------------------------------------------------------------


def _worm(X, name):
    return X.index.get_level_values("worm") == name


@pytest.mark.parametrize("Model", [GNNClassifier, MLPClassifier])
def test_classifier_prediction_ignores_absent_values(union, Model):
    X, y, names, gone = union
    before = X.copy()
    clf = Model(max_epochs=2, random_state=0, batch_size=64)
    if Model is MLPClassifier:
        clf.set_params(aggregation="sum")
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    pd.testing.assert_frame_equal(X, before)  # nothing modified
    # The module with garbage in sim1's absent slots (and the mask) gives the
    # estimator's predictions: the masked computation never reads them.
    rows = _worm(X, "sim1")
    x = torch.tensor(X[rows].to_numpy(np.float32)).view(-1, len(names), 2)
    mask = ~torch.isnan(x[..., 0])
    x = torch.nan_to_num(x, nan=123.0)
    clf.module_.eval()
    with torch.no_grad():
        out = torch.softmax(clf.module_(x, mask=mask).double(), dim=1).numpy()
    np.testing.assert_allclose(out, proba[rows], rtol=1e-6, atol=1e-7)
    # Same seed, same predictions; one worm alone, same predictions.
    again = Model(**clf.get_params()).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(again, proba)
    np.testing.assert_allclose(clf.predict_proba(X[rows]), proba[rows], rtol=1e-6)


def test_partly_nan_neuron_refused_naming_worm_neuron_frames(union):
    X, y, names, _ = union
    clf = GNNClassifier(max_epochs=1, random_state=0).fit(X, y)
    bad = X.copy()
    frames = bad.index.get_level_values("frame")
    gap = _worm(bad, "sim0") & (frames >= 10) & (frames <= 12)
    bad.loc[gap, f"{names[3]}_trace"] = np.nan
    match = rf"worm 'sim0', frames 10-12.*{names[3]}_trace"
    with pytest.raises(ValueError, match=match):
        clf.predict(bad)
    # One channel NaN in every frame, the other recorded: not absent either.
    bad = X.copy()
    bad.loc[_worm(bad, "sim0"), f"{names[3]}_deriv"] = np.nan
    match = rf"worm 'sim0'.*{names[3]}_deriv.*every frame"
    with pytest.raises(ValueError, match=match):
        GNNClassifier(max_epochs=1).fit(bad, y)


@pytest.mark.parametrize(
    "model, match",
    [
        (MLPClassifier(), r"MLPClassifier\(aggregation='concat'\).*aggregation='sum'"),
        (MLPRegressor(), r"MLPRegressor\(aggregation='concat'\)"),
        (GRURegressor(), r"GRURegressor cannot take missing neurons"),
    ],
)
def test_models_without_missing_nodes_refuse_absent_neurons(union, model, match):
    X, y, names, gone = union
    target = y if is_classifier(model) else np.zeros(len(X))
    with pytest.raises(ValueError, match=match) as info:
        model.set_params(max_epochs=1).fit(X, target)
    message = str(info.value)
    assert f"worm 'sim1': {gone['sim1']}" in message
    assert "GNNClassifier or GNNRegressor" in message and "SimpleImputer" in message


def test_worm_without_recorded_neuron_refused(union):
    X, y, _, _ = union
    bad = X.copy()
    bad.loc[_worm(bad, "sim2")] = np.nan
    with pytest.raises(ValueError, match="Worm 'sim2' has no recorded neuron"):
        GNNClassifier(max_epochs=1).fit(bad, y)


@pytest.mark.parametrize("Model", [GNNClassifier, GNNRegressor])
def test_inferred_graph_nan_for_absent_neurons(union, Model):
    X, y, names, gone = union
    target = y if Model is GNNClassifier else np.arange(len(X), dtype=float)
    graphs = Model(max_epochs=1, random_state=0).fit(X, target).inferred_graph(X)
    for worm, graph in graphs.items():
        missing = gone.get(worm, [])
        present = [n for n in names if n not in missing]
        assert graph.loc[missing].isna().all().all()
        assert graph[missing].isna().all().all()
        assert np.isfinite(graph.loc[present, present].to_numpy()).all()


def test_neuron_absent_from_every_training_worm_is_ignored_with_warning(union):
    X, y, names, gone = union
    worms = X.index.get_level_values("worm")
    never = [f"{names[0]}_trace", f"{names[0]}_deriv"]
    train = X.copy()
    train[never] = np.nan
    fit_on = worms != "sim0"
    clf = GNNClassifier(max_epochs=1, random_state=0).fit(train[fit_on], y[fit_on])
    # names[5] is absent from both sim1 and sim2 too.
    unseen = [names[0], names[5]]
    assert clf.unseen_neurons_ == unseen
    test = X[worms == "sim0"]  # records both
    with pytest.warns(UserWarning, match=re.escape(str(unseen)) + " were absent from"
                      r" every worm in fit.*ignored.*\['sim0'\]"):
        proba = clf.predict_proba(test)
    hidden = test.copy()
    hidden[[f"{n}_{c}" for n in unseen for c in ("trace", "deriv")]] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(clf.predict_proba(hidden), proba)


def test_forecast_targets_of_absent_neurons(union):
    X, _, names, gone = union
    X_t, Y = make_trajectory_targets(X, horizon=3)
    reg = GNNRegressor(max_epochs=2, random_state=0, batch_size=64).fit(X_t, Y)
    assert all(math.isfinite(h["train_loss"]) for h in reg.history_)
    pred = reg.predict(X_t)
    np.testing.assert_array_equal(np.isnan(pred), Y.isna().to_numpy())
    # Predictions of present neurons ignore the absent ones' values (NaN in X).
    rows = _worm(X_t, "sim1")
    np.testing.assert_allclose(reg.predict(X_t[rows]), pred[rows], rtol=1e-6)
    # A target NaN at a recorded neuron is refused, naming it.
    bad = Y.copy()
    bad.iloc[4, 0] = np.nan
    match = rf"neuron '{names[0]}' is recorded in worm 'sim0'"
    with pytest.raises(ValueError, match=match):
        GNNRegressor(max_epochs=1).fit(X_t, bad)
    # Direct targets must be known.
    direct = np.arange(len(X_t), dtype=float)
    direct[7] = np.nan
    with pytest.raises(ValueError, match="NaN in 1 rows, the first at row 7"):
        GNNRegressor(max_epochs=1).fit(X_t, direct)


def test_summing_mlp_regressor_forecasts_union(union):
    X, _, _, _ = union
    X_t, Y = make_trajectory_targets(X, horizon=2)
    reg = MLPRegressor(aggregation="sum", max_epochs=2, random_state=0).fit(X_t, Y)
    np.testing.assert_array_equal(np.isnan(reg.predict(X_t)), Y.isna().to_numpy())


# --- pipelines (PerWormScaler alone: test_preprocessing.py) ------------------------


def test_union_recordings_through_gnn_and_imputed_svm():
    rng = np.random.default_rng(0)
    traces = {w: rng.normal(size=(60, 4)).cumsum(axis=0) for w in ("a", "b", "c")}
    names = {"a": ["AVAL", "AVAR", "RIML", "SMDV"], "b": ["AVAL", "AVAR", "RIML", ""],
             "c": ["AVAL", "SMDV", "RIML", "AVAR"]}
    labels = {w: np.where(t[:, 0] > np.median(t[:, 0]), "fwd", "rev1")
              for w, t in traces.items()}
    bunch = recordings_from_arrays(traces, names, labels=labels, fps=2.0,
                                   neurons="union")
    assert bunch.absent["b"] == ["SMDV"]
    X, y = bunch.data, bunch.target
    gnn = make_pipeline(PerWormScaler(), GNNClassifier(max_epochs=3, random_state=0))
    assert gnn.fit(X, y).score(X, y) > 0.6
    svm = make_pipeline(PerWormScaler(), SimpleImputer(), SVC())
    assert svm.fit(X, y).score(X, y) > 0.6
