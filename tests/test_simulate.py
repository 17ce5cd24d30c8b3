"""make_worms (wormsk.datasets._simulate): the contract, behaviour statistics,
determinism, the worm-to-worm variability knobs, neuron names."""

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.svm import SVC

from wormsk.datasets import (
    FOUR_STATES,
    FWD_REV_STATES,
    KATO_SHARED_NEURONS,
    KATO_STATES,
    make_worms,
    map_states,
)
from wormsk.preprocessing import PerWormScaler

# ---------------------------------------------------------------------------
# contract, behaviour and signals


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


@pytest.mark.parametrize("states", ["four", "fwd_rev"])
def test_make_worms_states_select_the_same_simulation_as_map_states(states):
    full = make_worms(n_worms=2, n_frames=400, random_state=0)
    part = make_worms(n_worms=2, n_frames=400, random_state=0, states=states)
    mapped = map_states(full.target, states)
    keep = pd.notna(mapped)
    # The same recordings, relabelled; only frames outside the vocabulary go.
    pd.testing.assert_frame_equal(part.data, full.data[keep])
    pd.testing.assert_frame_equal(part.latent, full.latent[keep])
    np.testing.assert_array_equal(part.target, mapped[keep])
    np.testing.assert_array_equal(part.groups, full.groups[keep])
    assert part.frame["state"].tolist() == part.target.tolist()
    vocabulary = {"four": FOUR_STATES, "fwd_rev": FWD_REV_STATES}[states]
    assert part.target_names == list(vocabulary)
    assert set(part.target) <= set(vocabulary)
    assert (states == "fwd_rev") == (len(part.data) < len(full.data))
    X, y = make_worms(n_worms=2, n_frames=400, random_state=0, states=states,
                      return_X_y=True)  # fmt: skip
    pd.testing.assert_frame_equal(X, part.data)
    np.testing.assert_array_equal(y, part.target)


def test_make_worms_nostate_label_keeps_every_frame():
    full = make_worms(n_worms=2, n_frames=400, random_state=0)
    kept = make_worms(n_worms=2, n_frames=400, random_state=0, states="fwd_rev",
                      nostate="label")  # fmt: skip
    pd.testing.assert_frame_equal(kept.data, full.data)
    turns = np.isin(full.target, ["dt", "vt"])
    assert turns.any()
    assert set(kept.target[turns]) == {"nostate"}
    assert set(kept.target[~turns]) == {"forward", "reverse"}
    assert kept.target_names == ["forward", "reverse", "nostate"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"states": "seven"}, r"states must be one of \['four', 'fwd_rev', 'kato7'\]"),
        ({"nostate": "keep"}, "nostate must be 'drop' or 'label'; got 'keep'"),
    ],
)
def test_make_worms_refuses_unknown_states_and_nostate(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_worms(n_worms=1, n_frames=50, random_state=0, **kwargs)


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


# ---------------------------------------------------------------------------
# determinism, variability knobs, neuron names


def _bunch(**kw):
    return make_worms(**{"n_worms": 4, "n_frames": 300, "random_state": 3, **kw})


def test_same_seed_same_worms_and_parameters():
    a, b = _bunch(), _bunch()
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.worm_params, b.worm_params)
    pd.testing.assert_frame_equal(a.dwell_scale, b.dwell_scale)
    c = _bunch(random_state=4)
    assert not np.allclose(a.worm_params["gain"], c.worm_params["gain"])


def test_per_worm_gain_offset_noise_differ_and_vanish_without_variability():
    params = _bunch().worm_params
    per_neuron = params.groupby(level="neuron")
    # Every neuron has its own gain, offset and noise level in every worm.
    for column in ("gain", "offset", "noise_sd", "tau_bleach"):
        assert (per_neuron[column].nunique() == 4).all(), column
    assert params.loc[("sim0", "AVAL"), "gain"] != params.loc[("sim1", "AVAL"), "gain"]
    same = _bunch(variability=0.0)
    fixed = same.worm_params.groupby(level="neuron")
    for column in ("gain", "offset", "noise_sd", "loading"):
        assert (fixed[column].nunique() == 1).all(), column
    assert not same.worm_params[["disengaged", "inconsistent"]].to_numpy().any()
    assert (same.dwell_scale.to_numpy() == 1.0).all()
    # Behaviour still differs between worms.
    y, groups = same.target, same.groups
    assert not np.array_equal(y[groups == "sim0"], y[groups == "sim1"])


