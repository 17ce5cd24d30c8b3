"""Property tests on random recording tables (hypothesis).

Random worms (labels, number, lengths, frame gaps), neurons, values and NaN
positions drive PerWormScaler, make_trajectory_targets, the splitters and fitted
estimators. Allowed outcomes: a correct result, or one of the documented
ValueErrors (matched by message); never another exception, and never a NaN in
the output of finite input.
"""

import math

import numpy as np
import pytest
import torch
from _strategies import NEURONS, SETTINGS, plain, recordings, rows_by_worm
from hypothesis import assume, given
from hypothesis import strategies as st

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.models import GNNClassifier, MLPRegressor
from wormsk.models._data import WormBatches, WormDataset
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

# ---------------------------------------------------------------------------
# splitters


@SETTINGS
@given(X=recordings(nan=False), k=st.integers(1, 4), as_train=st.booleans())
def test_leave_worms_out_partitions_whole_worms_or_says_why(X, k, as_train):
    rows = rows_by_worm(X)
    cv = LeaveWormsOut(n_train_worms=k) if as_train else LeaveWormsOut(n_test_worms=k)
    if len(rows) < k + 1:
        with pytest.raises(ValueError, match=f"needs at least {k + 1} worms"):
            list(cv.split(X))
        return
    worms = np.asarray(X.index.get_level_values("worm"))
    splits = list(cv.split(X))
    # Every combination of k of the worms, once: C(n_worms, k) distinct k-worm sides.
    assert len(splits) == math.comb(len(rows), k) == cv.get_n_splits(X)
    sides = set()
    for train, test in splits:
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == len(X)
        assert not set(worms[train]) & set(worms[test])
        side = frozenset(worms[train if as_train else test])
        assert len(side) == k
        sides.add(side)
    assert len(sides) == len(splits)


@SETTINGS
@given(X=recordings(nan=False), n_splits=st.integers(2, 4),
       block_size=st.integers(1, 6), seed=st.integers(0, 100))
