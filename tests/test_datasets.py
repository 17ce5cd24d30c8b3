import functools
import hashlib
import http.server
import threading
import time
import warnings
from pathlib import Path

import h5py
import mat73
import numpy as np
import pandas as pd
import pytest
from _matfile import Cell, Empty, StructArray, write_mat5, write_mat73
from sklearn.linear_model import Ridge
from sklearn.svm import SVC
from sklearn.utils import Bunch

from wormsk.datasets import (
    DATA_HOME_ENV,
    FOUR_STATES,
    KATO_SHARED_NEURONS,
    KATO_STATES,
    REMOTE_FILES,
    _matlab,
    fetch_kato2015,
    fetch_nichols2017,
    get_data_home,
    list_cached,
    load_connectome,
    load_kato2015,
    load_nichols2017,
    make_worms,
    map_states,
    split_known_neurons,
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


# ---------------------------------------------------------------------------
# MAT-file writer and reader

NAMED = ["AVAL", "AVAR", "AVBL", "RIML"]


def _kato_worm(bunch, worm, k, with_deriv=True, drop=None):
    """Kato-style fields of one simulated worm, with the quirks of real files."""
    X = bunch.data.xs(worm, level="worm")
    y = bunch.target[bunch.groups == worm]
    n = len(y)
    y = y.copy()
    y[:5] = "nostate"
    trace = X[[f"{m}_trace" for m in NAMED]].to_numpy()
    deriv = X[[f"{m}_deriv" for m in NAMED]].to_numpy()
    names = list(NAMED)
    if drop is not None:  # this worm's drop-neuron has two candidate names
        names[NAMED.index(drop)] = Cell([drop, "RIMR"])
    extras = [Empty("double"), 7.0, Cell(["AIBL", "AIBR"]), "---", Cell(["SMDVL"])]
    rois = names + extras
    rng = np.random.default_rng(k)
    extra_traces = rng.normal(size=(n, len(extras)))
    order = rng.permutation(len(rois))  # named ROIs sit anywhere
    all_trace = np.hstack([trace, extra_traces])[:, order]
    all_deriv = np.hstack([deriv, extra_traces])[:, order]
    states = {s: (y == s).astype(float) for s in KATO_STATES}
    states["nostate"] = (y == "nostate").astype(float)
    fields = {
        "NeuronNames": Cell([rois[i] for i in order]),
        "deltaFOverF": all_trace + 1.0,
        "deltaFOverF_bc": all_trace,
        "States": states,
        "tv": np.arange(n) / bunch.fps,
        "fps": bunch.fps,
        "dataset": f"recording_{k}",
    }
    if with_deriv:
        fields["deltaFOverF_deriv"] = all_deriv
    return fields, y


@pytest.fixture(scope="module")
def sim3():
    return make_worms(
        n_worms=3, n_frames=150, neurons=NAMED + ["SMDVL"], random_state=3
    )


def _write_kato(path, bunch, layout="cells", with_deriv=True, drop=None,
                writer=write_mat73):
    worms = [
        _kato_worm(bunch, w, k, with_deriv, drop if k == 1 else None)
        for k, w in enumerate(pd.unique(bunch.groups))
    ]
    fields = [f for f, _ in worms]
    if layout == "cells":
        root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    else:
        root = StructArray(fields)
    writer(path, {"WT_NoStim": root})
    return np.concatenate([y for _, y in worms])


@pytest.mark.parametrize("layout", ["cells", "struct_array"])
def test_matfile_writer_is_real_v73_and_mat73_agrees(tmp_path, sim3, layout):
    path = tmp_path / "WT_NoStim.mat"
    _write_kato(path, sim3, layout)
    with open(path, "rb") as fh:
        head = fh.read(128)
    assert head.startswith(b"MATLAB 7.3 MAT-file") and head[-2:] == b"IM"
    with h5py.File(path, "r") as f:
        assert f.userblock_size == 512
        assert f["WT_NoStim"].attrs["MATLAB_class"] == b"struct"
        ref_field = f["WT_NoStim/NeuronNames"]
        assert ref_field.shape == (3, 1)  # MATLAB 1 x 3, transposed
        ours = _matlab.read(f["WT_NoStim"])
    theirs = mat73.loadmat(str(path))["WT_NoStim"]
    for k in range(3):
        ours_trace = _matlab.elements(ours["deltaFOverF_bc"])[k]
        np.testing.assert_array_equal(ours_trace, theirs["deltaFOverF_bc"][k])
        names = _matlab.elements(_matlab.elements(ours["NeuronNames"])[k])
        for mine, other in zip(names, theirs["NeuronNames"][k]):
            if isinstance(other, str):
                assert mine == other
            elif isinstance(other, list):
                assert _matlab.name_candidates(mine) == other
            elif other is None:
                assert np.asarray(mine).size == 0
            else:
                assert float(np.asarray(mine).ravel()[0]) == float(other)
        state = _matlab.elements(ours["States"])[k]
        np.testing.assert_array_equal(state["fwd"].ravel(), theirs["States"][k]["fwd"])
        assert _matlab.elements(ours["dataset"])[k] == theirs["dataset"][k]


def test_load_kato_both_layouts_agree_with_the_source(tmp_path, sim3):
    y_file = _write_kato(tmp_path / "a.mat", sim3, "cells")
    _write_kato(tmp_path / "b.mat", sim3, "struct_array")
    a = load_kato2015(tmp_path / "a.mat", neurons=NAMED)
    b = load_kato2015(tmp_path / "b.mat", neurons=NAMED)
    pd.testing.assert_frame_equal(a.data, b.data)
    np.testing.assert_array_equal(a.target, b.target)
    assert list(pd.unique(a.groups)) == ["kato0", "kato1", "kato2"]
    assert a.recordings["kato2"] == "recording_2"
    assert a.fps == {"kato0": 2.9, "kato1": 2.9, "kato2": 2.9}
    # nostate frames (the first five of every worm) are dropped by default
    assert len(a.target) == 3 * 145 and "nostate" not in set(a.target)
    assert a.data.index.get_level_values("frame")[0] == 5
    source = sim3.data[[f"{m}_{c}" for m in NAMED for c in ("trace", "deriv")]]
    source = source[y_file != "nostate"]
    np.testing.assert_allclose(a.data.to_numpy(), source.to_numpy())
    np.testing.assert_array_equal(a.target, y_file[y_file != "nostate"])
    np.testing.assert_allclose(a.time[:2], np.array([5, 6]) / 2.9)


def test_load_kato_nostate_labels_and_state_mappings(tmp_path, sim3):
    y_file = _write_kato(tmp_path / "k.mat", sim3)
    kept = load_kato2015(tmp_path / "k.mat", neurons=NAMED, nostate="label")
    assert len(kept.target) == 450 and "nostate" in kept.target_names
    np.testing.assert_array_equal(kept.target, y_file)
    four = load_kato2015(tmp_path / "k.mat", neurons=NAMED, states="four")
    assert set(four.target) <= set(FOUR_STATES)
    expected = map_states(y_file[y_file != "nostate"], "four")
    np.testing.assert_array_equal(four.target, expected.astype(str))
    X, y = load_kato2015(tmp_path / "k.mat", neurons=NAMED, states="fwd_rev",
                         return_X_y=True)  # fmt: skip
    turns_or_none = np.isin(y_file, ["dt", "vt", "nostate"])
    assert set(y) == {"forward", "reverse"} and len(y) == (~turns_or_none).sum()
    assert X.shape == (len(y), 2 * len(NAMED))
    with pytest.raises(ValueError, match="states must be one of"):
        load_kato2015(tmp_path / "k.mat", states="seven")
    with pytest.raises(ValueError, match="nostate must be"):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED, nostate="keep")


