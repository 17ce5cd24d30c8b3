"""load_nwb on small NWB files written by pynwb in the layouts it reads.

The community layout follows NWBelegans' ``NWB_convert.py`` (processing module
CalciumActivity, DfOverF 'SignalDFoF' holding RoiResponseSeries
'SignalCalciumImResponseSeries', ragged 'ID_labels' of one character per element,
SegmentationLabels 'NeuronIDs'); the OpenSourceBrain Kato layout follows the
conversion notebook of NWBShowcase/KatoEtAl2015 (one TimeSeries per ROI named
'<field>__<roi>__<name>OrMore' and a 'States' series of codes).
"""

from __future__ import annotations

import importlib.util
import warnings
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np
import pytest

from wormsk.datasets import NWB_LAYOUTS, load_nwb


def states_description(states):
    """The States description the OSB notebook wrote: the MAT readme's list."""
    listed = "; ".join(f"\u2018{code}\u2019 {text}" for code, text in states)
    return f"Vector of different state types: {listed}"


KATO_DESCRIPTION = states_description(
    [
        ("FWD", "forward crawling"),
        ("SLOW", "forward slowing"),
        ("DT", "dorsal post reversal turn"),
        ("VT", "ventral post reversal turn"),
        ("REV1", "reverse crawling;"),
        ("REV2", "reverse crawling"),
        ("REVSUS", "sustained reverse crawling"),
        ("NOSTATE", "- ambiguous"),
    ]
)


def _extension_spec() -> str | None:
    """The ndx-multichannel-volume namespace YAML, found without importing it.

    Importing the package needs scikit-image and pins pynwb < 3; its YAML alone
    loads into current pynwb.
    """
    spec = importlib.util.find_spec("ndx_multichannel_volume")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "spec" / "ndx-multichannel-volume.namespace.yaml"
    return str(path) if path.is_file() else None


def _nwbfile(pynwb):
    return pynwb.NWBFile(
        session_description="wormsk test",
        identifier="wormsk-test",
        session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc),
    )


def write_community(
    path,
    traces,
    labels,
    *,
    neuron_ids=None,
    rate=None,
    timestamps=None,
    velocity=None,
    velocity_timestamps=None,
    container="SignalDFoF",
):
    """An NWB file in the community layout; ``neuron_ids``: None, 'extension', 'h5py'.

    'h5py' adds CalciumActivity/NeuronIDs after writing, as the extension would
    lay it out, for machines without the extension's namespace YAML.
    """
    pynwb = pytest.importorskip("pynwb")
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        PlaneSegmentation,
        RoiResponseSeries,
    )

    traces = np.asarray(traces, dtype=float)
    nwb = _nwbfile(pynwb)
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(
        name="CalciumImVol",
        optical_channel=OpticalChannel(
            name="GCaMP", description="green", emission_lambda=525.0
        ),
        description="head",
        device=device,
        excitation_lambda=488.0,
        indicator="GCaMP6s",
        location="head",
    )
    seg = PlaneSegmentation(
        name="Seg_tpoint_0", description="centers", imaging_plane=plane
    )
    for i in range(traces.shape[1]):
        seg.add_roi(voxel_mask=[(i, i, 0, 1.0)])
    # As NWBelegans writes it: strings into a ragged column, one char per element.
    seg.add_column(
        name="ID_labels", description="ROI ID labels", data=labels, index=True
    )
    segmentation = ImageSegmentation(
        name="CalciumSeriesSegmentation", plane_segmentations=[seg]
    )
    module = nwb.create_processing_module(name="CalciumActivity", description="calcium")
    module.add(segmentation)
    region = seg.create_roi_table_region(
        description="all ROIs", region=list(range(traces.shape[1]))
    )
    timing = {"rate": rate} if timestamps is None else {"timestamps": timestamps}
    series = RoiResponseSeries(
        name="SignalCalciumImResponseSeries",
        data=traces,
        rois=region,
        unit="a.u.",
        **timing,
    )
    cls = DfOverF if container == "SignalDFoF" else Fluorescence
    with warnings.catch_warnings():
        # hdmf notes that the ROI table lives in another container than the
        # series, which is how NWBelegans lays it out.
        warnings.filterwarnings("ignore", "The linked table for DynamicTableRegion")
        module.add(cls(name=container, roi_response_series=series))
    if neuron_ids == "extension":
        spec = _extension_spec()
        if spec is None:
            pytest.skip("ndx-multichannel-volume is not installed (its namespace YAML)")
        pynwb.load_namespaces(spec)
        labels_cls = pynwb.get_class("SegmentationLabels", "ndx-multichannel-volume")
        module.add(
            labels_cls(
                name="NeuronIDs",
                labels=list(neuron_ids_labels(labels)),
                description="Calcium ROI segmentation labels",
                ImageSegmentation=segmentation,
            )
        )
    if velocity is not None:
        behavior = nwb.create_processing_module(
            name="Behavior", description="behaviour"
        )
        vt = (
            {"timestamps": velocity_timestamps}
            if velocity_timestamps is not None
            else {"rate": rate}
        )
        behavior.add(
            pynwb.TimeSeries(name="velocity", data=velocity, unit="mm/s", **vt)
        )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    if neuron_ids == "h5py":
        with h5py.File(path, "a") as f:
            group = f["processing/CalciumActivity"].create_group("NeuronIDs")
            group.attrs["neurodata_type"] = "SegmentationLabels"
            group.attrs["namespace"] = "ndx-multichannel-volume"
            group.create_dataset(
                "labels",
                data=list(neuron_ids_labels(labels)),
                dtype=h5py.string_dtype(),
            )
    return path