def test_block_kfold_partitions_every_worm_or_names_the_short_one(
    X, n_splits, block_size, seed
):
    cv = WormBlockKFold(n_splits=n_splits, block_size=block_size, random_state=seed)
    rows = rows_by_worm(X)
    short = [w for w, r in rows.items() if -(-len(r) // block_size) < n_splits]
    if short:
        with pytest.raises(ValueError, match=f"Worm {short[0]!r} has "
                                             f"{len(rows[short[0]])} frames"):
            list(cv.split(X))
        return
    seen = np.zeros(len(X), dtype=int)
    for train, test in cv.split(X):
        seen[test] += 1
        assert len(train) + len(test) == len(X)
        for worm_rows in rows.values():  # every fold draws from every worm
            assert np.isin(worm_rows, test).any()
    np.testing.assert_array_equal(seen, 1)


# ---------------------------------------------------------------------------
# fitted estimators (fitted once, outside the hypothesis loop)


@pytest.fixture(scope="module")
def fitted():
    bunch = make_worms(n_worms=2, n_frames=80, neurons=NEURONS, random_state=0)
    X = PerWormScaler().fit_transform(bunch.data)
    clf = GNNClassifier(max_epochs=2, random_state=0).fit(X, bunch.target)
    X_t, Y = make_trajectory_targets(X, horizon=2)
    reg = MLPRegressor(max_epochs=2, random_state=0).fit(X_t, Y)
    return clf, reg


@SETTINGS
@given(X=recordings(neurons=NEURONS))
def test_fitted_models_give_finite_output_or_name_the_non_finite_worm(fitted, X):
    clf, reg = fitted
    missing = X.isna().to_numpy()
    if missing.any():
        worm = plain(X.index[np.flatnonzero(missing.any(axis=1))[0]][0])
        for model in (clf, reg):
            try:
                out = model.predict(X)
            except ValueError as exc:  # names the worm at fault
                assert f"orm {worm!r}" in str(exc), exc
            else:  # only whole absent neurons, which the GNN takes as missing
                assert model is clf and len(out) == len(X)
        return
    single = [w for w, rows in rows_by_worm(X).items() if len(rows) == 1]
    if single:  # batch statistics of one frame: refused, never a constant
        for model in (clf, reg):
            with pytest.raises(ValueError, match=f"Worm {single[0]!r} has only 1 "):
                model.predict(X)
        return
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(clf.classes_))
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    assert set(clf.predict(X)) <= set(clf.classes_)
    forecast = reg.predict(X)
    assert forecast.shape == (len(X), 2 * X.shape[1])
    assert np.isfinite(forecast).all()


@SETTINGS
@given(X=recordings(neurons=NEURONS, nan=False), data=st.data())
def test_prediction_of_a_worm_ignores_the_other_worms(fitted, X, data):
    clf, _ = fitted
    rows = rows_by_worm(X)
    assume(len(rows) > 1 and min(map(len, rows.values())) > 1)
    worm = data.draw(st.sampled_from(list(rows)))
    alone = clf.predict_proba(X.iloc[rows[worm]])
    np.testing.assert_allclose(clf.predict_proba(X)[rows[worm]], alone, atol=1e-6)


# ---------------------------------------------------------------------------
# training batches, built directly


@SETTINGS
@given(lengths=st.lists(st.integers(2, 40), min_size=1, max_size=4),
       batch_size=st.integers(2, 16), seed=st.integers(0, 2**31 - 1))
def test_batches_hold_one_worm_cover_every_row_once_and_follow_the_seed(
        lengths, batch_size, seed):
    codes = np.repeat(np.arange(len(lengths)), lengths)
    n = len(codes)
    # every row's value is its position, so a batch says which rows it holds
    dataset = WormDataset(torch.arange(n, dtype=torch.float32).view(n, 1, 1),
                           torch.arange(n), worms=codes)

    def epoch(generator):
        return [yb.tolist() for _, yb in
                WormBatches(dataset, batch_size, shuffle=True, generator=generator)]

    generator = torch.Generator().manual_seed(seed)
    epochs = [epoch(generator), epoch(generator)]
    assert epoch(torch.Generator().manual_seed(seed)) == epochs[0]
    for batches in epochs:
        assert sorted(r for b in batches for r in b) == list(range(n))
        for b in batches:
            assert len(set(codes[b])) == 1
            # at most batch_size frames (one more where a lone remainder joined),
            # and never a single frame unless the whole worm is one frame
            assert 2 <= len(b) <= batch_size + 1
        per_worm = {w: sum(len(b) for b in batches if codes[b[0]] == w)
                    for w in range(len(lengths))}
        assert per_worm == dict(enumerate(lengths))
    # prediction batches: each worm whole, in time order, worms in order
    ordered = [yb.tolist() for _, yb in WormBatches(dataset, batch_size, False)]
    assert ordered == [np.flatnonzero(codes == w).tolist() for w in range(len(lengths))]


def test_batches_shuffle_frames_within_worms_and_interleave_worms():
    codes = np.repeat(np.arange(3), 40)  # 3 worms x 40 frames, chunks of 4
    dataset = WormDataset(torch.zeros(120, 1, 1), torch.arange(120), worms=codes)
    first_owner = set()
    for seed in range(20):
        batches = [yb.tolist() for _, yb in WormBatches(
            dataset, 4, shuffle=True, generator=torch.Generator().manual_seed(seed))]
        owners = [codes[b[0]] for b in batches]
        first_owner.add(owners[0])
        # grouped worms would have 2 owner changes; 30 shuffled chunks have many
        # (chance of 2 or fewer: about 1e-13)
        assert np.count_nonzero(np.diff(owners)) > 2
        for w in range(3):
            rows = [r for b in batches for r in b if codes[r] == w]
            assert rows != sorted(rows)  # not in time order (chance 1/40!)
    assert len(first_owner) > 1  # any worm can come first