def test_noise_scales_the_noise_level_only():
    one, two = _bunch(), _bunch(noise=2.0)
    np.testing.assert_allclose(two.worm_params["noise_sd"],
                               2 * one.worm_params["noise_sd"])  # fmt: skip
    np.testing.assert_allclose(two.worm_params["gain"], one.worm_params["gain"])
    # About 0.08 in units where a neuron's full response is about 1.2.
    assert 0.04 < one.worm_params["noise_sd"].median() < 0.16


def test_disengaged_and_inconsistent_neurons():
    none = _bunch(disengaged=0.0, inconsistent=0.0).worm_params
    # ALA and RIS are always inconsistent; nobody else without the knobs.
    loose = none.index.get_level_values("neuron").isin(["ALA", "RIS"])
    assert none["inconsistent"].to_numpy().tolist() == loose.tolist()
    assert not none["disengaged"].any()
    weak = _bunch(disengaged=1.0, inconsistent=0.0).worm_params
    assert weak.loc[~loose, "disengaged"].all()
    # Same random draws: a disengaged neuron carries a fifth of its loadings.
    np.testing.assert_allclose(weak.loc[~loose, "loading"],
                               0.2 * none.loc[~loose, "loading"])  # fmt: skip
    every = _bunch(inconsistent=1.0).worm_params
    assert every["inconsistent"].all()
    default = make_worms(n_worms=20, n_frames=20, random_state=0).worm_params
    # Defaults: 30 % disengaged, 20 % inconsistent (plus ALA, RIS), per worm.
    assert 0.15 < default["disengaged"].mean() < 0.35
    assert 0.2 < default["inconsistent"].mean() < 0.4


def test_inconsistent_neurons_change_sign_or_strength_across_worms():
    bunch = make_worms(n_worms=8, n_frames=1500, random_state=0)
    Xs = PerWormScaler().fit_transform(bunch.data)
    reverse = pd.Series(np.isin(bunch.target, ["rev1", "rev2", "revsus"]))
    corr = Xs.groupby(level="worm").apply(
        lambda w: w.reset_index(drop=True).corrwith(
            reverse[bunch.groups == w.name].reset_index(drop=True))
    )  # fmt: skip
    aval = corr["AVAL_trace"]
    flagged = bunch.worm_params.xs("AVAL", level="neuron")["inconsistent"]
    # AVAL follows reversals where it is consistent; where not, it differs.
    assert (aval[~flagged] > 0.3).all()
    assert flagged.any() and aval[flagged].min() < aval[~flagged].min()


def test_dwell_variability_stretches_each_worms_dwell_times():
    assert (_bunch(dwell_variability=0.0).dwell_scale.to_numpy() == 1.0).all()
    bunch = make_worms(n_worms=8, n_frames=3000, random_state=1,
                       dwell_variability=0.6)  # fmt: skip
    y, groups = pd.Series(bunch.target), bunch.groups
    runs = []
    for worm in bunch.dwell_scale.index:
        s = y[groups == worm].reset_index(drop=True)
        run = (s != s.shift()).cumsum()
        lengths = s.groupby(run).agg(["first", "size"]).iloc[1:-1]
        runs.append(lengths[lengths["first"] == "fwd"]["size"].mean())
    r = np.corrcoef(np.log(runs), np.log(bunch.dwell_scale["fwd"]))[0, 1]
    assert r > 0.7


