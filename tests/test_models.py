"""Tests of the skorch-based estimators in wormsk.models."""

import io
import os
import pickle
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.metrics import log_loss
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from skorch.callbacks import Callback, Checkpoint, EarlyStopping
from skorch.dataset import ValidSplit

from wormsk.datasets import make_worms, map_states
from wormsk.metrics import trajectory_error
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

# Predicting numpy after fitting a DataFrame is deliberate in several tests.
pytestmark = pytest.mark.filterwarnings(
    "ignore:X does not have valid feature names:UserWarning"
)

CLASSIFIERS = [MLPClassifier, GNNClassifier]
REGRESSORS = [MLPRegressor, GNNRegressor, GRURegressor]
FAST = dict(max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def worms():
    """4 simulated worms x 600 frames, scaled per worm (DataFrame kept)."""
    X, y = make_worms(n_worms=4, n_frames=600, random_state=0, return_X_y=True)
    Xs = PerWormScaler().set_output(transform="pandas").fit_transform(X)
    return X, Xs, y


@pytest.fixture(scope="module")
def small():
    """2 worms x 120 frames: fast fits for behaviour (not accuracy) tests."""
    X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
    Xs = PerWormScaler().set_output(transform="pandas").fit_transform(X)
    return Xs, y


def _scaled_pipeline(clf):
    return make_pipeline(PerWormScaler().set_output(transform="pandas"), clf)


# --------------------------------------------------------------------------------
# learning
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_forward_vs_reverse_generalizes_to_unseen_worms(worms, cls):
    X, _, y = worms
    y2 = map_states(y, "fwd_rev")
    keep = np.array([label is not None for label in y2])
    Xk, yk = X[keep], y2[keep].astype(str)
    groups = Xk.index.get_level_values("worm")
    pipe = _scaled_pipeline(cls(max_epochs=10, random_state=0))
    scores = cross_val_score(pipe, Xk, yk, groups=groups, cv=LeaveWormsOut())
    assert len(scores) == 4
    assert scores.mean() >= 0.9, scores


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_seven_states_clearly_beat_majority_on_seen_worms(worms, cls):
    # The paper's 7-state task is on seen worms; on unseen default simulated worms
    # (worm-specific tuning) a 10-epoch fit of 7 states is near the majority rate.
    X, _, y = worms
    groups = X.index.get_level_values("worm")
    pipe = _scaled_pipeline(cls(max_epochs=10, random_state=0))
    cv = WormBlockKFold(n_splits=4, random_state=0)
    scores = cross_val_score(pipe, X, y, groups=groups, cv=cv)
    majority = max(np.mean(y == label) for label in np.unique(y))
    assert scores.mean() >= majority + 0.1, (scores, majority)


# --------------------------------------------------------------------------------
# per-worm prediction
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_prediction_is_per_worm(small, cls):
    X, y = small
    clf = cls(**FAST).fit(X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert set(clf.predict(X)) <= set(clf.classes_)
    worms = X.index.get_level_values("worm")
    first = worms == worms[0]
    # A worm's prediction does not depend on which other worms share the call ...
    np.testing.assert_allclose(clf.predict_proba(X[first]), proba[first], atol=1e-6)
    # ... nor on how the worms' rows interleave (numpy with groups) ...
    order = np.column_stack([np.flatnonzero(first), np.flatnonzero(~first)]).ravel()
    Xi, gi = X.to_numpy()[order], np.asarray(worms)[order]
    interleaved = clf.predict_proba(Xi, groups=gi)
    np.testing.assert_allclose(interleaved, proba[order], atol=1e-6)
    # ... nor on batch_size, which only shapes training batches.
    clf.set_params(batch_size=5)
    clf.net_.set_params(batch_size=5)
    np.testing.assert_allclose(clf.predict_proba(X), proba, atol=1e-7)
    # Without worm identity the two worms are one: a different normalization.
    assert not np.allclose(clf.predict_proba(X.to_numpy()), proba, atol=1e-3)


def test_training_batches_hold_one_worm_each(small):
    X, y = small
    seen = []

    class Record(Callback):
        def on_batch_begin(self, net, batch=None, training=None, **kwargs):
            if training:
                seen.append(batch[0].clone())

    clf = MLPClassifier(max_epochs=1, batch_size=25, callbacks=[Record()],
                        random_state=0).fit(X, y)
    frames = {w: torch.tensor(X.xs(w, level="worm").to_numpy(), dtype=torch.float32)
              for w in X.index.unique("worm")}
    sizes = []
    for xb in seen:
        flat = xb.reshape(len(xb), -1)
        owners = [w for w, f in frames.items()
                  if all((f == row).all(dim=1).any() for row in flat)]
        assert len(owners) == 1
        sizes.append(len(xb))
    # 120 frames per worm in chunks of 25 (last 20), every frame once per epoch
    assert sorted(sizes) == [20, 20] + [25] * 8
    assert clf.history_[-1, "train_batch_count"] == 10


def _row_ids(X):
    """X with its first column replaced by the row position (exact in float32)."""
    X = X.copy()
    X.iloc[:, 0] = np.arange(len(X), dtype=np.float64)
    return X


class _RecordRows(Callback):
    """Row positions of every training batch, per epoch (needs ``_row_ids`` X)."""

    def initialize(self):
        self.epochs_ = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.epochs_.append([])

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.epochs_[-1].append(batch[0][:, 0, 0].long().tolist())


def _recorded_rows(clf):
    return next(cb for _, cb in clf.net_.callbacks_ if isinstance(cb, _RecordRows))


def test_training_batches_are_per_worm_shuffled_and_seeded(small):
    X, y = small
    X = _row_ids(X)
    worm = np.asarray(X.index.get_level_values("worm"))

    def batches(seed):
        clf = MLPClassifier(max_epochs=2, batch_size=10, callbacks=[_RecordRows()],
                            random_state=seed).fit(X, y)
        return _recorded_rows(clf).epochs_

    first = batches(0)
    for epoch in first:
        rows = [r for batch in epoch for r in batch]
        assert sorted(rows) == list(range(len(X)))  # every row once per epoch
        assert all(len(set(worm[batch])) == 1 for batch in epoch)  # one worm each
        # frames shuffled within a worm, and the chunks of the worms interleaved
        owners = [worm[batch[0]] for batch in epoch]
        assert owners != sorted(owners) and owners != sorted(owners)[::-1]
        for w in np.unique(worm):
            in_time = [r for r in rows if worm[r] == w]
            assert in_time != sorted(in_time)
    assert first[0] != first[1]  # reshuffled every epoch
    assert batches(0) == first  # the same random_state, the same batches
    assert batches(1) != first


def test_remainder_of_one_frame_joins_previous_batch(small):
    X, y = small
    clf = MLPClassifier(max_epochs=1, batch_size=17, random_state=0).fit(X, y)
    sizes = [b["train_batch_size"] for b in clf.history_[-1, "batches"]]
    # 120 = 7 * 17 + 1: the single frame is merged into a batch of 18
    assert sorted(sizes) == [17] * 12 + [18, 18]


# --------------------------------------------------------------------------------
# determinism and persistence
# --------------------------------------------------------------------------------


def test_same_random_state_same_predictions_other_state_differs(small):
    X, y = small
    a = GNNClassifier(**FAST).fit(X, y).predict_proba(X)
    b = GNNClassifier(**FAST).fit(X, y).predict_proba(X)
    c = GNNClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_random_state_alone(small):
    X, y = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


_SUBPROCESS = """
import sys, numpy as np
from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier
X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
p = GNNClassifier(max_epochs=3, random_state=0).fit(X, y).predict_proba(X)
sys.stdout.write(p.astype(np.float64).tobytes().hex())
"""


def test_same_predictions_in_another_process():
    X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
    here = GNNClassifier(max_epochs=3, random_state=0).fit(X, y).predict_proba(X)
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    out = subprocess.run([sys.executable, "-c", _SUBPROCESS], capture_output=True,
                         text=True, check=True, env=env).stdout
    there = np.frombuffer(bytes.fromhex(out), dtype=np.float64).reshape(here.shape)
    np.testing.assert_array_equal(here, there)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_pickle_round_trip(small, cls):
    X, y = small
    clf = cls(**FAST).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone.classes_, clf.classes_)


def test_save_params_load_params_round_trip(small, tmp_path):
    X, y = small
    clf = GNNClassifier(**FAST).fit(X, y)
    clf.save_params(f_params=tmp_path / "w.pt", f_history=tmp_path / "h.json")
    fresh = GNNClassifier(random_state=5).initialize(X, y)
    assert not np.allclose(fresh.predict_proba(X), clf.predict_proba(X))
    fresh.load_params(f_params=tmp_path / "w.pt", f_history=tmp_path / "h.json")
    np.testing.assert_array_equal(fresh.predict_proba(X), clf.predict_proba(X))
    assert len(fresh.history_) == 3


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_load_params_is_weights_only(small, tmp_path):
    X, y = small
    clf = MLPClassifier(**FAST).fit(X, y)
    path = tmp_path / "evil.pt"
    torch.save({"head.weight": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        clf.load_params(f_params=path)


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


# --------------------------------------------------------------------------------
# skorch surface: train_split, callbacks, warm start, faults
# --------------------------------------------------------------------------------


def test_worm_grouped_validation_split_with_early_stopping_and_checkpoint(
    worms, tmp_path
):
    _, X, y = worms
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")
    clf = MLPClassifier(
        max_epochs=30,
        train_split=ValidSplit(GroupKFold(n_splits=4)),
        callbacks=[EarlyStopping(patience=2), checkpoint],
        random_state=0,
    ).fit(X, y)
    history = clf.history_
    assert "valid_loss" in history[-1] and "valid_acc" in history[-1]
    assert len(history) < 30  # stopped early
    # one worm out of four is held out: 600 frames, one batch per worm
    assert history[-1, "valid_batch_count"] == 1
    batches = history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 1800
    assert [b["valid_batch_size"] for b in batches if "valid_batch_size" in b] == [600]
    best = int(np.argmin(history[:, "valid_loss"]))
    assert history[best, "valid_loss_best"]
    clf.load_params(checkpoint=checkpoint)
    # the restored weights are the best epoch's: same loss on the held-out worm
    codes = pd.factorize(X.index.get_level_values("worm"))[0]
    _, valid = next(GroupKFold(n_splits=4).split(X, groups=codes))
    proba = clf.predict_proba(X.iloc[valid])
    loss = log_loss(y[valid], proba, labels=clf.classes_)
    assert loss == pytest.approx(history[best, "valid_loss"], rel=1e-4)
    with sklearn.config_context(enable_metadata_routing=True):
        clf2 = MLPClassifier(max_epochs=2, train_split=ValidSplit(GroupKFold(4)),
                             random_state=0).fit(X, y)
    assert clf2.history_[-1, "valid_batch_count"] == 1


def test_warm_start_continues_and_interrupt_keeps_model(small):
    X, y = small

    class Interrupt(Callback):  # Ctrl-C at the end of epoch 2
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):  # by default Ctrl-C leaves fit
        MLPClassifier(max_epochs=5, callbacks=[Interrupt()]).fit(X, y)
    with pytest.warns(UserWarning, match="interrupted during epoch 2"):
        clf = MLPClassifier(max_epochs=5, callbacks=[Interrupt()], warm_start=True,
                            interrupt="stop", random_state=0).fit(X, y)
    assert len(clf.history_) == 2
    before = clf.predict_proba(X)
    clf.set_params(callbacks=None, max_epochs=2).fit(X, y)
    assert len(clf.history_) == 4
    assert not np.allclose(clf.predict_proba(X), before)
    with pytest.raises(ValueError, match=r"not in the classes \[.*\] of the first fit"):
        clf.fit(X, np.where(y == y[0], "new", y))


def test_non_finite_training_loss_stops_with_epoch(small):
    X, y = small

    class Corrupt(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 2:
                with torch.no_grad():
                    next(net.module_.parameters()).fill_(float("nan"))

    with pytest.raises(FloatingPointError, match="became nan at epoch 2"):
        MLPClassifier(max_epochs=4, callbacks=[Corrupt()], random_state=0).fit(X, y)


def test_device_cpu_and_unavailable_cuda(small):
    X, y = small
    clf = MLPClassifier(device="cpu", **FAST).fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPClassifier(device="cuda", **FAST).fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_predictions_match_cpu(small):
    X, y = small
    clf = GNNClassifier(device="cuda", **FAST).fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cuda"
    assert clf.predict_proba(X).shape == (len(X), len(clf.classes_))


# --------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------


def test_bad_input_errors(small):
    X, y = small
    with pytest.raises(ValueError, match="not a multiple of n_channels=2"):
        MLPClassifier(n_channels=2, **FAST).fit(X.iloc[:, :5].to_numpy(), y)
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier(**FAST).fit(X, np.full(len(X), "fwd"))
    with pytest.raises(ValueError, match="y has 239 labels but X has 240 rows"):
        MLPClassifier(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="groups has 3 entries"):
        MLPClassifier(**FAST).fit(X.to_numpy(), y, groups=[0, 1, 2])
    with pytest.raises(ValueError, match="missing labels.*row 3"):
        MLPClassifier(**FAST).fit(X, np.where(np.arange(len(y)) == 3, None, y))
    with pytest.raises(ValueError, match="more than one row for worm 'sim0', frame"):
        MLPClassifier(**FAST).fit(pd.concat([X.iloc[:1], X]), np.r_[y[:1], y])
    with pytest.raises(ValueError, match="Worm 'lonely' has only 1 sample"):
        MLPClassifier(**FAST).fit(X.to_numpy(), y, groups=np.r_[["lonely"],
                                                                 np.zeros(len(y) - 1)])
    clf = MLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 29 features, but MLPClassifier is "
                                         "expecting 30"):
        clf.predict(X.to_numpy()[:, 1:])
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- AIBL"):
        clf.predict(X.iloc[:, 2:])
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        clf.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match=r"'lr' parameter of MLPClassifier must be "
                                         r"a float in the range \(0.0, inf\)"):
        MLPClassifier(lr=0).fit(X, y)


@pytest.mark.parametrize("where", ["fit", "predict"])
def test_nan_is_refused_naming_worm_frames_and_column(small, where):
    X, y = small
    bad = X.copy()
    bad.iloc[130:133, 4] = np.nan  # worm sim1, frames 10-12, third neuron's trace
    column = X.columns[4]
    msg = (r"NaN or infinity: worm 'sim1', frames 10-12 \(3 rows\), "
           rf"column\(s\) {column}")
    if where == "fit":
        with pytest.raises(ValueError, match=msg):
            MLPClassifier(**FAST).fit(bad, y)
    else:
        clf = MLPClassifier(**FAST).fit(X, y)
        with pytest.raises(ValueError, match=msg):
            clf.predict(bad)
        with pytest.raises(ValueError, match="worm 0, frames .row positions"):
            clf.predict(np.where(np.isnan(bad.to_numpy()), np.inf, bad.to_numpy()))


def test_inputs_are_not_modified(small):
    X, y = small
    X32 = X.to_numpy(dtype=np.float32)
    X32_copy, y_copy, X_copy = X32.copy(), y.copy(), X.copy()
    groups = np.asarray(X.index.get_level_values("worm"))
    clf = GNNClassifier(**FAST).fit(X32, y, groups=groups)
    clf.predict_proba(X32, groups=groups)
    reg = MLPRegressor(**FAST).fit(X, X32[:, :4])
    reg.predict(X)
    np.testing.assert_array_equal(X32, X32_copy)
    np.testing.assert_array_equal(y, y_copy)
    pd.testing.assert_frame_equal(X, X_copy)


class _RecordDatasets:
    """Every ``_WormDataset`` that fit and predict build (patched in)."""

    def __init__(self, monkeypatch):
        from wormsk.models import _estimator

        self.made = made = []
        original = _estimator._WormDataset

        class Recording(original):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                made.append(self)

        monkeypatch.setattr(_estimator, "_WormDataset", Recording)


@pytest.mark.parametrize("cls", [MLPClassifier, GNNRegressor, GRURegressor])
@pytest.mark.parametrize("kind", ["float32 array", "float32 frame", "float64 array"])
def test_fit_and_predict_tensors_never_share_memory_with_the_callers(
        small, monkeypatch, cls, kind):
    X, y = small
    if cls is not MLPClassifier:
        X, y = make_trajectory_targets(X, horizon=2)
        y = np.ascontiguousarray(y, dtype=np.float32)
    dtype = np.float64 if kind == "float64 array" else np.float32
    Xc = np.ascontiguousarray(X.to_numpy(dtype=dtype))
    if kind == "float32 frame":
        Xc = pd.DataFrame(Xc, index=X.index, columns=X.columns)
    callers = [np.asarray(Xc), np.asarray(y)]
    # a float32 C-ordered array (or single-block frame) could be wrapped as is
    assert kind == "float64 array" or np.shares_memory(np.asarray(Xc), Xc)
    record = _RecordDatasets(monkeypatch)
    groups = np.asarray(X.index.get_level_values("worm"))
    model = cls(max_epochs=1, random_state=0).fit(Xc, y, groups=groups)
    model.predict(Xc, groups=groups)
    assert len(record.made) == 2  # one in fit, one in predict
    for dataset in record.made:
        for tensor in (dataset.X, dataset.y):
            if tensor is None:
                continue
            for caller in callers:
                assert not np.shares_memory(tensor.numpy(), caller)


# --------------------------------------------------------------------------------
# sklearn citizenship
# --------------------------------------------------------------------------------


def test_side_by_side_with_svc_in_cross_validation_and_grid_search(worms):
    _, X, y = worms
    X, y = X.iloc[::3], y[::3]  # keep it quick: 200 frames per worm
    groups = X.index.get_level_values("worm")
    for clf in (SVC(), GNNClassifier(max_epochs=5, random_state=0)):
        pipe = _scaled_pipeline(clf)
        scores = cross_val_score(pipe, X, y, groups=groups, cv=LeaveWormsOut())
        assert scores.shape == (4,) and np.isfinite(scores).all()
    result = cross_validate(MLPClassifier(**FAST), X, y, groups=groups,
                            cv=LeaveWormsOut(), return_estimator=True)
    assert len(result["estimator"]) == 4
    search = GridSearchCV(_scaled_pipeline(MLPClassifier(**FAST)),
                          {"mlpclassifier__hidden_size": [4, 8]}, cv=LeaveWormsOut())
    search.fit(X, y, groups=groups)
    assert search.best_params_["mlpclassifier__hidden_size"] in (4, 8)
    assert search.predict(X).shape == (len(X),)


def test_grid_search_with_numpy_and_routed_groups(worms):
    _, X, y = worms
    X, y = X.iloc[::3], y[::3]
    Xn, groups = X.to_numpy(), np.asarray(X.index.get_level_values("worm"))
    with sklearn.config_context(enable_metadata_routing=True):
        clf = GNNClassifier(**FAST).set_fit_request(groups=True)
        clf.set_score_request(groups=True)
        pipe = make_pipeline(PerWormScaler().set_transform_request(groups=True), clf)
        search = GridSearchCV(pipe, {"gnnclassifier__hidden_size": [4, 8]},
                              cv=LeaveWormsOut())
        search.fit(Xn, y, groups=groups)
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
        fitted = search.best_estimator_[-1]
        # routed groups reached fit: training batches were single worms
        assert fitted.history_[-1, "train_batch_count"] == 4
        scores = cross_val_score(pipe, Xn, y, cv=LeaveWormsOut(),
                                 params={"groups": groups})
        assert scores.shape == (4,)


def test_design_md_example_runs(worms):
    """The DESIGN.md example, on smaller data and epochs so that it stays fast."""
    X, y = make_worms(n_worms=3, n_frames=300, random_state=0, return_X_y=True)
    groups = X.index.get_level_values("worm")
    for clf in (SVC(), GNNClassifier(max_epochs=5, random_state=0)):
        pipe = make_pipeline(PerWormScaler(), clf)
        score = cross_val_score(pipe, X, y, groups=groups, cv=LeaveWormsOut()).mean()
        assert 0 <= score <= 1
    search = GridSearchCV(make_pipeline(PerWormScaler(), GNNClassifier(max_epochs=2)),
                          {"gnnclassifier__hidden_size": [8, 16]}, cv=LeaveWormsOut())
    search.fit(X, y, groups=groups)
    assert search.best_params_["gnnclassifier__hidden_size"] in (8, 16)


def test_parameters_are_not_changed_by_fit(small):
    X, y = small
    callbacks = [EarlyStopping(monitor="train_loss", patience=100)]
    state = dict(vars(callbacks[0]))
    clf = GNNClassifier(callbacks=callbacks, **FAST)
    params = clf.get_params()
    clf.fit(X, y)
    assert clf.get_params()["callbacks"] is callbacks
    assert clf.get_params().keys() == params.keys()
    # the net trained with a copy; the callback passed is untouched
    assert vars(callbacks[0]) == state
    assert clf.net_.callbacks_[-2][1].best_epoch_ is not None


# --------------------------------------------------------------------------------
# regressors
# --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trajectories(worms):
    """16-frame targets of the scaled worms; train on sim0-sim2, test on sim3."""
    _, Xs, _ = worms
    X_t, Y = make_trajectory_targets(Xs, horizon=16)
    test = np.asarray(X_t.index.get_level_values("worm") == "sim3")
    return X_t, Y.to_numpy(), test


def _no_change(X_t, horizon=16):
    return np.tile(np.asarray(X_t), horizon)


def test_gnn_forecast_beats_no_change_at_one_step_on_unseen_worm(trajectories):
    X_t, Y, test = trajectories
    n_features = X_t.shape[1]
    reg = GNNRegressor(hidden_size=16, train_horizon=2, max_epochs=10, random_state=0)
    reg.fit(X_t[~test], Y[~test])
    assert reg.horizon_ == 16
    pred = reg.predict(X_t[test])
    assert pred.shape == Y[test].shape
    error = trajectory_error(Y[test], pred, n_features)
    baseline = trajectory_error(Y[test], _no_change(X_t[test]), n_features)
    assert error[0] < baseline[0], (error[0], baseline[0])
    # Errors grow along the rollout until they saturate at the traces' spread
    # (after about as many frames as the latent drives stay correlated).
    assert np.all(np.diff(error[:5]) > 0)
    assert np.all(error[4:] > 2 * error[0])


@pytest.mark.parametrize("cls", [MLPRegressor, GRURegressor])
def test_forecast_learns_and_errors_grow_with_step(trajectories, cls):
    X_t, Y, test = trajectories
    n_features = X_t.shape[1]
    reg = cls(train_horizon=2, max_epochs=10, random_state=0).fit(X_t[~test], Y[~test])
    untrained = cls(max_epochs=0, random_state=0).fit(X_t[~test], Y[~test])
    train = X_t[~test]
    np.testing.assert_allclose(untrained.predict(train), _no_change(train), atol=1e-6)
    error = trajectory_error(Y[~test], reg.predict(train), n_features)
    baseline = trajectory_error(Y[~test], _no_change(train), n_features)
    assert error[0] < 0.9 * baseline[0]  # learned the within-worm dynamics
    unseen = trajectory_error(Y[test], reg.predict(X_t[test]), n_features)
    assert unseen.shape == (16,) and np.isfinite(unseen).all()
    assert np.all(np.diff(unseen) > 0)


def test_scheduled_sampling_probability_decays_per_epoch(trajectories):
    X_t, Y, test = trajectories
    probs = []

    class Record(Callback):
        def on_epoch_begin(self, net, **kwargs):
            probs.append(net._teacher_prob())

    MLPRegressor(max_epochs=4, teacher_forcing_epochs=2, callbacks=[Record()],
                 random_state=0).fit(X_t[test], Y[test])
    assert probs == [1.0, 0.5, 0.0, 0.0]


def test_gru_burn_in_reads_preceding_rows_of_the_worm(small):
    X, _ = small
    X1 = X.loc[["sim0"]]
    X_t, Y = make_trajectory_targets(X1, horizon=2)
    reg = GRURegressor(burn_in=4, norm=False, max_epochs=2, random_state=0)
    reg.fit(X_t, Y)
    full = reg.predict(X_t)
    later = reg.predict(X_t.iloc[10:])
    # rows with 3 predecessors inside the call see the same burn-in frames
    np.testing.assert_allclose(later[3:], full[13:], atol=1e-6)
    # the first rows of a worm repeat its first frame instead
    assert not np.allclose(later[0], full[10])
    # another worm in the same call is not a predecessor
    both = pd.concat([X.loc[["sim1"]].iloc[:50], X_t.iloc[10:]])
    np.testing.assert_allclose(reg.predict(both)[50:], later, atol=1e-6)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_direct_regression_of_a_behavioural_variable(small, cls):
    X, y = small
    speed = np.where(np.isin(y, ["fwd", "slow"]), 1.0, -1.0) * 3.0 + 10.0
    reg = cls(max_epochs=15, random_state=0).fit(X, speed)
    assert reg.horizon_ is None and reg.n_outputs_ == 1
    pred = reg.predict(X)
    assert pred.shape == speed.shape
    assert reg.score(X, speed) > 0.5
    two = np.column_stack([speed, -speed, speed])  # 3 columns, not a multiple of 30
    assert reg.set_params(max_epochs=1).fit(X, two).predict(X).shape == (len(X), 3)


def test_target_modes_can_be_forced(small):
    X, _ = small
    Y = np.asarray(X)[:, :30] * 2.0  # one frame's width: forecast by default
    assert MLPRegressor(**FAST).fit(X, Y).horizon_ == 1
    direct = MLPRegressor(target="direct", **FAST).fit(X, Y)
    assert direct.horizon_ is None and direct.predict(X).shape == Y.shape
    with pytest.raises(ValueError, match="target='forecast' needs Y of width"):
        MLPRegressor(target="forecast", **FAST).fit(X, Y[:, :7])
    with pytest.raises(ValueError, match="'target' parameter of .* must be a str "
                                         "among"):
        MLPRegressor(target="both", **FAST).fit(X, Y)
    with pytest.raises(ValueError, match="y has 239 rows but X has 240"):
        MLPRegressor(**FAST).fit(X, Y[1:])


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_pickle_and_determinism(small, cls):
    X, _ = small
    X_t, Y = make_trajectory_targets(X, horizon=3)
    reg = cls(**FAST).fit(X_t, Y)
    again = cls(**FAST).fit(X_t, Y)
    np.testing.assert_array_equal(reg.predict(X_t), again.predict(X_t))
    clone = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(clone.predict(X_t), reg.predict(X_t))
    buffer = io.BytesIO()
    reg.save_params(f_params=buffer)
    buffer.seek(0)
    fresh = cls(random_state=3).initialize(X_t, Y)
    fresh.load_params(f_params=buffer)
    np.testing.assert_array_equal(fresh.predict(X_t), reg.predict(X_t))


def test_gnn_regressor_inferred_graph(small):
    X, _ = small
    X_t, Y = make_trajectory_targets(X, horizon=2)
    reg = GNNRegressor(hidden_size=8, **FAST).fit(X_t, Y)
    graphs = reg.inferred_graph(X_t)
    assert sorted(graphs) == ["sim0", "sim1"]
    values = graphs["sim0"].to_numpy()
    assert values.shape == (15, 15) and ((values > 0) & (values < 1)).all()


@pytest.mark.parametrize("cls", [MLPClassifier, GNNClassifier, MLPRegressor])
def test_row_order_within_a_worm_only_changes_rounding(small, cls):
    X, y = small
    est = cls(**FAST).fit(X, y if cls is not MLPRegressor else (y == "fwd") * 1.0)
    perm = np.random.default_rng(0).permutation(len(X))
    Xn = X.to_numpy()
    groups = np.asarray(X.index.get_level_values("worm"))
    method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    np.testing.assert_allclose(method(Xn[perm], groups=groups[perm]),
                               method(Xn, groups=groups)[perm], rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------------
# numpy integer parameters (ParameterGrid hands out np.int64 from np.arange)
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS)
def test_numpy_integer_parameters_fit_as_plain_ints(small, cls):
    X, y = small
    params = dict(hidden_size=8, batch_size=32, max_epochs=2)
    if cls in REGRESSORS:
        X, y = make_trajectory_targets(X, horizon=3)
        params["train_horizon"] = 2
    if cls is GRURegressor:
        params["burn_in"] = 2
    as_numpy = {name: np.int64(value) for name, value in params.items()}
    plain = cls(random_state=0, **params).fit(X, y)
    numpy = cls(random_state=0, **as_numpy).fit(X, y)
    method = "predict_proba" if cls in CLASSIFIERS else "predict"
    np.testing.assert_array_equal(getattr(numpy, method)(X), getattr(plain, method)(X))
    assert numpy.get_params()["hidden_size"] is as_numpy["hidden_size"]


def test_grid_search_over_numpy_ranges(small):
    X, y = small
    groups = X.index.get_level_values("worm")
    search = GridSearchCV(
        MLPClassifier(max_epochs=1, random_state=0),
        {"hidden_size": np.arange(4, 9, 4), "batch_size": np.arange(32, 65, 32)},
        cv=GroupKFold(2),
    ).fit(X, y, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    X_t, Y = make_trajectory_targets(X, horizon=3)
    search = GridSearchCV(
        MLPRegressor(max_epochs=1, random_state=0),
        {"train_horizon": np.arange(1, 4)},
        cv=GroupKFold(2),
    ).fit(X_t, Y, groups=X_t.index.get_level_values("worm"))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("params, match", [
    ({"train_horizon": 0}, r"'train_horizon' parameter .* must be an int in the "
                           r"range \[1, inf\)"),
    ({"teacher_forcing_epochs": -1}, r"'teacher_forcing_epochs' parameter .* must be "
                                     r"a float in the range \[0.0, inf\)"),
])
@pytest.mark.parametrize("cls", REGRESSORS)
def test_initialize_checks_regressor_parameters(small, cls, params, match):
    X, _ = small
    X_t, Y = make_trajectory_targets(X, horizon=2)
    with pytest.raises(ValueError, match=match):
        cls(**params).initialize(X_t, Y)
    with pytest.raises(ValueError, match=match):
        cls(max_epochs=1, **params).fit(X_t, Y)