def test_load_kato_differentiates_when_the_file_has_no_derivative(tmp_path, sim3):
    _write_kato(tmp_path / "k.mat", sim3, with_deriv=False)
    bunch = load_kato2015(tmp_path / "k.mat", neurons=["AVAL"], nostate="label")
    worm = bunch.data.xs("kato0", level="worm")
    expected = np.gradient(worm["AVAL_trace"].to_numpy()) * 2.9
    np.testing.assert_allclose(worm["AVAL_deriv"], expected)


def test_load_kato_roi_names(tmp_path, sim3):
    _write_kato(tmp_path / "k.mat", sim3, drop="RIML")
    # ROIs with several candidates, none, a number or '---' are not neurons;
    # a single name inside a 1x1 cell is.
    shared = load_kato2015(tmp_path / "k.mat", neurons=None)
    assert shared.neuron_names == ["AVAL", "AVAR", "AVBL", "SMDVL"]
    with pytest.raises(ValueError, match=r"worm kato1 lacks \['RIML'\]") as err:
        load_kato2015(tmp_path / "k.mat", neurons=["AVAL", "RIML"])
    assert "kato0" not in str(err.value)
    with pytest.raises(ValueError, match=r"kato0 lacks \['AIBL'\].*kato2 lacks"):
        load_kato2015(tmp_path / "k.mat", neurons=["AIBL"])


@pytest.mark.parametrize("layout", ["cells", "struct_array"])
def test_load_kato_reads_matlab_v5_files_like_v73(tmp_path, sim3, layout):
    _write_kato(tmp_path / "new.mat", sim3, layout)
    _write_kato(tmp_path / "old.mat", sim3, layout, writer=write_mat5)
    assert not h5py.is_hdf5(tmp_path / "old.mat")
    assert (tmp_path / "old.mat").read_bytes().startswith(b"MATLAB 5.0 MAT-file")
    for neurons in (NAMED, None):
        new = load_kato2015(tmp_path / "new.mat", neurons=neurons, nostate="label")
        old = load_kato2015(tmp_path / "old.mat", neurons=neurons, nostate="label")
        pd.testing.assert_frame_equal(old.data, new.data)
        np.testing.assert_array_equal(old.target, new.target)
        np.testing.assert_array_equal(old.time, new.time)
        assert old.fps == new.fps and old.recordings == new.recordings
        assert old.neuron_names == new.neuron_names
    assert len(old.target) == 450 and old.neuron_names == ["AVAL", "AVAR", "AVBL",
                                                           "RIML", "SMDVL"]


def test_load_nichols_reads_matlab_v5_files_like_v73(tmp_path):
    sim = make_worms(n_worms=2, n_frames=50, neurons=["AVAL", "AVBL"], random_state=4)
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    fields = _write_nichols(tmp_path / "new" / "n2_prelet.mat", sim)
    write_mat5(tmp_path / "old" / "n2_prelet.mat",
               {"n2_prelet": {k: Cell([f[k] for f in fields]) for k in fields[0]}})
    new = load_nichols2017(tmp_path / "new" / "n2_prelet.mat", neurons=None,
                           nostate="label")  # fmt: skip
    old = load_nichols2017(tmp_path / "old" / "n2_prelet.mat", neurons=None,
                           nostate="label")  # fmt: skip
    pd.testing.assert_frame_equal(old.data, new.data)
    np.testing.assert_array_equal(old.target, new.target)
    assert old.neuron_names == ["AVAL", "AVBL"] and len(old.target) == 2 * 49


def test_load_kato_rejects_other_files(tmp_path):
    text_file = tmp_path / "old.mat"
    text_file.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(ValueError, match="neither a MATLAB v7.3 MAT-file .* nor an "
                                         "older MAT-file that scipy.io.loadmat can "
                                         "read: it is probably truncated"):
        load_kato2015(text_file)
    write_mat5(tmp_path / "v5.mat", {"WT_NoStim": np.ones(3)})
    with pytest.raises(ValueError, match="WT_NoStim is a MATLAB float64 of shape "
                                         r"\(3, 1\), not a struct"):
        load_kato2015(tmp_path / "v5.mat")
    write_mat73(tmp_path / "other.mat", {"something": np.ones(3)})
    with pytest.raises(ValueError, match=r"no variable 'WT_NoStim'.*something"):
        load_kato2015(tmp_path / "other.mat")