def neuron_ids_labels(labels):
    # NeuronIDs is written from the same per-ROI labels as ID_labels.
    return [str(x) for x in labels]


def write_osb_kato(path, traces, ids, codes, times, derivs=None, description=None):
    """An NWB file as the OpenSourceBrain Kato notebook writes one worm.

    ``derivs=False`` leaves out the tracesDif series.
    """
    pynwb = pytest.importorskip("pynwb")
    nwb = _nwbfile(pynwb)
    kinds = {
        "traces_raw": ("Neural activity traces uncorrected", traces + 1.0),
        "traces": ("Neural activity traces corrected for bleaching", traces),
    }
    if derivs is not False:
        derivs = np.gradient(traces, axis=0) if derivs is None else derivs
        kinds["tracesDif"] = ("Derivative of traces", derivs)
    for field, (desc, values) in kinds.items():
        for i, cell in enumerate(ids):
            nwb.add_acquisition(
                pynwb.TimeSeries(
                    name=f"{field}__{i}__{cell}",
                    data=np.asarray(values[:, i], dtype=float),
                    unit="none",
                    timestamps=times,
                    description=f"{desc}; ID: {i}; cell: {cell}",
                )
            )
    nwb.add_acquisition(
        pynwb.TimeSeries(
            name="States",
            data=np.asarray(codes, dtype=float),
            unit="state",
            timestamps=times,
            description=KATO_DESCRIPTION if description is None else description,
        )
    )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


LABELS = ["AVAL", "", "12", "RIML?", "AVBL", "---"]


@pytest.fixture
def traces():
    rng = np.random.default_rng(0)
    return rng.normal(size=(20, len(LABELS)))


@pytest.mark.parametrize("neuron_ids", [None, "h5py", "extension"])
def test_community_layout_names_values_and_rate(tmp_path, traces, neuron_ids):
    path = write_community(
        tmp_path / "w1.nwb", traces, LABELS, neuron_ids=neuron_ids, rate=3.3
    )
    bunch = load_nwb(path)
    assert bunch.neuron_names == ["AVAL", "AVBL"]  # '', 12, RIML?, --- are not IDs
    np.testing.assert_array_equal(bunch.data["AVAL_trace"], traces[:, 0])
    np.testing.assert_array_equal(bunch.data["AVBL_trace"], traces[:, 4])
    np.testing.assert_allclose(
        bunch.data["AVBL_deriv"], np.gradient(traces[:, 4]) * 3.3
    )
    assert bunch.fps == {"w1": pytest.approx(3.3)}
    np.testing.assert_allclose(bunch.time, np.arange(20) / 3.3)
    assert bunch.target is None and bunch.target_names is None
    assert list(bunch.data.index.get_level_values("frame")) == list(range(20))
    assert bunch.recordings["w1"].endswith(
        "/processing/CalciumActivity/SignalDFoF/SignalCalciumImResponseSeries"
    )
    X, y = load_nwb(path, return_X_y=True)
    assert X.equals(bunch.data) and y is None


