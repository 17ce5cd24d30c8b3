"""Property tests on random recording tables (hypothesis).

Random worms (labels, number, lengths, frame gaps), neurons, values and NaN
positions drive PerWormScaler, make_trajectory_targets, the splitters and fitted
estimators. Allowed outcomes: a correct result, or one of the documented
ValueErrors (matched by message); never another exception, and never a NaN in
the output of finite input.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.models import GNNClassifier, MLPRegressor
from wormsk.models._data import WormBatches, WormDataset
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NEURONS = ["AVAL", "AVAR", "AVBL", "RIML", "SMDVL"]
WORM_LABELS = st.one_of(
    st.lists(st.text("abcxyz_0123456789", min_size=1, max_size=6), min_size=1,
             max_size=4, unique=True),
    st.lists(st.integers(-5, 50), min_size=1, max_size=4, unique=True),
)


@st.composite
def recordings(draw, neurons=None, max_len=30, nan=True):
    """A recording table: DataFrame indexed by (worm, frame), neuron-major columns."""
    worms = draw(WORM_LABELS)
    if neurons is None:
        neurons = NEURONS[: draw(st.integers(1, len(NEURONS)))]
    n_cols = 2 * len(neurons)
    blocks, index = [], []
    for worm in worms:
        n = draw(st.integers(1, max_len))
        # frame numbers increase, with occasional gaps (dropped frames)
        steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 5]), min_size=n,
                              max_size=n))
        frames = draw(st.integers(0, 100)) + np.cumsum(steps)
        scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 1e4]))
        offset = draw(st.floats(-1e3, 1e3))
        seed = draw(st.integers(0, 2**16))
        values = offset + scale * np.random.default_rng(seed).standard_normal(
            (n, n_cols))
        blocks.append(values)
        index += [(worm, int(f)) for f in frames]
    data = np.concatenate(blocks)
    if nan:
        n_nan = draw(st.integers(0, 3))
        for _ in range(n_nan):
            data[draw(st.integers(0, len(data) - 1)),
                 draw(st.integers(0, n_cols - 1))] = np.nan
    columns = [f"{n}_{c}" for n in neurons for c in ("trace", "deriv")]
    index = pd.MultiIndex.from_tuples(index, names=["worm", "frame"])
    return pd.DataFrame(data, index=index, columns=columns)


def _plain(value):
    """np.int64(3) -> 3, as error messages print worm labels."""
    return value.item() if isinstance(value, np.generic) else value


def _worm_rows(X):
    worms = np.asarray(X.index.get_level_values("worm"))
    return {_plain(w): np.flatnonzero(worms == w) for w in pd.unique(worms)}


# ---------------------------------------------------------------------------
# PerWormScaler


@SETTINGS
@given(X=recordings(), method=st.sampled_from(["minmax", "standard", "robust"]))
def test_scaler_never_makes_nan_and_keeps_given_nan(X, method):
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from all-NaN columns
        out = PerWormScaler(method=method).fit_transform(X).to_numpy()
    missing = X.isna().to_numpy()
    np.testing.assert_array_equal(np.isnan(out), missing)
    assert np.isfinite(out[~missing]).all()
    if method == "minmax" and not missing.all():
        assert out[~missing].min() >= -1e-9 and out[~missing].max() <= 1 + 1e-9
    pd.testing.assert_frame_equal(X, before)


@SETTINGS
@given(X=recordings(nan=False), data=st.data())
def test_scaler_refuses_infinity_naming_the_worm(X, data):
    X = X.copy()
    row = data.draw(st.integers(0, len(X) - 1))
    col = data.draw(st.integers(0, X.shape[1] - 1))
    X.iloc[row, col] = data.draw(st.sampled_from([np.inf, -np.inf]))
    worm, frame = map(_plain, X.index[row])
    with pytest.raises(ValueError, match=f"column '{X.columns[col]}' of worm "
                                         f"{worm!r} \\(frame {frame}\\)"):
        PerWormScaler().fit_transform(X)


# ---------------------------------------------------------------------------
# trajectory targets


@SETTINGS
@given(X=recordings(nan=False), horizon=st.integers(1, 8), stride=st.integers(1, 3))
def test_trajectory_windows_stay_within_a_worm_and_its_gap_free_stretches(
    X, horizon, stride
):
    frames = X.index.get_level_values("frame").to_numpy()
    runs = [  # row positions of every gap-free stretch of every worm
        run
        for rows in _worm_rows(X).values()
        for run in np.split(rows, np.flatnonzero(np.diff(frames[rows]) != 1) + 1)
    ]
    longest = max(len(run) for run in runs)
    if longest <= horizon:
        with pytest.raises(ValueError, match=f"No worm has more than "
                                             f"horizon={horizon} consecutive"):
            make_trajectory_targets(X, horizon=horizon, stride=stride)
        return
    X_t, Y = make_trajectory_targets(X, horizon=horizon, stride=stride)
    # Exactly the documented windows: in every stretch of L frames, the starts
    # 0, stride, 2 * stride, ... below L - horizon (none when L <= horizon),
    # ceil((L - horizon) / stride) of them, in row order.
    expected = [run[i] for run in runs for i in range(0, len(run) - horizon, stride)]
    assert len(X_t) == sum(
        -(-(len(run) - horizon) // stride) for run in runs if len(run) > horizon
    )
    assert list(X_t.index) == list(X.index[sorted(expected)])
    assert Y.shape == (len(X_t), horizon * X.shape[1])
    position = {key: i for i, key in enumerate(X.index)}
    values = X.to_numpy()
    for (worm, frame), target in zip(X_t.index, Y.to_numpy()):
        rows = [position.get((worm, frame + k)) for k in range(1, horizon + 1)]
        assert None not in rows  # never across a worm boundary or a frame gap
        np.testing.assert_array_equal(target, values[rows].ravel())


# ---------------------------------------------------------------------------
# splitters


@SETTINGS
@given(X=recordings(nan=False), k=st.integers(1, 4), as_train=st.booleans())
def test_leave_worms_out_partitions_whole_worms_or_says_why(X, k, as_train):
    rows = _worm_rows(X)
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
    rows = _worm_rows(X)
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
        worm = _plain(X.index[np.flatnonzero(missing.any(axis=1))[0]][0])
        for model in (clf, reg):
            try:
                out = model.predict(X)
            except ValueError as exc:  # names the worm at fault
                assert f"orm {worm!r}" in str(exc), exc
            else:  # only whole absent neurons, which the GNN takes as missing
                assert model is clf and len(out) == len(X)
        return
    single = [w for w, rows in _worm_rows(X).items() if len(rows) == 1]
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
    rows = _worm_rows(X)
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
