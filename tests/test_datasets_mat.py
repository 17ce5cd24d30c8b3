"""The MAT-file readers: load_kato2015, load_nichols2017 (v7.3 and v5)."""

import warnings

import h5py
import mat73
import numpy as np
import pandas as pd
import pytest
from _matfile import Cell, write_mat5, write_mat73
from _studies import (
    NAMED,
    kato_fields,
    kato_worm,
    make_sim3,
    rewrite_nichols,
    write_kato,
    write_kato_worms,
    write_nichols,
)

from wormsk.datasets import (
    FOUR_STATES,
    _matlab,
    load_kato2015,
    load_nichols2017,
    make_worms,
    map_states,
)

sim3 = pytest.fixture(make_sim3, scope="module", name="sim3")


# ---------------------------------------------------------------------------
# MAT-file writer and reader









@pytest.mark.parametrize("layout", ["cells", "struct_array"])
def test_matfile_writer_is_real_v73_and_mat73_agrees(tmp_path, sim3, layout):
    path = tmp_path / "WT_NoStim.mat"
    write_kato(path, sim3, layout)
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
    y_file = write_kato(tmp_path / "a.mat", sim3, "cells")
    write_kato(tmp_path / "b.mat", sim3, "struct_array")
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
    y_file = write_kato(tmp_path / "k.mat", sim3)
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
    write_kato(tmp_path / "k.mat", sim3, with_deriv=False)
    bunch = load_kato2015(tmp_path / "k.mat", neurons=["AVAL"], nostate="label")
    worm = bunch.data.xs("kato0", level="worm")
    expected = np.gradient(worm["AVAL_trace"].to_numpy()) * 2.9
    np.testing.assert_allclose(worm["AVAL_deriv"], expected)


def test_load_kato_roi_names(tmp_path, sim3):
    write_kato(tmp_path / "k.mat", sim3, drop="RIML")
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
    write_kato(tmp_path / "new.mat", sim3, layout)
    write_kato(tmp_path / "old.mat", sim3, layout, writer=write_mat5)
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
    fields = write_nichols(tmp_path / "new" / "n2_prelet.mat", sim)
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






def test_load_nichols_files(tmp_path):
    n2 = make_worms(n_worms=2, n_frames=80, neurons=["AVAL", "AVBL"], random_state=4)
    npr1 = make_worms(n_worms=3, n_frames=90, neurons=["AVAL", "AVBL"], random_state=5)
    f_n2 = write_nichols(tmp_path / "n2_prelet.mat", n2)
    write_nichols(tmp_path / "npr1_prelet.mat", npr1)
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
    worms = [kato_worm(sim3, w, k)[0] for k, w in enumerate(pd.unique(sim3.groups))]
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
    fields = write_nichols(path, bunch2)
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






def test_load_kato_missing_state_indicator_warns_with_the_frames_lost(tmp_path, sim3):
    # issue 14: without `fwd`, its frames silently became nostate and vanished
    worms = kato_fields(sim3)
    for fields, _ in worms:
        del fields["States"]["fwd"]
    write_kato_worms(tmp_path / "k.mat", [f for f, _ in worms])
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
    worms = kato_fields(sim3)
    for fields, y in worms:
        fields["States"]["nostate"] = ((y == "nostate") | (y == "fwd")).astype(float)
        del fields["States"]["fwd"]
    write_kato_worms(tmp_path / "k2.mat", [f for f, _ in worms])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_kato2015(tmp_path / "k2.mat", neurons=NAMED)


def test_load_nichols_unnamed_state_codes_and_indicators_warn(tmp_path):
    sim = make_worms(n_worms=2, n_frames=40, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = write_nichols(path, sim)
    fields[1]["States"][5:9] = [5, 7, 2.5, -1]
    rewrite_nichols(path, fields)
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
    rewrite_nichols(path, fields)
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
    worms = [f for f, _ in kato_fields(sim3)]
    worms[1]["fps"] = fps
    write_kato_worms(tmp_path / "k.mat", worms)
    with pytest.raises(ValueError, match="Worm kato1: " + match):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED)
    sim = make_worms(n_worms=2, n_frames=30, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = write_nichols(path, sim)
    fields[0]["fps"] = fps
    rewrite_nichols(path, fields)
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
    worms = [f for f, _ in kato_fields(sim3)]
    worms[2]["tv"] = change(worms[2]["tv"])
    write_kato_worms(tmp_path / "k.mat", worms)
    with pytest.raises(ValueError, match="Worm kato2: " + match):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED)


def test_wrong_structures_get_messages_naming_file_and_field(tmp_path, sim3):
    worms = [f for f, _ in kato_fields(sim3)]
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
        write_kato_worms(path, bad)
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
    write_nichols(path, make_worms(n_worms=1, n_frames=20, neurons=["AVAL", "AVBL"],
                                    random_state=0))  # fmt: skip
    kwargs = {"paths": path, "neurons": ["AVAL"], **kwargs}
    with pytest.raises(error, match=match):
        load_nichols2017(**kwargs)