def test_neuron_ids_take_precedence_over_id_labels(tmp_path, traces):
    path = write_community(
        tmp_path / "w.nwb", traces, LABELS, neuron_ids="h5py", rate=2.0
    )
    with h5py.File(path, "a") as f:
        del f["processing/CalciumActivity/NeuronIDs/labels"]
        f["processing/CalciumActivity/NeuronIDs"].create_dataset(
            "labels", data=["RID", "", "", "", "", "ALA"], dtype=h5py.string_dtype()
        )
    assert load_nwb(path).neuron_names == ["ALA", "RID"]


def test_velocity_gives_forward_reverse_on_the_calcium_clock(tmp_path, traces):
    times = np.arange(20) / 2.0
    # Velocity sampled twice as fast, on its own clock, sign flipping at t = 5 s.
    v_times = np.arange(40) / 4.0
    velocity = np.where(v_times < 5.0, 0.3, -0.2)
    velocity[(v_times >= 7.0) & (v_times < 8.0)] = 0.01
    path = write_community(
        tmp_path / "w.nwb",
        traces,
        LABELS,
        timestamps=times,
        velocity=velocity,
        velocity_timestamps=v_times,
    )
    bunch = load_nwb(path, nostate="label", velocity_threshold=0.05)
    expected = np.where(times < 5.0, "forward", "reverse").astype(object)
    expected[(times >= 7.0) & (times < 8.0)] = "nostate"
    # Frame at t = 4.5 s is between 0.3 (4.5 s) samples; t = 5.0 is reverse.
    np.testing.assert_array_equal(bunch.target, expected)
    assert bunch.target_names == ["forward", "reverse", "nostate"]
    assert bunch.fps["w"] == pytest.approx(2.0)
    np.testing.assert_allclose(bunch.time, times)
    dropped = load_nwb(path, velocity_threshold=0.05)
    assert len(dropped.target) == 18 and "nostate" not in set(dropped.target)
    assert list(load_nwb(path, states="four").target_names) == [
        "forward",
        "reverse",
        "dorsal_turn",
        "ventral_turn",
    ]


def test_union_of_neurons_across_files(tmp_path):
    rng = np.random.default_rng(1)
    a = write_community(
        tmp_path / "a.nwb",
        rng.normal(size=(10, 3)),
        ["AVAL", "RIML", "SMDVL"],
        rate=1.0,
    )
    b = write_community(
        tmp_path / "b.nwb",
        rng.normal(size=(12, 3)),
        ["AVAL", "RIMR", "SMDVL?"],
        rate=2.0,
    )
    c = write_community(
        tmp_path / "c.nwb", rng.normal(size=(8, 2)), ["AVAL", "RIML"], rate=1.0
    )
    paths = [a, b, c]
    assert load_nwb(paths).neuron_names == ["AVAL"]
    union = load_nwb(paths, neurons="union")
    assert union.neuron_names == ["AVAL", "RIML", "RIMR", "SMDVL"]
    assert union.absent == {
        "a": ["RIMR"],
        "b": ["RIML", "SMDVL"],
        "c": ["RIMR", "SMDVL"],
    }
    X = union.data
    # Absent neurons are NaN in every frame of their worm, present ones nowhere.
    for worm, gone in union.absent.items():
        rows = X.loc[worm]
        for neuron in union.neuron_names:
            cols = rows[[f"{neuron}_trace", f"{neuron}_deriv"]]
            assert (
                cols.isna().all().all() if neuron in gone else cols.notna().all().all()
            )
    assert load_nwb(paths, neurons="union", min_worms=2).neuron_names == [
        "AVAL",
        "RIML",
    ]
    assert load_nwb(paths, neurons=["RIMR", "AVAL"]).neuron_names == ["RIMR", "AVAL"]
    with pytest.raises(ValueError, match=r"worm a lacks \['RIMR'\]; worm c lacks"):
        load_nwb(paths, neurons=["RIMR"], min_worms=2)


