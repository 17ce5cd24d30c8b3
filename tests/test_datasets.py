"""make_worms: the simulated worms (wormsk.datasets._simulate)."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.svm import SVC

from wormsk.datasets import (
    KATO_SHARED_NEURONS,
    KATO_STATES,
    make_worms,
    map_states,
)

# ---------------------------------------------------------------------------
# make_worms


def _per_worm_minmax(X):
    by_worm = X.groupby(level="worm")
    lo, hi = by_worm.transform("min"), by_worm.transform("max")
    return (X - lo) / (hi - lo)


def _runs(labels):
    s = pd.Series(labels)
    run = (s != s.shift()).cumsum()
    return s.groupby(run).agg(["first", "size"])


def test_make_worms_contract():
    bunch = make_worms(n_worms=3, n_frames=400, random_state=0)
    X, y = bunch.data, bunch.target
    assert X.shape == (1200, 2 * len(KATO_SHARED_NEURONS))
    assert X.index.names == ["worm", "frame"]
    assert list(X.columns[:4]) == [
        "AIBL_trace",
        "AIBL_deriv",
        "AIBR_trace",
        "AIBR_deriv",
    ]
    assert bunch.neuron_names == list(KATO_SHARED_NEURONS)
    assert list(pd.unique(bunch.groups)) == ["sim0", "sim1", "sim2"]
    np.testing.assert_array_equal(X.index.get_level_values("worm"), bunch.groups)
    np.testing.assert_array_equal(X.index.get_level_values("frame")[:3], [0, 1, 2])
    assert set(y) <= set(KATO_STATES) and bunch.target_names == list(KATO_STATES)
    assert np.isfinite(X.to_numpy()).all()
    assert bunch.fps == 2.9 and "semi-Markov" in bunch.DESCR
    assert list(bunch.frame.columns[-1:]) == ["state"]
    X2, y2 = make_worms(n_worms=3, n_frames=400, random_state=0, return_X_y=True)
    pd.testing.assert_frame_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_make_worms_deterministic_and_seed_dependent():
    a = make_worms(n_worms=2, n_frames=300, random_state=7, return_X_y=True)
    b = make_worms(n_worms=2, n_frames=300, random_state=7, return_X_y=True)
    c = make_worms(n_worms=2, n_frames=300, random_state=8, return_X_y=True)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert not np.allclose(a[0].to_numpy(), c[0].to_numpy())


def test_make_worms_whole_brain_and_speed():
    start = time.perf_counter()
    make_worms(n_worms=5, n_frames=3000, random_state=0)
    assert time.perf_counter() - start < 1.0
    bunch = make_worms(n_worms=1, n_frames=50, n_neurons=302, random_state=0)
    assert len(bunch.neuron_names) == 302 == len(set(bunch.neuron_names))
    assert bunch.neuron_names[:15] == list(KATO_SHARED_NEURONS)
    assert bunch.neuron_names[15] == "N015"
    custom = make_worms(n_worms=1, n_frames=20, neurons=["SMDVL", "AVAL"], n_neurons=3)
    assert custom.neuron_names == ["SMDVL", "AVAL", "N002"]
    lengths = make_worms(n_worms=4, n_frames=(90, 110), random_state=0).data
    sizes = lengths.groupby(level="worm").size()
    assert sizes.between(90, 110).all() and sizes.nunique() > 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_worms": 0}, "n_worms"),
        ({"n_frames": 1}, "n_frames"),
        ({"n_neurons": 0}, "n_neurons"),
        ({"neurons": ["AVAL", "AVAL"]}, "duplicates"),
        ({"neurons": ["AVAL", "AVAR"], "n_neurons": 1}, "n_neurons"),
        ({"fps": -1.0}, "fps"),
        ({"noise": -0.1}, "noise"),
    ],
)
def test_make_worms_rejects_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_worms(**kwargs)


def test_make_worms_behaviour_statistics():
    bunch = make_worms(n_worms=10, n_frames=3000, random_state=1)
    y, groups, fps = bunch.target, bunch.groups, bunch.fps
    freq = pd.Series(y).value_counts(normalize=True)
    assert set(freq.index) == set(KATO_STATES)
    assert 0.45 < freq["fwd"] < 0.8  # majority, but far from everything
    runs = pd.concat(
        [_runs(y[groups == w]).iloc[1:-1] for w in np.unique(groups)]
    )  # drop runs cut by the recording edges
    dwell = runs.groupby("first")["size"].mean() / fps
    assert 12 < dwell["fwd"] < 40  # forward runs: tens of seconds
    for state in ("slow", "rev1", "rev2", "revsus", "dt", "vt"):
        assert 1.5 < dwell[state] < 10, state
    allowed = {
        ("fwd", "slow"), ("fwd", "rev1"), ("fwd", "rev2"), ("slow", "rev1"),
        ("slow", "rev2"), ("slow", "fwd"), ("rev1", "fwd"), ("rev2", "revsus"),
        ("revsus", "dt"), ("revsus", "vt"), ("dt", "fwd"), ("vt", "fwd"),
    }  # fmt: skip
    same_worm = groups[1:] == groups[:-1]
    change = (y[1:] != y[:-1]) & same_worm
    seen = set(zip(y[:-1][change], y[1:][change]))
    assert seen <= allowed and len(seen) >= 10


def test_make_worms_neurons_follow_behaviour_and_derivative_is_trace_slope():
    # Class-typical tuning, without the worms whose AVAL or AVBL does not carry it.
    X, y = make_worms(n_worms=3, n_frames=2000, random_state=2, return_X_y=True,
                      disengaged=0.0, inconsistent=0.0)
    Xs = _per_worm_minmax(X)
    reverse = np.isin(y, ["rev1", "rev2", "revsus"])
    assert Xs["AVAL_trace"][reverse].mean() > Xs["AVAL_trace"][~reverse].mean() + 0.2
    forward = y == "fwd"
    assert Xs["AVBL_trace"][forward].mean() > Xs["AVBL_trace"][~forward].mean() + 0.1
    worm = X.xs("sim0", level="worm")
    slope = np.gradient(worm["AVAL_trace"].to_numpy()) * 2.9
    assert np.corrcoef(slope, worm["AVAL_deriv"])[0, 1] > 0.8


def test_individual_variability_needs_per_worm_scaling():
    # The paper's point: pooled raw traces generalize badly to unseen worms;
    # normalizing each worm by its own statistics fixes most of it.
    bunch = make_worms(n_worms=4, n_frames=1200, random_state=0)
    X, y, groups = bunch.data, bunch.target, bunch.groups
    raw, scaled = X.to_numpy(), _per_worm_minmax(X).to_numpy()
    fr = map_states(y, "fwd_rev")
    keep = fr != None  # noqa: E711

    def leave_one_worm_out(features, labels, mask):
        accs = []
        for worm in np.unique(groups):
            train, test = mask & (groups != worm), mask & (groups == worm)
            model = SVC().fit(features[train], labels[train])
            accs.append(np.mean(model.predict(features[test]) == labels[test]))
        return np.mean(accs)

    every = np.ones(len(y), bool)
    raw7, scaled7 = (
        leave_one_worm_out(raw, y, every),
        leave_one_worm_out(scaled, y, every),
    )
    fr = fr.astype(str)
    raw2, scaled2 = (
        leave_one_worm_out(raw, fr, keep),
        leave_one_worm_out(scaled, fr, keep),
    )
    majority = pd.Series(y).value_counts(normalize=True).iloc[0]
    assert scaled2 >= 0.8 and raw2 <= scaled2 - 0.05
    assert scaled7 > majority + 0.02 and scaled7 > raw7 + 0.05


def test_trajectories_are_predictable_beyond_persistence():
    X, _ = make_worms(n_worms=1, n_frames=3000, random_state=0, return_X_y=True)
    values = _per_worm_minmax(X).to_numpy()
    now, nxt = values[:-1], values[1:]
    half = len(now) // 2
    model = Ridge(alpha=1e-3).fit(now[:half], nxt[:half] - now[:half])
    pred = now[half:] + model.predict(now[half:])
    persistence = np.mean((nxt[half:] - now[half:]) ** 2)
    assert np.mean((nxt[half:] - pred) ** 2) < 0.75 * persistence
