"""make_worms: determinism, the worm-to-worm variability knobs, neuron names."""

import numpy as np
import pandas as pd
import pytest
from sklearn.svm import SVC

from wormsk.datasets import make_worms, map_states
from wormsk.preprocessing import PerWormScaler


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