def test_raw_fluorescence_container_is_read_and_named(tmp_path, traces):
    path = write_community(
        tmp_path / "w.nwb", traces, LABELS, rate=1.0, container="SignalRawFluor"
    )
    bunch = load_nwb(path)
    assert "SignalRawFluor" in bunch.recordings["w"]
    np.testing.assert_array_equal(bunch.data["AVAL_trace"], traces[:, 0])


def test_community_errors_name_worm_neuron_and_frames(tmp_path, traces):
    bad = traces.copy()
    bad[[3, 7], 4] = np.nan  # AVBL recorded with gaps
    path = write_community(tmp_path / "gaps.nwb", bad, LABELS, rate=1.0)
    with pytest.raises(ValueError, match=r"Worm gaps.*neuron AVBL.*frames \[3, 7\]"):
        load_nwb(path)
    whole = traces.copy()
    whole[:, 4] = np.nan  # AVBL NaN in every frame: absent, not an error
    path = write_community(tmp_path / "absent.nwb", whole, LABELS, rate=1.0)
    assert load_nwb(path).neuron_names == ["AVAL"]

    twice = write_community(
        tmp_path / "twice.nwb", traces, ["AVAL", "AVAL", "", "", "RID", ""], rate=1.0
    )
    with pytest.raises(ValueError, match=r"Worm twice.*AVAL on ROIs \[0, 1\]"):
        load_nwb(twice)

    path = write_community(
        tmp_path / "count.nwb", traces, LABELS, neuron_ids="h5py", rate=1.0
    )
    with h5py.File(path, "a") as f:
        del f["processing/CalciumActivity/NeuronIDs/labels"]
        f["processing/CalciumActivity/NeuronIDs"].create_dataset(
            "labels", data=["AVAL", "RID"], dtype=h5py.string_dtype()
        )
    with pytest.raises(
        ValueError, match=r"count.nwb.*6 ROIs.*NeuronIDs.*gives 2 names"
    ):
        load_nwb(path)


def _kato_file(tmp_path, name="KatoEtAl2018.WT_NoStim.0.nwb", codes=None):
    rng = np.random.default_rng(2)
    ids = [
        "AVALOrMore",
        "UnknownA",
        "RIMLOrMore",
        "UnknownB",
        "---OrMore",
        "AIBROrMore",
    ]
    n = 16
    traces = rng.normal(size=(n, len(ids)))
    derivs = rng.normal(size=(n, len(ids)))
    times = np.arange(n) / 2.9
    codes = (
        np.array([1, 1, 2, 5, 6, 7, 3, 4, 8, 8, 1, 1, 5, 5, 4, 3])
        if codes is None
        else codes
    )
    path = write_osb_kato(tmp_path / name, traces, ids, codes, times, derivs=derivs)
    return path, traces, derivs, codes