def _write_nichols(path, bunch, codes_offset=0):
    fields = []
    ys = []
    code_of = {"rev1": 1, "rev2": 1, "revsus": 1, "fwd": 2, "slow": 3, "dt": 4, "vt": 4}
    for k, worm in enumerate(pd.unique(bunch.groups)):
        X = bunch.data.xs(worm, level="worm")
        y = bunch.target[bunch.groups == worm]
        trace = X[[f"{m}_trace" for m in ("AVAL", "AVBL")]].to_numpy()
        codes = np.array([code_of[s] for s in y], dtype=float)
        codes[-3:] = 0  # unannotated
        ids = [Cell(["AVAL"]), "AVBL", Empty("double"), Cell(["AVAR", "AVEL"])]
        extra = np.random.default_rng(k).normal(size=(len(y), 2))
        full = np.hstack([trace, extra])
        fields.append(
            {
                "IDs": Cell(ids),
                "traces": full,
                "tracesDif": np.diff(full, axis=0),
                "timeVectorSeconds": np.arange(len(y)) / 3.3,
                "fps": 3.3,
                "dataset": f"{path.stem}_{k}",
                "stimulus": np.zeros(len(y)),
                "States": codes,
            }
        )
        ys.append(codes)
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(path, {path.stem: root})
    return fields


def _rewrite_nichols(path, fields):
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(path, {path.stem: root})


def test_load_nichols_files(tmp_path):
    n2 = make_worms(n_worms=2, n_frames=80, neurons=["AVAL", "AVBL"], random_state=4)
    npr1 = make_worms(n_worms=3, n_frames=90, neurons=["AVAL", "AVBL"], random_state=5)
    f_n2 = _write_nichols(tmp_path / "n2_prelet.mat", n2)
    _write_nichols(tmp_path / "npr1_prelet.mat", npr1)
    paths = [tmp_path / "n2_prelet.mat", tmp_path / "npr1_prelet.mat"]
    bunch = load_nichols2017(paths, neurons=["AVAL", "AVBL"], nostate="label")
    worms = list(pd.unique(bunch.groups))
    assert worms == ["n2_prelet_0", "n2_prelet_1"] + [
        f"npr1_prelet_{k}" for k in range(3)
    ]
    first = bunch.data.xs("n2_prelet_0", level="worm")
    # tracesDif is one frame shorter: frame 0 has no backward difference
    assert len(first) == 79 and first.index[0] == 1
    traces = f_n2[0]["traces"]
    np.testing.assert_allclose(first["AVAL_trace"], traces[1:, 0])
    np.testing.assert_allclose(first["AVBL_deriv"], np.diff(traces[:, 1]))
    labels = bunch.target[bunch.groups == "n2_prelet_0"]
    assert set(labels) <= {"Reversal", "Forward", "Quiescence", "Turn", "nostate"}
    assert list(labels[-3:]) == ["nostate"] * 3
    assert bunch.fps["npr1_prelet_2"] == 3.3
    shared = load_nichols2017(paths, neurons=None)
    assert shared.neuron_names == ["AVAL", "AVBL"]  # AVAR/AVEL ROI is ambiguous
    _, y2 = load_nichols2017(paths, neurons=["AVAL"], states="fwd_rev", return_X_y=True)
    assert set(y2) == {"forward", "reverse"}
    with pytest.raises(ValueError, match=r"n2_prelet_0 lacks \['AVAR'\]"):
        load_nichols2017(paths, neurons=["AVAR"])
    with pytest.raises(ValueError, match="same stem"):
        load_nichols2017([paths[0], paths[0]])


def test_time_vectors_are_read_checked_or_derived_from_fps(tmp_path, sim3):
    # Kato: tv read as is; without tv, frame / fps; a tv of the wrong length names
    # the worm and the field.
    worms = [_kato_worm(sim3, w, k)[0] for k, w in enumerate(pd.unique(sim3.groups))]
    worms[1]["tv"] = worms[1]["tv"] + 100.0
    root = {name: Cell([f[name] for f in worms]) for name in worms[0]}
    write_mat73(tmp_path / "tv.mat", {"WT_NoStim": root})
    bunch = load_kato2015(tmp_path / "tv.mat", neurons=NAMED, nostate="label")
    np.testing.assert_allclose(bunch.time[bunch.groups == "kato1"][:2],
                               100.0 + np.array([0, 1]) / 2.9)  # fmt: skip
    no_tv = {name: v for name, v in root.items() if name != "tv"}
    write_mat73(tmp_path / "no_tv.mat", {"WT_NoStim": no_tv})
    bunch = load_kato2015(tmp_path / "no_tv.mat", neurons=NAMED, nostate="label")
    np.testing.assert_allclose(bunch.time[bunch.groups == "kato1"][:3],
                               np.arange(3) / 2.9)  # fmt: skip
    worms[2]["tv"] = worms[2]["tv"][:-1]
    root = {name: Cell([f[name] for f in worms]) for name in worms[0]}
    write_mat73(tmp_path / "short_tv.mat", {"WT_NoStim": root})
    with pytest.raises(
        ValueError, match="Worm kato2: tv has 149 frames, the traces 150"
    ):
        load_kato2015(tmp_path / "short_tv.mat", neurons=NAMED)

    # Nichols: the first frame (no backward difference) is dropped with its time.
    bunch2 = make_worms(
        n_worms=2, n_frames=60, neurons=["AVAL", "AVBL"], random_state=6
    )
    path = tmp_path / "n2_prelet.mat"
    fields = _write_nichols(path, bunch2)
    got = load_nichols2017(path, neurons=["AVAL"], nostate="label")
    np.testing.assert_allclose(got.time[got.groups == "n2_prelet_1"][:2],
                               np.array([1, 2]) / 3.3)  # fmt: skip
    fields[0]["timeVectorSeconds"] = fields[0]["timeVectorSeconds"][:-2]
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(path, {path.stem: root})
    with pytest.raises(
        ValueError,
        match="Worm n2_prelet_0: timeVectorSeconds has 58 frames, the traces 60",
    ):
        load_nichols2017(path, neurons=["AVAL"])


