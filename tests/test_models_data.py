"""Per-worm data, batches and prediction (wormsk.models._data)."""


import numpy as np
import pandas as pd
import pytest
import torch
from _data import CLASSIFIERS, FEATURE_NAMES_OK
from skorch.callbacks import Callback

from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.preprocessing import make_trajectory_targets

pytestmark = FEATURE_NAMES_OK

FAST = dict(max_epochs=3, random_state=0)


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
    """Every ``WormDataset`` that fit and predict build (patched in)."""

    def __init__(self, monkeypatch):
        from wormsk.models import _estimator

        self.made = made = []
        original = _estimator.WormDataset

        class Recording(original):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                made.append(self)

        monkeypatch.setattr(_estimator, "WormDataset", Recording)


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