def test_wander_blurs_the_states_within_a_worm():
    def within_state_sd(wander):
        b = make_worms(n_worms=1, n_frames=2000, random_state=0, wander=wander,
                       noise=0.0)  # fmt: skip
        avb = PerWormScaler().fit_transform(b.data)["AVBL_trace"].to_numpy()
        return avb[b.target == "fwd"].std()

    assert within_state_sd(0.5) > 1.5 * within_state_sd(0.0)


def test_default_worms_keep_models_below_ceiling():
    # Per-worm scaled SVM on unseen worms: far above the majority class, yet
    # not at ceiling, so that models can be told apart.
    bunch = make_worms(n_worms=4, n_frames=1200, random_state=0)
    X = PerWormScaler().fit_transform(bunch.data).to_numpy()
    fr = map_states(bunch.target, "fwd_rev")
    keep = fr != None  # noqa: E711
    accs, majority = [], []
    for worm in np.unique(bunch.groups):
        train = keep & (bunch.groups != worm)
        test = keep & (bunch.groups == worm)
        model = SVC().fit(X[train], fr[train].astype(str))
        accs.append(np.mean(model.predict(X[test]) == fr[test]))
        majority.append(np.mean(fr[test] == "forward"))
    assert np.mean(majority) + 0.05 < np.mean(accs) < 0.97


def test_unknown_neurons_are_refused_by_name():
    with pytest.raises(ValueError, match=r"Unknown neuron name\(s\) \['ZZZ', 'AVX'\]"):
        make_worms(n_worms=1, n_frames=10, neurons=["AVAL", "ZZZ", "AVX"])
    # VB01 and VB1 are one neuron, so naming both is a duplicate.
    with pytest.raises(ValueError, match="duplicates"):
        make_worms(n_worms=1, n_frames=10, neurons=["VB01", "VB1"])
    ok = make_worms(n_worms=1, n_frames=10, neurons=["VB1", "SMDVL", "N015"])
    assert ok.neuron_names == ["VB1", "SMDVL", "N015"]
    # The connectome's spelling gets the class tuning of VB01.
    vb = make_worms(n_worms=1, n_frames=10, neurons=["VB1"], random_state=0)
    vb01 = make_worms(n_worms=1, n_frames=10, neurons=["VB01"], random_state=0)
    np.testing.assert_allclose(vb.data.to_numpy(), vb01.data.to_numpy())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"disengaged": 1.5}, "disengaged"),
        ({"inconsistent": -0.1}, "inconsistent"),
        ({"dwell_variability": -1.0}, "dwell_variability"),
        ({"wander": float("nan")}, "wander"),
    ],
)
def test_bad_knobs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_worms(n_worms=1, n_frames=10, **kwargs)


def test_partial_identification_follows_the_seed_and_keeps_the_signals():
    full = _bunch()
    part = _bunch(identified=0.6)
    # 9 of the 15 neurons identified per worm; the rest NaN in every frame.
    assert all(len(names) == 6 for names in part.absent.values())
    assert full.absent == {w: [] for w in ("sim0", "sim1", "sim2", "sim3")}
    for worm, names in part.absent.items():
        rows = part.data.loc[worm]
        lost = [f"{n}_{c}" for n in names for c in ("trace", "deriv")]
        assert rows[lost].isna().all().all()
        assert rows.drop(columns=lost).notna().all().all()
    # Each worm its own subset, and the identified values are the full ones.
    assert len({tuple(v) for v in part.absent.values()}) > 1
    shown = part.data.notna()
    pd.testing.assert_frame_equal(part.data[shown], full.data[shown])
    np.testing.assert_array_equal(part.target, full.target)
    # Same seed, same pattern; another seed, another.
    assert _bunch(identified=0.6).absent == part.absent
    assert _bunch(identified=0.6, random_state=4).absent != part.absent
    X, _ = _bunch(identified=0.6, return_X_y=True)
    pd.testing.assert_frame_equal(X, part.data)
    assert sum(map(len, _bunch(identified=0.01).absent.values())) == 4 * 14


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, "half"])
def test_partial_identification_refuses_a_share_outside_0_1(bad):
    with pytest.raises(ValueError, match="identified must be the share"):
        _bunch(identified=bad)