def _write_kato_worms(path, worms):
    root = {name: Cell([f[name] for f in worms]) for name in worms[0]}
    write_mat73(path, {"WT_NoStim": root})


def _kato_fields(sim3):
    return [_kato_worm(sim3, w, k) for k, w in enumerate(pd.unique(sim3.groups))]


def test_load_kato_missing_state_indicator_warns_with_the_frames_lost(tmp_path, sim3):
    # issue 14: without `fwd`, its frames silently became nostate and vanished
    worms = _kato_fields(sim3)
    for fields, _ in worms:
        del fields["States"]["fwd"]
    _write_kato_worms(tmp_path / "k.mat", [f for f, _ in worms])
    with pytest.warns(UserWarning) as record:
        got = load_kato2015(tmp_path / "k.mat", neurons=NAMED)
    assert len(record) == 3
    assert {r.filename for r in record} == {__file__}  # the caller's line
    for k, (_, y) in enumerate(worms):
        lost = int((y == "fwd").sum())
        assert lost > 0
        assert (f"Worm kato{k}: the states struct has no indicator for ['fwd'], "
                f"and {lost} of 150 frames have no state") in str(record[k].message)
    lost = sum(int((y == "fwd").sum()) for _, y in worms)
    assert len(got.target) == 3 * 145 - lost and "fwd" not in set(got.target)
    # an indicator that is absent but never needed (nostate covers the frame)
    # changes nothing and says nothing
    worms = _kato_fields(sim3)
    for fields, y in worms:
        fields["States"]["nostate"] = ((y == "nostate") | (y == "fwd")).astype(float)
        del fields["States"]["fwd"]
    _write_kato_worms(tmp_path / "k2.mat", [f for f, _ in worms])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_kato2015(tmp_path / "k2.mat", neurons=NAMED)


def test_load_nichols_unnamed_state_codes_and_indicators_warn(tmp_path):
    sim = make_worms(n_worms=2, n_frames=40, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = _write_nichols(path, sim)
    fields[1]["States"][5:9] = [5, 7, 2.5, -1]
    _rewrite_nichols(path, fields)
    with pytest.warns(UserWarning, match=r"Worm n2_prelet_1: 4 of 40 frames have "
                                         r"state codes \[-1.0, 2.5, 5.0, 7.0\]"
                      ) as record:
        load_nichols2017(path, neurons=["AVAL"])
    assert record[0].filename == __file__
    # the same states as a struct of indicators, Forward missing
    for f in fields:
        codes = f["States"]
        f["States"] = {"Reversal": (codes == 1).astype(float),
                       "Quiescence": (codes == 3).astype(float),
                       "Turn": (codes == 4).astype(float)}  # fmt: skip
    _rewrite_nichols(path, fields)
    with pytest.warns(UserWarning) as record:
        load_nichols2017(path, neurons=["AVAL"])
    assert {r.filename for r in record} == {__file__}
    for k, f in enumerate(fields):
        lost = int((sum(f["States"].values()) == 0).sum())
        assert (f"Worm n2_prelet_{k}: the states struct has no indicator for "
                f"['Forward'], and {lost} of 40 frames") in str(record[k].message)


@pytest.mark.parametrize("fps, match", [
    (0.0, "fps is 0.0; the frame rate must be a positive"),
    (-2.9, "fps is -2.9"),
    (np.nan, "fps is nan"),
    (np.inf, "fps is inf"),
    ("2.9", "fps should be numeric; got the text '2.9'"),
    (Cell([2.9]), "fps should be numeric; got a cell array"),
    (np.array([2.9, 3.0]), "fps should be a scalar; got 2 values"),
])  # fmt: skip
def test_bad_frame_rates_are_refused_naming_the_worm(tmp_path, sim3, fps, match):
    worms = [f for f, _ in _kato_fields(sim3)]
    worms[1]["fps"] = fps
    _write_kato_worms(tmp_path / "k.mat", worms)
    with pytest.raises(ValueError, match="Worm kato1: " + match):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED)
    sim = make_worms(n_worms=2, n_frames=30, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = _write_nichols(path, sim)
    fields[0]["fps"] = fps
    _rewrite_nichols(path, fields)
    with pytest.raises(ValueError, match="Worm n2_prelet_0: " + match):
        load_nichols2017(path, neurons=["AVAL"])


@pytest.mark.parametrize("change, match", [
    (lambda t: t[::-1], r"tv does not increase: frame 1 is at 51.03\d* s after "
                        r"frame 0 at 51.37\d* s"),
    (lambda t: np.r_[t[:10], t[9], t[11:]], "tv does not increase: frame 10"),
    (lambda t: np.r_[t[:3], np.nan, t[4:]], r"tv has 1 non-finite value\(s\), "
                                             "the first at frame 3"),
    (lambda t: "0:149", "tv should be numeric; got the text '0:149'"),
])  # fmt: skip
def test_bad_time_vectors_are_refused_naming_the_worm(tmp_path, sim3, change, match):
    worms = [f for f, _ in _kato_fields(sim3)]
    worms[2]["tv"] = change(worms[2]["tv"])
    _write_kato_worms(tmp_path / "k.mat", worms)
    with pytest.raises(ValueError, match="Worm kato2: " + match):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED)


