"""Reader of whole-brain C. elegans recordings in NWB files.

The files are read with h5py at the paths their layouts fix, not through pynwb:
a reader then depends neither on the NWB extension a file was written with
(``ndx-multichannel-volume`` pins pynwb < 3) nor on pynwb and hdmf accepting the
schema versions cached in the file, and h5py is already a dependency.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._constants import FOUR_STATES, FWD_REV_STATES, NOSTATE, STATE_MAPPINGS
from ._docs import fill_doc
from ._recordings import WormRecording, warn_caller
from ._tables import derivative, file_paths, table_from_worms

#: Layouts load_nwb reads, as named in its errors.
NWB_LAYOUTS = (
    "community C. elegans layout (ndx-multichannel-volume / NWBelegans / DANDI): "
    "processing/CalciumActivity/{SignalDFoF|SignalRawFluor|SignalFluorescence}/"
    "SignalCalciumImResponseSeries",
    "OpenSourceBrain conversion of Kato et al. 2015 (NWBShowcase/KatoEtAl2015): "
    "acquisition/<field>__<roi>__<name> TimeSeries and acquisition/States",
)

_CONTAINERS = ("SignalDFoF", "SignalRawFluor", "SignalFluorescence")
_SERIES = "SignalCalciumImResponseSeries"
_OSB_NAME = re.compile(r"^(?P<field>.+?)__(?P<roi>\d+)__(?P<label>.*)$")
# The OSB conversion stored MAT fields under their own names: the WT_Stim /
# AVA_HisCl files as traces / tracesDif, the WT_NoStim layout as deltaFOverF_*.
_OSB_TRACE = ("traces", "deltaFOverF_bc")
_OSB_DERIV = ("tracesDif", "deltaFOverF_deriv")
_MAPPINGS = {
    # The 4-state Kato files (WT_Stim, AVA_HisCl) say REV for any reversal;
    # their TURN has no dorsal/ventral side, so it is excluded like Nichols' Turn.
    name: {**STATE_MAPPINGS[name], "rev": "reverse"}
    for name in ("four", "fwd_rev")
}
_VOCABULARIES = {"four": FOUR_STATES, "fwd_rev": FWD_REV_STATES}

_DESCR = """Whole-brain C. elegans recordings read from NWB files, one worm per file
(worm id = file stem). Features: the file's calcium series per identified neuron
(dF/F in SignalDFoF; raw fluorescence if the file only has that; see
``recordings`` for the series read) and its derivative (the file's, or central
differences per second). Labels: the file's behavioural states (OpenSourceBrain
Kato files) or forward/reverse from the sign of a velocity series; None when the
file has no behaviour.
"""


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.tobytes().decode("utf-8", "replace").rstrip("\x00")
    return str(value)


def _open(path: Path) -> h5py.File:
    if not path.is_file():
        raise FileNotFoundError(f"No such NWB file: {path}")
    if not h5py.is_hdf5(path):
        raise ValueError(
            f"{path} is not an NWB file (NWB 2 files are HDF5). wormsk reads: "
            + "; ".join(NWB_LAYOUTS)
        )
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(
            f"{path} is an HDF5 file that cannot be read (truncated or corrupted?): "
            f"{exc}"
        ) from exc


def _contents(f: h5py.File) -> str:
    """What an NWB file holds, for the unknown-layout error."""
    parts = []
    for top in ("acquisition", "processing"):
        group = f.get(top)
        if not isinstance(group, h5py.Group):
            continue
        for name in list(group)[:12]:
            item = group[name]
            kind = _text(item.attrs.get("neurodata_type", type(item).__name__))
            inner = list(item)[:8] if isinstance(item, h5py.Group) else []
            parts.append(
                f"{top}/{name} ({kind}{': ' + ', '.join(inner) if inner else ''})"
            )
        if len(group) > 12:
            parts.append(f"... {len(group) - 12} more in {top}")
    return "; ".join(parts) or f"groups {sorted(f)}"


def _timing(series: h5py.Group, n_frames: int, where: str):
    """Seconds of each sample and the sampling rate of a TimeSeries group."""
    if "timestamps" in series:
        time = np.asarray(series["timestamps"][()], dtype=float).ravel()
        if time.size != n_frames:
            raise ValueError(f"{where}: {time.size} timestamps for {n_frames} frames.")
        steps = np.diff(time)
        if n_frames < 2 or not (steps > 0).all():
            raise ValueError(f"{where}: timestamps must increase.")
        return time, float(1.0 / np.median(steps))
    start = series.get("starting_time")
    if start is not None and "rate" in start.attrs:
        rate = float(start.attrs["rate"])
        return float(start[()]) + np.arange(n_frames) / rate, rate
    raise ValueError(f"{where} has neither timestamps nor starting_time with a rate.")


def _frames_by_rois(data, where: str) -> np.ndarray:
    data = np.asarray(data, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"{where}: data has shape {data.shape}; expected time x ROIs.")
    return data


def _ragged_text(table: h5py.Group, column: str) -> list:
    """One entry per row of a DynamicTable text column, ragged or not.

    NWBelegans stores ``ID_labels`` ragged, one character per element (readers
    join them); a row of several multi-character elements lists candidates.
    """
    values = [_text(v) for v in table[column][()]]
    index_name = f"{column}_index"
    if index_name not in table:
        return values
    ends = np.asarray(table[index_name][()], dtype=int)
    rows, start = [], 0
    for end in ends:
        pieces = values[start:end]
        start = end
        if all(len(p) <= 1 for p in pieces):
            rows.append("".join(pieces))
        else:
            rows.append(pieces[0] if len(set(pieces)) == 1 else "")
    return rows


def _community_labels(f, module, series, n_rois, where):
    if "NeuronIDs" in module and "labels" in module["NeuronIDs"]:
        labels = [_text(v) for v in module["NeuronIDs"]["labels"][()]]
        what = "CalciumActivity/NeuronIDs labels"
    elif "rois" in series and "table" in series["rois"].attrs:
        table = f[series["rois"].attrs["table"]]
        if "ID_labels" not in table:
            raise ValueError(
                f"{where}: no CalciumActivity/NeuronIDs and the ROI table "
                f"{table.name} has no ID_labels column (columns: {sorted(table)}); "
                "wormsk needs the neuron name of every ROI."
            )
        names = _ragged_text(table, "ID_labels")
        rows = np.asarray(series["rois"][()], dtype=int).ravel()
        labels = [names[r] for r in rows]
        what = f"ID_labels of {table.name} (via the series' rois)"
    else:
        raise ValueError(
            f"{where}: no CalciumActivity/NeuronIDs and no rois region; wormsk "
            "needs the neuron name of every ROI."
        )
    if len(labels) != n_rois:
        raise ValueError(
            f"{where}: the series has {n_rois} ROIs but {what} gives {len(labels)} "
            "names; they must match one to one."
        )
    return labels


def _find_velocity(f: h5py.File):
    """A TimeSeries with 'velocity' in its name inside a Behavior module, or None."""
    processing = f.get("processing")
    if not isinstance(processing, h5py.Group):
        return None

    def velocity(key, obj):
        name = key.rsplit("/", 1)[-1].lower()
        if isinstance(obj, h5py.Group) and "velocity" in name and "data" in obj:
            return obj  # a non-None return stops visititems
        return None

    for name in processing:
        if name.lower() in ("behavior", "behaviour"):
            found = processing[name].visititems(velocity)
            if found is not None:
                return found
    return None


def _velocity_states(series, time, threshold, where):
    v = np.asarray(series["data"][()], dtype=float)
    if v.ndim == 2 and 1 in v.shape:
        v = v.ravel()
    if v.ndim != 1:
        raise ValueError(
            f"{where}: velocity {series.name} has shape {v.shape}; "
            "expected one value per sample."
        )
    v_time, _ = _timing(series, v.size, f"{where}: velocity {series.name}")
    if v.size != time.size or not np.allclose(v_time, time):
        # Sampled on its own clock: read it at the calcium frames' times.
        v = np.interp(time, v_time, v, left=np.nan, right=np.nan)
    labels = np.full(time.size, NOSTATE, dtype=object)
    labels[v > threshold] = "forward"
    labels[v < -threshold] = "reverse"
    return labels


def _read_community(f, path, module, velocity_threshold):
    where = f"{path}"
    for name in _CONTAINERS:
        if name in module and _SERIES in module[name]:
            series = module[name][_SERIES]
            break
    else:
        return None
    trace = _frames_by_rois(series["data"][()], f"{where}: {series.name}")
    n_frames, n_rois = trace.shape
    time, fps = _timing(series, n_frames, f"{where}: {series.name}")
    labels = _community_labels(f, module, series, n_rois, f"{where}: {series.name}")
    velocity = _find_velocity(f)
    states = (
        None
        if velocity is None
        else _velocity_states(velocity, time, velocity_threshold, where)
    )
    return dict(roi_names=labels, trace=trace, deriv=None, states=states, fps=fps,
                time=time, recording=f"{path}:{series.name}")  # fmt: skip


def _osb_states(acq, time, where):
    series = acq["States"]
    codes = np.asarray(series["data"][()], dtype=float).ravel()
    if codes.size != time.size:
        raise ValueError(
            f"{where}: States has {codes.size} frames, the traces {time.size}."
        )
    description = _text(series.attrs.get("description", ""))
    # The conversion wrote the MAT readme's list, e.g. "'FWD' forward crawling;
    # 'SLOW' forward slowing; ...": state k is code k, in the readme's order.
    names = re.findall(r"[\u2018'\"]([A-Za-z0-9_]+)[\u2019'\"]", description)
    if not names:
        raise ValueError(
            f"{where}: the States series does not name its states in its "
            f"description ({description[:80]!r}); cannot map codes to states."
        )
    labels = np.full(codes.size, NOSTATE, dtype=object)
    valid = np.isfinite(codes) & (codes >= 1) & (codes <= len(names)) & (codes % 1 == 0)
    lowered = np.asarray([n.lower() for n in names], dtype=object)
    labels[valid] = lowered[codes[valid].astype(int) - 1]
    return labels


def _read_osb_kato(f, path):
    acq = f.get("acquisition")
    if not isinstance(acq, h5py.Group):
        return None
    fields: dict[str, dict[int, tuple[str, h5py.Group]]] = {}
    for name in acq:
        match = _OSB_NAME.match(name)
        if match:
            fields.setdefault(match["field"], {})[int(match["roi"])] = (
                match["label"],
                acq[name],
            )
    if not fields:
        return None
    where = str(path)
    trace_field = next((k for k in _OSB_TRACE if k in fields), None)
    if trace_field is None:
        raise ValueError(
            f"{where}: OpenSourceBrain Kato layout without a bleach-corrected trace "
            f"field {list(_OSB_TRACE)}; fields present: {sorted(fields)}."
        )

    def stack(field):
        rois = fields[field]
        if sorted(rois) != list(range(len(rois))):
            raise ValueError(f"{where}: {field} series do not number ROIs 0..n-1.")
        return rois, np.column_stack(
            [
                np.asarray(rois[i][1]["data"][()], dtype=float).ravel()
                for i in sorted(rois)
            ]
        )

    rois, trace = stack(trace_field)
    n_frames = trace.shape[0]
    time, fps = _timing(rois[0][1], n_frames, f"{where}: {rois[0][1].name}")
    # 'AVALOrMore' is the ROI's first candidate name; 'UnknownA'/'UnknownB' had none.
    labels = [
        lab[: -len("OrMore")] if lab.endswith("OrMore") else None
        for lab, _ in (rois[i] for i in sorted(rois))
    ]
    deriv = None
    deriv_field = next((k for k in _OSB_DERIV if k in fields), None)
    if deriv_field is not None:
        deriv_rois, deriv = stack(deriv_field)
        if deriv.shape != trace.shape:
            warn_caller(
                f"{where}: {deriv_field} has shape {deriv.shape}, {trace_field} "
                f"{trace.shape}; the derivative is computed from {trace_field} "
                "(central differences per second) instead."
            )
            deriv = derivative(trace, fps)
    states = _osb_states(acq, time, where) if "States" in acq else None
    recording = f"{path}:/acquisition/{trace_field}__*"
    return dict(roi_names=labels, trace=trace, deriv=deriv, states=states, fps=fps,
                time=time, recording=recording)  # fmt: skip


@fill_doc
def load_nwb(
    paths: str | PathLike | Sequence[str | PathLike],
    *,
    neurons: str | Sequence[str] = "intersection",
    min_worms: int = 1,
    states: str = "raw",
    nostate: str = "drop",
    velocity_threshold: float = 0.0,
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, np.ndarray | None]:
    """Load whole-brain C. elegans recordings from NWB files (one worm per file).

    Two layouts are read, with h5py (pynwb is not needed to read):

    - **The community layout** of the ``ndx-multichannel-volume`` extension, used
      by the NWBelegans conversions and the DANDI C. elegans datasets: processing
      module ``CalciumActivity`` with a ``DfOverF`` named ``SignalDFoF`` (or a
      ``Fluorescence`` named ``SignalRawFluor`` / ``SignalFluorescence``, tried
      in that order) holding the ``RoiResponseSeries``
      ``SignalCalciumImResponseSeries`` (time x ROIs, with ``timestamps`` or a
      ``rate``). Neuron names come from ``CalciumActivity/NeuronIDs`` (its
      ``labels``) when present, else from the ``ID_labels`` column of the ROI
      table the series' ``rois`` point to. Behaviour: a series named
      ``*velocity*`` in a ``Behavior`` module gives ``"forward"`` where the
      velocity exceeds ``velocity_threshold``, ``"reverse"`` where it is below
      ``-velocity_threshold``, ``"nostate"`` otherwise (and where it was not
      sampled); it is read at the calcium frames' times. Without one,
      ``target`` is None: supply your own labels.
    - **The OpenSourceBrain conversion of Kato et al. (2015)**
      (``KatoEtAl2018.WT_NoStim.<k>.nwb`` and the WT_Stim / AVA_HisCl files of
      the NWBShowcase repository): one ``TimeSeries`` per ROI in
      ``acquisition`` named ``<field>__<roi>__<name>`` (bleach-corrected
      ``traces`` and their derivative ``tracesDif``) and a ``States`` series of
      state codes; code k is the k-th state its description names (FWD, SLOW,
      DT, VT, REV1, REV2, REVSUS, NOSTATE; or FWD, REV, REVSUS, TURN), read in
      lower case as the Kato vocabulary (``fwd``, ``rev1``, ...). The
      conversion kept only each ROI's *first* candidate name (``AVALOrMore``),
      so ROIs with several candidates cannot be told apart here; a warning says
      so. For the exact names read ``WT_NoStim.mat`` with
      :func:`load_kato2015`.

    Labels that identify no neuron are left out: empty, numbers, dashes, and
    names ending in ``?`` (uncertain identifications).

    Parameters
    ----------
    paths : path or list of paths
        The NWB files; the worm id is the file stem.
    neurons : {"intersection", "union"} or list of str, default="intersection"
        Neurons identified in every worm; in at least ``min_worms`` worms (a
        neuron absent from a worm is NaN in every frame of that worm); or these
        names, each identified in at least ``min_worms`` worms.
    min_worms : int, default=1
        See ``neurons``.
    states : {"raw", "four", "fwd_rev"}, default="raw"
        ``"raw"`` keeps each file's labels; ``"four"`` and ``"fwd_rev"`` map
        them as :func:`map_states` does (Kato's 4-state REV -> reverse; TURN,
        without a side, is excluded).
    nostate : {"drop", "label"}, default="drop"
        Frames without a state are dropped, or kept labelled ``"nostate"``.
    velocity_threshold : float, default=0.0
        Dead band around zero velocity (in the file's unit) labelled
        ``"nostate"``.
    %(datasets_return_X_y)s

    Returns
    -------
    data : Bunch
        As :func:`recordings_from_arrays`; ``recordings`` names the series read
        in each file.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    ValueError
        For a file of another layout (the message lists what it holds and the
        layouts read), a series whose ROI count differs from its labels, one
        name on two ROIs of a worm, or NaN inside a recorded trace.

    Examples
    --------
    >>> from wormsk.datasets import load_nwb
    >>> bunch = load_nwb(["worm1.nwb", "worm2.nwb"],
    ...                  neurons="union")  # doctest: +SKIP
    """
    if states not in ("raw", *_MAPPINGS):
        raise ValueError(f"states must be 'raw', 'four' or 'fwd_rev'; got {states!r}.")
    threshold = float(velocity_threshold)
    if not threshold >= 0:
        raise ValueError(
            f"velocity_threshold must be >= 0; got {velocity_threshold!r}."
        )
    paths = file_paths(paths, "NWB file")
    worms, osb = [], []
    for path in paths:
        with _open(path) as f:
            module = f.get("processing/CalciumActivity")
            worm = (
                _read_community(f, path, module, threshold)
                if isinstance(module, h5py.Group)
                else None
            )
            if worm is None:
                worm = _read_osb_kato(f, path)
                if worm is not None:
                    osb.append(path.name)
            if worm is None:
                raise ValueError(
                    f"{path} is an NWB file of a layout wormsk does not read. It "
                    f"holds: {_contents(f)}. wormsk reads the "
                    + "; and the ".join(NWB_LAYOUTS)
                    + ". For anything else, read the arrays yourself and use "
                    "wormsk.datasets.recordings_from_arrays."
                )
        worms.append(
            WormRecording(worm=path.stem, frame=np.arange(len(worm["trace"])), **worm)
        )
    if osb:
        warnings.warn(
            f"{osb}: the OpenSourceBrain Kato conversion kept each ROI's first "
            "candidate name, so ROIs with several candidate names count as that "
            "neuron; load_kato2015 on WT_NoStim.mat leaves them out.",
            UserWarning,
            stacklevel=2,
        )
    return table_from_worms(
        worms,
        neurons,
        min_worms=min_worms,
        states="raw" if states == "raw" else _MAPPINGS[states],
        vocabulary=_VOCABULARIES.get(states),
        nostate=nostate,
        return_X_y=return_X_y,
        descr=_DESCR,
        source=", ".join(map(str, paths)),
    )