def test_osb_kato_layout(tmp_path):
    path, traces, derivs, codes = _kato_file(tmp_path)
    with pytest.warns(UserWarning, match="first\\s+candidate name"):
        bunch = load_nwb(path, nostate="label")
    worm = "KatoEtAl2018.WT_NoStim.0"
    assert bunch.neuron_names == ["AIBR", "AVAL", "RIML"]
    np.testing.assert_array_equal(bunch.data["RIML_trace"], traces[:, 2])
    np.testing.assert_array_equal(bunch.data["AIBR_deriv"], derivs[:, 5])
    names = ["fwd", "slow", "dt", "vt", "rev1", "rev2", "revsus", "nostate"]
    np.testing.assert_array_equal(bunch.target, [names[c - 1] for c in codes])
    assert bunch.fps[worm] == pytest.approx(2.9)
    with pytest.warns(UserWarning):
        X, y = load_nwb(path, states="fwd_rev", return_X_y=True)
    kept = [c in (1, 2, 5, 6, 7) for c in codes]
    assert len(y) == sum(kept)
    np.testing.assert_array_equal(
        y,
        [
            "forward" if c in (1, 2) else "reverse"
            for c in codes
            if c in (1, 2, 5, 6, 7)
        ],
    )
    np.testing.assert_array_equal(
        X.index.get_level_values("frame"), np.flatnonzero(kept)
    )


def test_osb_kato_four_state_files_map_rev_and_exclude_turn(tmp_path):
    rng = np.random.default_rng(3)
    codes = np.array([1, 2, 3, 4, 1, 2])
    trace = rng.normal(size=(6, 1))
    path = write_osb_kato(
        tmp_path / "KatoEtAl2018.WT_Stim.0.nwb",
        trace,
        ["AVALOrMore"],
        codes,
        np.arange(6) / 3.0,
        derivs=False,
        description=states_description(
            [
                ("FWD", "forward crawling"),
                ("REV", "reverse crawling"),
                ("REVSUS", "sustained reverse crawling"),
                ("TURN", "post reversal turn"),
            ]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        raw = load_nwb(path)
        four = load_nwb(path, states="four")
    assert raw.target.tolist() == ["fwd", "rev", "revsus", "turn", "fwd", "rev"]
    # Without tracesDif the derivative is computed: central differences per second.
    np.testing.assert_allclose(raw.data["AVAL_deriv"], np.gradient(trace[:, 0]) * 3.0)
    assert four.target.tolist() == [
        "forward",
        "reverse",
        "reverse",
        "forward",
        "reverse",
    ]


def test_mixed_layouts_and_labels_are_refused_clearly(tmp_path, traces):
    kato, *_ = _kato_file(tmp_path)
    community = write_community(tmp_path / "c.nwb", traces, LABELS, rate=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=r"Worms \['c'\].*no behavioural labels"):
            load_nwb([kato, community])


def test_unknown_layout_lists_contents_and_layouts(tmp_path):
    path = tmp_path / "other.nwb"
    with h5py.File(path, "w") as f:
        f.create_group("acquisition").create_group("TwoPhotonSeries").attrs[
            "neurodata_type"
        ] = "TwoPhotonSeries"
        f["acquisition/TwoPhotonSeries"].create_dataset("data", data=np.zeros((2, 2)))
        f.create_group("processing").create_group("ophys")
    with pytest.raises(ValueError) as err:
        load_nwb(path)
    message = str(err.value)
    assert "acquisition/TwoPhotonSeries (TwoPhotonSeries: data)" in message
    assert "processing/ophys" in message
    assert "SignalCalciumImResponseSeries" in message and "KatoEtAl2015" in message
    assert len(NWB_LAYOUTS) == 2

    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    with pytest.raises(ValueError, match="not an NWB file"):
        load_nwb(text)
    with pytest.raises(FileNotFoundError):
        load_nwb(tmp_path / "missing.nwb")


def test_parameters_are_checked(tmp_path, traces):
    path = write_community(tmp_path / "w.nwb", traces, LABELS, rate=1.0)
    with pytest.raises(ValueError, match="states must be"):
        load_nwb(path, states="kato7")
    with pytest.raises(ValueError, match="velocity_threshold"):
        load_nwb(path, velocity_threshold=-1)
    with pytest.raises(ValueError, match="neurons must be"):
        load_nwb(path, neurons="all")
    with pytest.raises(ValueError, match="min_worms=2 exceeds"):
        load_nwb(path, neurons="union", min_worms=2)
    other = tmp_path / "sub"
    other.mkdir()
    copy = other / "w.nwb"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match="same stem"):
        load_nwb([path, copy])