def test_wrong_structures_get_messages_naming_file_and_field(tmp_path, sim3):
    worms = [f for f, _ in _kato_fields(sim3)]
    path = tmp_path / "k.mat"
    with h5py.File(path, "w") as f:  # plain HDF5, right name, wrong structure
        f["WT_NoStim"] = np.ones((3, 3))
    with pytest.raises(ValueError, match=f"{path}:WT_NoStim is an HDF5 dataset of "
                                         r"shape \(3, 3\), not a struct"):
        load_kato2015(path)
    write_mat73(path, {"WT_NoStim": np.ones(3)})
    with pytest.raises(ValueError, match="WT_NoStim is a MATLAB double"):
        load_kato2015(path)
    write_mat73(tmp_path / "n2_prelet.mat", {"n2_prelet": Cell([1.0])})
    with pytest.raises(ValueError, match="n2_prelet is a MATLAB cell"):
        load_nichols2017(tmp_path / "n2_prelet.mat")
    for field, value, match in [
        ("deltaFOverF_bc", {"x": 1.0}, r"deltaFOverF_bc should be numeric; got a "
                                       r"struct with fields \['x'\]"),
        ("deltaFOverF_deriv", "none", "deltaFOverF_deriv should be numeric"),
        ("States", {**worms[0]["States"], "rev1": "abc"},
         "state vector 'rev1' should be numeric; got the text 'abc'"),
    ]:
        bad = [dict(w) for w in worms]
        bad[0][field] = value
        _write_kato_worms(path, bad)
        with pytest.raises(ValueError, match="Worm kato0: " + match):
            load_kato2015(path, neurons=NAMED)
    with pytest.raises(ValueError, match=f"{tmp_path} is a directory, not a MAT-file"):
        load_kato2015(tmp_path)
    with pytest.raises(ValueError, match="is a directory"):
        load_nichols2017([tmp_path])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"return_X_y": "no"}, ValueError, "return_X_y must be True or False; got 'no'"),
    ({"states": ["four"]}, ValueError, r"states must be one of \['four', 'fwd_rev', "
                                       r"'nichols4'\]; got \['four'\]"),
    ({"neurons": {"AVAL"}}, TypeError, "neurons must be an ordered list of names; "
                                       "got a set"),
    ({"states_field": 3}, TypeError, "states_field must be a str; got 3"),
    ({"state_codes": "RFQT"}, TypeError, "state_codes must be a list of state names"),
    ({"state_codes": ["a", "a"]}, ValueError, "name each code's state once"),
    ({"state_codes": []}, ValueError, r"got \[\]"),
    ({"state_codes": ["nostate", "Forward"]}, ValueError, "other than 'nostate'"),
    ({"paths": None}, TypeError, "paths must be a path or a list of paths"),
    ({"paths": [3]}, TypeError, r"got \[3\]"),
])  # fmt: skip
def test_load_nichols_arguments_are_checked(tmp_path, kwargs, error, match):
    path = tmp_path / "n2_prelet.mat"
    _write_nichols(path, make_worms(n_worms=1, n_frames=20, neurons=["AVAL", "AVBL"],
                                    random_state=0))  # fmt: skip
    kwargs = {"paths": path, "neurons": ["AVAL"], **kwargs}
    with pytest.raises(error, match=match):
        load_nichols2017(**kwargs)


# ---------------------------------------------------------------------------
# map_states


# Written out here, never read from the library: a wrong entry in a table of
# wormsk.datasets._constants must fail these tests (issue 14, item 15).
KATO_SEVEN = ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")
NICHOLS_CODES = {1: "Reversal", 2: "Forward", 3: "Quiescence", 4: "Turn"}
EXPECTED_MAPPINGS = {
    "four": {
        "fwd": "forward", "slow": "forward",
        "rev1": "reverse", "rev2": "reverse", "revsus": "reverse",
        "dt": "dorsal_turn", "vt": "ventral_turn", "nostate": None,
        "Forward": "forward", "Reversal": "reverse",
        "Turn": None, "Quiescence": None,
        "forward": "forward", "reverse": "reverse",
        "dorsal_turn": "dorsal_turn", "ventral_turn": "ventral_turn",
    },
    "fwd_rev": {
        "fwd": "forward", "slow": "forward",
        "rev1": "reverse", "rev2": "reverse", "revsus": "reverse",
        "dt": None, "vt": None, "nostate": None,
        "Forward": "forward", "Reversal": "reverse",
        "Turn": None, "Quiescence": None,
        "forward": "forward", "reverse": "reverse",
        "dorsal_turn": None, "ventral_turn": None,
    },
}  # fmt: skip


@pytest.mark.parametrize("mapping", sorted(EXPECTED_MAPPINGS))
def test_every_state_mapping_is_pinned(mapping):
    expected = EXPECTED_MAPPINGS[mapping]
    names = list(expected)
    assert map_states(names, mapping).tolist() == [expected[n] for n in names]
    # every state the library knows is pinned here
    from wormsk.datasets import NICHOLS_STATES

    assert set(KATO_STATES) | set(NICHOLS_STATES) | set(FOUR_STATES) <= set(names)
    assert KATO_STATES == KATO_SEVEN
    assert NICHOLS_STATES == tuple(NICHOLS_CODES.values())


def test_map_states():
    assert map_states(["Turn"], {"Turn": "ventral_turn"}).tolist() == ["ventral_turn"]
    assert map_states(["fwd", "walk"], {"fwd": "f"}).tolist() == ["f", None]
    with pytest.raises(ValueError, match=r"Cannot map state\(s\) \['walk'\]"):
        map_states(["walk"], "four")
    with pytest.raises(ValueError, match="Unknown state mapping"):
        map_states(["fwd"], "three")


def _every_kato_state(sim3):
    """sim3 with every Kato state in every worm (some simulated worms lack one)."""
    bunch = Bunch(**sim3)
    bunch.target = sim3.target.copy()
    for worm in pd.unique(sim3.groups):
        rows = np.flatnonzero(sim3.groups == worm)
        bunch.target[rows[10:10 + 7 * 3]] = np.repeat(KATO_SEVEN, 3)
    return bunch


