"""The public recording-table builder: per-worm arrays and CSV tables."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from wormsk.datasets import recordings_from_arrays, recordings_from_csv
from wormsk.datasets._recordings import WormRecording
from wormsk.datasets._tables import table_from_worms


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    traces = {"a": rng.normal(size=(6, 3)), "b": rng.normal(size=(5, 3))}
    names = {"a": ["AVAL", "RIML", None], "b": ["RIML", "AVAL", "SMDVL"]}
    labels = {
        "a": ["fwd", "fwd", "rev1", None, "rev1", "fwd"],
        "b": ["rev1", "nostate", "fwd", "fwd", "rev1"],
    }
    return traces, names, labels


def test_arrays_select_by_name_and_differentiate_per_second(arrays):
    traces, names, labels = arrays
    before = {w: t.copy() for w, t in traces.items()}
    bunch = recordings_from_arrays(
        traces, names, labels=labels, fps={"a": 2.0, "b": 4.0}
    )
    assert bunch.neuron_names == ["AVAL", "RIML"]
    X = bunch.data
    assert list(X.index.names) == ["worm", "frame"]
    assert list(X.columns) == ["AVAL_trace", "AVAL_deriv", "RIML_trace", "RIML_deriv"]
    # Unlabelled and nostate frames are dropped; the frame numbers show the gaps.
    assert X.loc["a"].index.tolist() == [0, 1, 2, 4, 5]
    assert X.loc["b"].index.tolist() == [0, 2, 3, 4]
    keep_a, keep_b = [0, 1, 2, 4, 5], [0, 2, 3, 4]
    np.testing.assert_array_equal(X.loc["b", "AVAL_trace"], traces["b"][keep_b, 1])
    np.testing.assert_allclose(
        X.loc["a", "RIML_deriv"], (np.gradient(traces["a"][:, 1]) * 2.0)[keep_a]
    )
    np.testing.assert_allclose(
        X.loc["b", "AVAL_deriv"], (np.gradient(traces["b"][:, 1]) * 4.0)[keep_b]
    )
    assert bunch.target.tolist() == ["fwd", "fwd", "rev1", "rev1", "fwd"] + [
        "rev1",
        "fwd",
        "fwd",
        "rev1",
    ]
    assert bunch.target_names == ["fwd", "rev1"]
    assert bunch.fps == {"a": 2.0, "b": 4.0}
    np.testing.assert_allclose(bunch.time[:3], [0.0, 0.5, 1.0])
    assert bunch.absent == {"a": [], "b": []}
    for w in traces:  # the caller's arrays are untouched
        np.testing.assert_array_equal(traces[w], before[w])
    kept = recordings_from_arrays(
        traces, names, labels=labels, fps=2.0, nostate="label"
    )
    assert len(kept.data) == 11 and kept.target[3] == "nostate"
    assert kept.target_names == ["fwd", "rev1", "nostate"]


def test_union_list_and_min_worms(arrays):
    traces, names, _ = arrays
    union = recordings_from_arrays(traces, names, fps=1.0, neurons="union")
    assert union.neuron_names == ["AVAL", "RIML", "SMDVL"]
    assert union.absent == {"a": ["SMDVL"], "b": []}
    assert union.data.loc["a", ["SMDVL_trace", "SMDVL_deriv"]].isna().all().all()
    assert union.data.loc["b"].notna().all().all()
    assert union.target is None and union.target_names is None
    assert recordings_from_arrays(
        traces, names, fps=1.0, neurons="union", min_worms=2
    ).neuron_names == ["AVAL", "RIML"]
    chosen = recordings_from_arrays(traces, names, fps=1.0, neurons=["SMDVL", "AVAL"])
    assert list(chosen.data.columns[::2]) == ["SMDVL_trace", "AVAL_trace"]
    with pytest.raises(ValueError, match=r"worm a lacks \['SMDVL'\]"):
        recordings_from_arrays(traces, names, fps=1.0, neurons=["SMDVL"], min_worms=2)
    with pytest.raises(ValueError, match=r"worm a lacks \['AIBL'\]; worm b lacks"):
        recordings_from_arrays(traces, names, fps=1.0, neurons=["AIBL"])


def test_shared_names_list_input_and_file_derivative():
    traces = [np.arange(8.0).reshape(4, 2), np.ones((3, 2))]
    derivs = [np.full((4, 2), 7.0), np.full((3, 2), 9.0)]
    X, y = recordings_from_arrays(
        traces,
        ["AVAL", "AVAR"],
        fps=3.0,
        derivs=derivs,
        frames=[[10, 11, 12, 13], None],
        return_X_y=True,
    )
    assert y is None
    assert X.index.tolist()[:2] == [("worm0", 10), ("worm0", 11)]
    assert (X.loc["worm0", "AVAR_deriv"] == 7.0).all()
    assert (X.loc["worm1", "AVAL_deriv"] == 9.0).all()


def test_nan_rules_name_worm_neuron_and_frames(arrays):
    traces, names, _ = arrays
    gappy = {w: t.copy() for w, t in traces.items()}
    gappy["b"][[1, 3], 0] = np.nan  # RIML in worm b: recorded, with gaps
    with pytest.raises(ValueError, match=r"Worm b.*neuron RIML.*frames \[1, 3\]"):
        recordings_from_arrays(gappy, names, fps=1.0)
    gone = {w: t.copy() for w, t in traces.items()}
    gone["b"][:, 0] = np.nan  # RIML NaN in every frame of b: absent
    union = recordings_from_arrays(gone, names, fps=1.0, neurons="union")
    assert union.absent == {"a": ["SMDVL"], "b": ["RIML"]}
    assert recordings_from_arrays(gone, names, fps=1.0).neuron_names == ["AVAL"]
    bad_deriv = {w: np.zeros_like(t) for w, t in traces.items()}
    bad_deriv["a"][2, 0] = np.inf
    with pytest.raises(
        ValueError, match=r"Worm a: the derivative of neuron AVAL.*\[2\]"
    ):
        recordings_from_arrays(traces, names, fps=1.0, derivs=bad_deriv)


def test_bad_input_errors(arrays):
    traces, names, labels = arrays
    with pytest.raises(ValueError, match=r"Worm b.*RIML on ROIs \[0, 2\]"):
        recordings_from_arrays(
            traces, {"a": names["a"], "b": ["RIML", "AVAL", "RIML"]}, fps=1.0
        )
    with pytest.raises(
        ValueError, match=r"Worm a: the traces have shape \(6, 3\).*2 ROI"
    ):
        recordings_from_arrays(
            traces, {"a": ["AVAL", "RIML"], "b": names["b"]}, fps=1.0
        )
    with pytest.raises(ValueError, match="Worm a: fps must be a positive number"):
        recordings_from_arrays(traces, names, fps={"a": 0, "b": 1.0})
    with pytest.raises(
        ValueError, match=r"labels must have one entry per worm.*\['b'\]"
    ):
        recordings_from_arrays(traces, names, fps=1.0, labels={"a": labels["a"]})
    with pytest.raises(ValueError, match=r"Worm a: 2 labels for 6 frames"):
        recordings_from_arrays(
            traces, names, fps=1.0, labels={"a": ["fwd", "fwd"], "b": labels["b"]}
        )
    with pytest.raises(ValueError, match=r"Worms \['b'\].*no behavioural labels"):
        recordings_from_arrays(
            traces, names, fps=1.0, labels={"a": labels["a"], "b": None}
        )
    with pytest.raises(ValueError, match="No neuron is identified in every worm"):
        recordings_from_arrays(traces, {"a": ["X", "Y", "Z"], "b": names["b"]}, fps=1.0)
    with pytest.raises(TypeError, match="traces must be a dict"):
        recordings_from_arrays(np.zeros((3, 2)), ["A", "B"], fps=1.0)
    with pytest.raises(ValueError, match="nostate must be"):
        recordings_from_arrays(traces, names, fps=1.0, nostate="keep")
    with pytest.raises(ValueError, match="min_worms must be a positive integer"):
        recordings_from_arrays(traces, names, fps=1.0, neurons="union", min_worms=0)


def test_csv_wide_and_long_agree_with_arrays(arrays):
    traces, names, labels = arrays
    expected = recordings_from_arrays(
        traces, names, labels=labels, fps=2.0, neurons="union"
    )
    rows = []
    for w, trace in traces.items():
        for t in range(len(trace)):
            row = {"worm": w, "frame": t, "state": labels[w][t]}
            for j, n in enumerate(names[w]):
                if n is not None:
                    row[n] = trace[t, j]
            rows.append(row)
    wide = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # any row order
    buffer = io.StringIO()
    wide.to_csv(buffer, index=False)
    buffer.seek(0)
    from_csv = recordings_from_csv(buffer, fps=2.0, neurons="union")
    pd.testing.assert_frame_equal(from_csv.data, expected.data, check_like=True)
    np.testing.assert_array_equal(from_csv.target, expected.target)
    assert from_csv.absent == expected.absent

    long = wide.melt(
        id_vars=["worm", "frame", "state"], var_name="neuron", value_name="trace"
    ).dropna(subset=["trace"])
    from_long = recordings_from_csv(long, fps=2.0, layout="long", neurons="union")
    pd.testing.assert_frame_equal(from_long.data, expected.data, check_like=True)
    np.testing.assert_array_equal(from_long.target, expected.target)


def test_csv_derivative_columns_and_errors():
    table = pd.DataFrame(
        {
            "worm": [1, 1, 2, 2],
            "frame": [0, 1, 0, 1],
            "AVAL_trace": [0.1, 0.2, 0.3, 0.4],
            "AVAL_deriv": [5.0, 5.0, 6.0, 6.0],
        }
    )
    bunch = recordings_from_csv(table, fps=1.0, label=None)
    assert bunch.data.loc["2", "AVAL_deriv"].tolist() == [6.0, 6.0]
    assert bunch.target is None
    with pytest.raises(
        ValueError, match=r"no label column 'state'.*label=None|no label"
    ):
        recordings_from_csv(table, fps=1.0)
    with pytest.raises(ValueError, match=r"no worm column 'animal'"):
        recordings_from_csv(table, fps=1.0, worm="animal", label=None)
    twice = pd.concat([table, table.iloc[:1]])
    with pytest.raises(ValueError, match="worm 1, frame 0 has more than one row"):
        recordings_from_csv(twice, fps=1.0, label=None)
    extra = table.assign(RIML=[0.0, 0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"derivative columns for \['AVAL'\]"):
        recordings_from_csv(extra, fps=1.0, label=None)
    long = pd.DataFrame(
        {
            "worm": ["w", "w", "w", "w"],
            "frame": [0, 0, 1, 1],
            "neuron": ["AVAL", "RIML", "AVAL", "RIML"],
            "trace": [0.1, 0.2, 0.3, 0.4],
            "state": ["fwd", "rev1", "fwd", "fwd"],
        }
    )
    with_deriv = long.assign(d=[1.0, 2.0, 3.0, 4.0], state="fwd")
    bunch = recordings_from_csv(with_deriv, fps=1.0, layout="long", deriv="d")
    assert bunch.data["RIML_deriv"].tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="worm w, frame 0 has more than one 'state'"):
        recordings_from_csv(long, fps=1.0, layout="long")
    with pytest.raises(ValueError, match="layout must be"):
        recordings_from_csv(long, fps=1.0, layout="tall")


def test_builder_builds_the_mat_readers_table():
    """The MAT readers' WormRecordings (names per ROI, file or computed
    derivative, nostate frames) give the table written out here by hand."""
    rng = np.random.default_rng(4)
    states = np.array(
        ["fwd", "rev1", "nostate", "dt", "vt", "fwd", "slow", "rev2", "revsus"],
        dtype=object,
    )
    worms = [
        WormRecording(
            worm=f"kato{k}",
            roi_names=["AVAL", "", ["RIML", "RIMR"], "RIML", 7.0],
            trace=rng.normal(size=(9, 5)),
            deriv=None if k else rng.normal(size=(9, 5)),
            states=states,
            fps=2.9,
            time=np.arange(9) / 2.9,
            frame=np.arange(9),
        )
        for k in range(2)
    ]
    table = table_from_worms(worms, "intersection", descr="d", source="src")
    # Only ROIs with exactly one name are neurons: AVAL (ROI 0) and RIML (ROI 3).
    assert table.neuron_names == ["AVAL", "RIML"]
    assert list(table.data.columns) == [
        "AVAL_trace", "AVAL_deriv", "RIML_trace", "RIML_deriv"
    ]
    keep = states != "nostate"
    for k, worm in enumerate(worms):
        rows = table.data.loc[worm.worm].to_numpy()
        deriv = worm.deriv if k == 0 else np.gradient(worm.trace, axis=0) * 2.9
        np.testing.assert_array_equal(rows[:, 0::2], worm.trace[keep][:, [0, 3]])
        np.testing.assert_allclose(rows[:, 1::2], deriv[keep][:, [0, 3]])
        np.testing.assert_array_equal(
            table.data.loc[worm.worm].index, np.arange(9)[keep]
        )
    np.testing.assert_array_equal(table.target, np.concatenate([states[keep]] * 2))


def test_recording_table_from_a_bunch_a_table_and_an_array():
    from sklearn.utils import Bunch

    from wormsk.datasets import make_worms, recording_table

    worms = make_worms(n_worms=2, n_frames=20, random_state=0)
    X, y = recording_table(worms)
    assert X is worms.data and list(y) == list(worms.target)
    # A loader's gapped frame numbers are kept, not renumbered.
    gapped = worms.data.iloc[5:]
    X, _ = recording_table(Bunch(data=gapped, target=worms.target[5:]))
    assert X.index[0] == ("sim0", 5)
    # An array gets generic neuron-major columns and frames within each worm.
    arr = worms.data.to_numpy()
    before = arr.copy()
    X, y = recording_table(arr, worms.target, groups=worms.groups)
    np.testing.assert_array_equal(arr, before)
    assert list(X.columns[:3]) == ["n0_trace", "n0_deriv", "n1_trace"]
    assert X.index.tolist()[19:21] == [("sim0", 19), ("sim1", 0)]
    np.testing.assert_array_equal(X.to_numpy(), arr)
    # groups take precedence over a table's own index, frames renumbered.
    X, _ = recording_table(worms.data, groups=np.repeat(["x", "y", "z", "w"], 10))
    assert X.index.tolist()[9:11] == [("x", 9), ("y", 0)]
    assert worms.data.index[0] == ("sim0", 0)  # the caller's table untouched


def test_recording_table_errors_name_what_is_wrong():
    from wormsk.datasets import recording_table
    from wormsk.exceptions import WormIdentityWarning

    with pytest.raises(ValueError, match="2-D"):
        recording_table(np.zeros(4), groups=np.zeros(4))
    with pytest.raises(ValueError, match="5 columns.*2 channels"):
        recording_table(np.zeros((4, 5)), groups=np.zeros(4))
    with pytest.raises(ValueError, match="y has 3 labels but X has 4 rows"):
        recording_table(np.zeros((4, 2)), ["a"] * 3, groups=np.zeros(4))
    with pytest.warns(WormIdentityWarning, match="ONE worm"):
        X, _ = recording_table(np.zeros((4, 2)))
    assert X.index.get_level_values("frame").tolist() == [0, 1, 2, 3]