@pytest.mark.parametrize("states", ["kato7", "four", "fwd_rev"])
def test_load_kato_labels_follow_the_written_out_tables(tmp_path, sim3, states):
    y_file = _write_kato(tmp_path / "k.mat", _every_kato_state(sim3))
    assert set(y_file) == set(KATO_SEVEN) | {"nostate"}
    got = load_kato2015(tmp_path / "k.mat", neurons=NAMED, states=states,
                        nostate="label")  # fmt: skip
    table = {s: s for s in KATO_SEVEN} if states == "kato7" else {
        k: v for k, v in EXPECTED_MAPPINGS[states].items() if k in KATO_SEVEN
    }
    expected = [table.get(s) or "nostate" for s in y_file]
    assert got.target.tolist() == expected


@pytest.mark.parametrize("states", ["nichols4", "four", "fwd_rev"])
def test_load_nichols_labels_follow_the_written_out_tables(tmp_path, states):
    sim = make_worms(n_worms=2, n_frames=60, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = _write_nichols(path, sim)
    for f in fields:  # every code, then the unannotated 0 and NaN
        f["States"][1:7] = [1, 2, 3, 4, 0, np.nan]
    _rewrite_nichols(path, fields)
    got = load_nichols2017(path, neurons=["AVAL"], states=states, nostate="label")
    table = {n: n for n in NICHOLS_CODES.values()} if states == "nichols4" else {
        k: v for k, v in EXPECTED_MAPPINGS[states].items()
        if k in NICHOLS_CODES.values()
    }
    expected = []
    for f in fields:
        codes = f["States"][1:]  # frame 0 has no backward difference
        names = [NICHOLS_CODES.get(c) for c in codes]
        expected += [table.get(n) or "nostate" for n in names]
    assert got.target.tolist() == expected


# ---------------------------------------------------------------------------
# fetchers


@pytest.fixture(scope="module")
def kato_file(tmp_path_factory, sim3):
    path = tmp_path_factory.mktemp("mirror") / "WT_NoStim.mat"
    _write_kato(path, sim3)
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def local_server(kato_file):
    handler = functools.partial(_QuietHandler, directory=str(kato_file.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "env_home"))
    assert get_data_home() == tmp_path / "env_home"
    assert (tmp_path / "env_home").is_dir()
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv(DATA_HOME_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "wormsk_data"


def test_fetch_downloads_once_then_uses_the_cache(
    tmp_path, kato_file, local_server, monkeypatch
):
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", _digest(kato_file))
    url = f"{local_server}/WT_NoStim.mat"
    home = tmp_path / "home"
    assert not list_cached(home)["cached"].any()
    bunch = fetch_kato2015(data_home=home, url=url, neurons=NAMED)
    assert (home / "kato2015" / "WT_NoStim.mat").is_file()
    assert bunch.data.shape == (435, 8)
    table = list_cached(home).set_index("file")
    assert table.loc["WT_NoStim.mat", "cached"]
    assert not table.loc["n2_prelet.mat", "cached"]
    # a cache hit needs no server (this URL refuses connections)
    again = fetch_kato2015(data_home=home, url="https://127.0.0.1:9/x", neurons=NAMED)
    pd.testing.assert_frame_equal(bunch.data, again.data)
    fetch_kato2015(data_home=home, download_if_missing=False, neurons=NAMED)


def _names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_fetch_moves_bad_checksums_aside_and_never_loads_them(
    tmp_path, kato_file, monkeypatch
):
    home = tmp_path / "home"
    target = home / "kato2015" / "WT_NoStim.mat"
    aside = f"WT_NoStim.mat.mismatch-{_digest(kato_file)[:8]}"
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", "0" * 64)
    with pytest.raises(OSError, match=r"downloaded from .* has SHA-256 "
                                      r"\w{64}, not the published 0{64}.*"
                                      "moved aside to .*" + aside):
        fetch_kato2015(data_home=home, url=kato_file.as_uri())
    assert _names(target.parent) == [aside]
    # a corrupted cached copy is moved aside, never loaded
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", _digest(kato_file))
    fetch_kato2015(data_home=home, url=kato_file.as_uri(), neurons=NAMED)
    target.write_bytes(b"corrupted")
    bad = f"WT_NoStim.mat.mismatch-{hashlib.sha256(b'corrupted').hexdigest()[:8]}"
    with pytest.raises(OSError, match=f"not the published .*{bad}") as err:
        fetch_kato2015(data_home=home, download_if_missing=False)
    assert not target.exists()
    assert (target.parent / bad).read_bytes() == b"corrupted"
    assert "load it directly (load_kato2015(path))" in str(err.value)
    # with downloads allowed, the bad copy is moved aside (said so) and replaced
    target.write_bytes(b"corrupted")
    with pytest.warns(UserWarning, match=f"moved aside to .*{bad}.*Downloading it "
                                         "again"):
        fetch_kato2015(data_home=home, url=kato_file.as_uri(), neurons=NAMED)
    assert _digest(target) == _digest(kato_file)


def test_fetch_offline_fails_fast_with_directions(tmp_path):
    home = tmp_path / "home"
    where = str(home / "kato2015" / "WT_NoStim.mat")
    start = time.perf_counter()
    with pytest.raises(OSError, match="Could not download") as err:
        fetch_kato2015(data_home=home, url="https://127.0.0.1:9/WT_NoStim.mat")
    assert time.perf_counter() - start < 10
    assert where in str(err.value) and "osf.io/2395t" in str(err.value)
    with pytest.raises(OSError, match="No download link") as err:
        fetch_kato2015(data_home=home)
    assert where in str(err.value)
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_kato2015(data_home=home, download_if_missing=False)
    with pytest.raises(ValueError, match="only https"):
        fetch_kato2015(data_home=home, url="http://example.org/WT_NoStim.mat")


def test_fetch_pins_unknown_digests(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    sim = make_worms(n_worms=1, n_frames=60, neurons=["AVAL", "AVBL"], random_state=0)
    for stem in ("n2_prelet", "npr1_prelet"):
        _write_nichols(mirror / f"{stem}.mat", sim)
    urls = {f: (mirror / f).as_uri() for f in ("n2_prelet.mat", "npr1_prelet.mat")}
    home = tmp_path / "home"
    bunch = fetch_nichols2017(data_home=home, urls=urls, neurons=["AVAL"])
    assert list(pd.unique(bunch.groups)) == ["n2_prelet_0", "npr1_prelet_0"]
    pin = home / "nichols2017" / "n2_prelet.mat.sha256"
    assert pin.read_text().split()[0] == _digest(mirror / "n2_prelet.mat")
    assert set(list_cached(home)["sha256"]) == {"known", "pinned"}
    # the source changes: the pinned digest rejects it, names the pin, and the
    # copies that do not match are moved aside
    _write_nichols(mirror / "n2_prelet.mat", make_worms(n_worms=1, n_frames=61))
    cached = home / "nichols2017" / "n2_prelet.mat"
    cached.write_bytes(b"tampered")
    with pytest.raises(OSError, match=f"The file downloaded .* pinned in {pin}.*"
                                      f"delete {pin}"), pytest.warns(
        UserWarning, match=f"{cached} has SHA-256 .*Downloading it again"
    ):
        fetch_nichols2017(data_home=home, urls=urls)
    assert not cached.exists()
    assert sum(n.startswith("n2_prelet.mat.mismatch-")
               for n in _names(cached.parent)) == 2


def test_a_truncated_file_by_hand_is_never_pinned_so_good_copies_still_load(
    tmp_path, monkeypatch
):
    # issue 14: a truncated n2_prelet.mat placed in the data home used to be
    # pinned, after which every correct copy (downloads included) was deleted.
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    good = tmp_path / "mirror" / "n2_prelet.mat"
    good.parent.mkdir()
    sim = make_worms(n_worms=1, n_frames=60, neurons=["AVAL", "AVBL"], random_state=0)
    _write_nichols(good, sim)
    home = tmp_path / "home"
    folder = home / "nichols2017"
    folder.mkdir(parents=True)
    truncated = good.read_bytes()[: good.stat().st_size // 2]
    (folder / "n2_prelet.mat").write_bytes(truncated)
    kw = dict(data_home=home, files=["n2_prelet.mat"], neurons=["AVAL"])
    with pytest.raises(OSError, match="does not load as nichols2017.*truncated.*"
                                      "no digest was pinned"):
        fetch_nichols2017(download_if_missing=False, **kw)
    aside = f"n2_prelet.mat.mismatch-{hashlib.sha256(truncated).hexdigest()[:8]}"
    assert _names(folder) == [aside]  # moved aside, not deleted, not pinned
    # the correct copy now downloads, loads and is pinned
    got = fetch_nichols2017(urls={"n2_prelet.mat": good.as_uri()}, **kw)
    assert len(got.target) > 0
    pin = folder / "n2_prelet.mat.sha256"
    assert pin.read_text().split()[0] == _digest(good)
    # ... and keeps loading, also when put there by hand
    (folder / "n2_prelet.mat").unlink()
    (folder / "n2_prelet.mat").write_bytes(good.read_bytes())
    fetch_nichols2017(download_if_missing=False, **kw)


@pytest.mark.parametrize("content", ["", "\n", "not a digest  n2_prelet.mat\n",
                                     "abc123  n2_prelet.mat\n", "z" * 64])
def test_a_damaged_pin_file_is_named_with_how_to_reset_it(
    tmp_path, monkeypatch, content
):
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    folder = tmp_path / "nichols2017"
    folder.mkdir()
    (folder / "n2_prelet.mat").write_bytes(b"anything")
    pin = folder / "n2_prelet.mat.sha256"
    pin.write_text(content)
    with pytest.raises(ValueError, match=f"pin file {pin} does not hold a SHA-256 "
                                         f"digest.*Delete it"):
        fetch_nichols2017(data_home=tmp_path, files=["n2_prelet.mat"],
                          download_if_missing=False)
    assert (folder / "n2_prelet.mat").read_bytes() == b"anything"


@pytest.mark.parametrize("fetch, kwargs, error, match", [
    (fetch_kato2015, {"url": 123}, TypeError, "url must be a str .* got int 123"),
    (fetch_kato2015, {"url": Path("/x/WT_NoStim.mat")}, TypeError,
     r"Path\(...\).as_uri\(\)"),
    (fetch_kato2015, {"data_home": 7}, TypeError, "data_home must be a directory"),
    (fetch_kato2015, {"download_if_missing": "no"}, ValueError,
     "download_if_missing must be True or False; got 'no'"),
    (fetch_kato2015, {"neuronz": ["AVAL"]}, TypeError,
     r"Unexpected keyword argument\(s\) \['neuronz'\] for load_kato2015"),
    (fetch_kato2015, {"path": "x.mat"}, TypeError, r"\['path'\] for load_kato2015"),
    (fetch_nichols2017, {"files": []}, ValueError, "at least one; got"),
    (fetch_nichols2017, {"files": ["n2_prelet.mat"] * 2}, ValueError,
     "files must name each file to fetch once"),
    (fetch_nichols2017, {"urls": ["https://x"]}, TypeError, "urls must be a dict"),
    (fetch_nichols2017, {"states_fields": "x"}, TypeError,
     r"\['states_fields'\] for load_nichols2017"),
])  # fmt: skip
def test_fetcher_arguments_are_checked_before_any_download(
    tmp_path, fetch, kwargs, error, match
):
    kwargs = {"data_home": tmp_path / "home", **kwargs}
    with pytest.raises(error, match=match):
        fetch(**kwargs)
    assert not (tmp_path / "home").exists() or not any(
        p.is_file() for p in (tmp_path / "home").rglob("*")
    )


def test_data_home_that_is_a_file_or_not_creatable(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match=f"data home {afile} \\(data_home\\) exists "
                                         "and is not a directory"):
        fetch_kato2015(data_home=afile)
    monkeypatch.setenv(DATA_HOME_ENV, str(afile))
    with pytest.raises(ValueError, match=f"{DATA_HOME_ENV}.*not a directory"):
        list_cached()
    with pytest.raises(OSError, match="Cannot create the data home"):
        get_data_home(afile / "below")
    # reporting where data would go creates nothing
    fresh = tmp_path / "fresh"
    assert not list_cached(fresh)["cached"].any()
    assert get_data_home(fresh, create=False) == fresh and not fresh.exists()
    with pytest.raises(ValueError, match="files must be a list"):
        fetch_nichols2017(data_home=fresh, files="n2_prelet.mat")


# ---------------------------------------------------------------------------
# connectome (the real wormneuroatlas tables)


def test_load_connectome_white1986():
    A = load_connectome(KATO_SHARED_NEURONS)
    assert A.shape == (15, 15)
    assert list(A.index) == list(KATO_SHARED_NEURONS) == list(A.columns)
    assert np.all(np.diag(A) == 0) and (A.to_numpy() >= 0).all()
    # White et al. 1986: AVAR -> AVAL 1 chemical, AVAL -> AVAR 2, 5 gap junctions
    assert A.loc["AVAL", "AVAR"] == 1 + 5 and A.loc["AVAR", "AVAL"] == 2 + 5
    chem = load_connectome(["AVAL", "AVAR"], kind="chemical")
    assert chem.loc["AVAL", "AVAR"] == 1 and chem.loc["AVAR", "AVAL"] == 2
    gap = load_connectome(KATO_SHARED_NEURONS, kind="electrical")
    np.testing.assert_array_equal(gap, gap.T)
    # VB01 in recordings is VB1 in the tables
    assert A.loc["VB01"].sum() + A["VB01"].sum() > 0
    np.testing.assert_array_equal(
        load_connectome(KATO_SHARED_NEURONS, orientation="pre_post"), A.T
    )
    sym = load_connectome(KATO_SHARED_NEURONS, symmetrize=True)
    np.testing.assert_allclose(sym, (A + A.T) / 2)
    rows = load_connectome(KATO_SHARED_NEURONS, normalize="row").sum(axis=1)
    assert np.allclose(rows[rows > 0], 1.0)
    assert load_connectome(KATO_SHARED_NEURONS, normalize="max").to_numpy().max() == 1
    assert not load_connectome(["AVAL", "AVAR"], source="witvliet2020_8").empty


def test_load_connectome_errors():
    with pytest.raises(ValueError, match=r"\['N015'\] are not in the white1986"):
        load_connectome(["AVAL", "N015"])
    zero = load_connectome(["AVAL", "N015"], missing="zero")
    assert zero.loc["N015"].sum() == 0
    with pytest.raises(ValueError, match="Unknown connectome source"):
        load_connectome(["AVAL"], source="cook2019")
    with pytest.raises(ValueError, match="duplicates"):
        load_connectome(["VB01", "VB1"])
    with pytest.raises(TypeError, match="neurons must be a list of names; got None"):
        load_connectome(None)
    with pytest.raises(ValueError, match="symmetrize must be True or False"):
        load_connectome(["AVAL", "AVAR"], symmetrize="yes")


def test_connectome_table_is_parsed_once_and_never_shared():
    from wormsk.datasets import _connectome

    _connectome._edges.cache_clear()
    first = load_connectome(["AVAL", "AVAR", "AVBL"])
    first.iloc[0, 1] = 1e6
    again = load_connectome(["AVAL", "AVAR", "AVBL"])
    assert again.iloc[0, 1] != 1e6
    assert _connectome._edges.cache_info().misses == 1
    known, absent = split_known_neurons(["vb01", "N015", "AVAL", "SIM7"])
    assert (known, absent) == (["vb01", "AVAL"], ["N015", "SIM7"])
    assert _connectome._edges.cache_info().misses == 1


def test_split_known_neurons_refuses_what_load_connectome_refuses():
    assert split_known_neurons(["AVAL"], source="witvliet2020_8") == (["AVAL"], [])
    for bad, error in ((None, TypeError), (["VB01", "VB1"], ValueError),
                       ([], ValueError)):  # fmt: skip
        with pytest.raises(error) as split_err:
            split_known_neurons(bad)
        with pytest.raises(error) as load_err:
            load_connectome(bad)
        assert str(split_err.value) == str(load_err.value)
    with pytest.raises(ValueError, match="Unknown connectome source 'cook2019'"):
        split_known_neurons(["AVAL"], source="cook2019")


def test_neuron_list_keeps_every_message():
    from wormsk.datasets._connectome import _canonical
    from wormsk.datasets._constants import neuron_list

    assert neuron_list(("AVAL", 7)) == ["AVAL", "7"]
    assert neuron_list([], allow_empty=True) == []
    with pytest.raises(ValueError, match="got the string 'AVAL'"):
        neuron_list("AVAL")
    with pytest.raises(ValueError, match="at least one neuron"):
        neuron_list([])
    with pytest.raises(ValueError, match=r"duplicates: \['AVAL'\]"):
        neuron_list(["AVAL", "AVAR", "AVAL"])
    assert neuron_list(["VB01", "VB1"]) == ["VB01", "VB1"]
    with pytest.raises(ValueError, match=r"duplicates: \['VB01', 'VB1'\]"):
        neuron_list(["VB01", "VB1"], key=_canonical)
    for bad in ("AVAL", [], ["AVAL", "AVAL"]):
        with pytest.raises(ValueError, match="neurons"):
            make_worms(n_worms=1, n_frames=10, neurons=bad)
