"""The recording-table builder: per-worm arrays or a CSV table -> wormsk's table.

One function, :func:`table_from_worms`, turns per-worm recordings
(:class:`~wormsk.datasets._recordings.WormRecording`) into the recording table
and the Bunch of the data contract, with the intersection or the union of the
neurons identified across worms. :func:`recordings_from_arrays` and
:func:`recordings_from_csv` are its public faces; :func:`load_nwb` uses it too.
:func:`recording_table` takes what already has both channels (a dataset Bunch,
a table, or a numpy array with worm ``groups``) to a ``(worm, frame)``-indexed
table with labels: the entry point of :mod:`wormsk.experiments`.
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sklearn.utils import Bunch

from .._utils import CHANNELS, FRAME_LEVEL, WORM_LEVEL, check_positive_int
from .._worms import resolve_worms
from ._constants import NOSTATE, map_states, neuron_list
from ._recordings import WormRecording

_SELECTIONS = ("intersection", "union")


def identified_name(label) -> str | None:
    """The neuron name of an ROI label, or None if the label identifies no neuron.

    Empty labels, placeholders of dashes, numbers (ROI indices) and labels ending
    in ``?`` (an uncertain identification) are not identified neurons. A list of
    candidate names (as MAT files give some ROIs) identifies a neuron only if it
    holds exactly one distinct name.
    """
    if isinstance(label, (list, tuple, np.ndarray)):
        names = {identified_name(x) for x in np.asarray(label, dtype=object).ravel()}
        names.discard(None)
        return names.pop() if len(names) == 1 else None
    if label is None or isinstance(label, (numbers.Number, np.number)):
        return None
    if isinstance(label, bytes):
        label = label.decode("utf-8", "replace")
    name = str(label).strip()
    if not name or set(name) == {"-"} or name.endswith("?"):
        return None
    try:
        float(name)  # "12", "3.0", "nan": an index or a missing value, not a name
    except ValueError:
        return name
    return None


def file_paths(paths, what: str) -> list[Path]:
    """One path or several as a list of Paths whose stems (the worm ids) differ."""
    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    if isinstance(paths, Iterable) and not isinstance(paths, bytes):
        paths = list(paths)
    if not isinstance(paths, list) or not all(
        isinstance(p, (str, PathLike)) for p in paths
    ):
        raise TypeError(
            f"paths must be a path or a list of paths to {what}s; got {paths!r}."
        )
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError(f"paths must name at least one {what}.")
    stems = [p.stem for p in paths]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(
            f"Files with the same stem {dup} would give clashing worm ids; pass "
            "each recording once (worm ids are file stems)."
        )
    return paths


def _frame_list(frames) -> str:
    frames = [int(f) for f in frames]
    shown = ", ".join(map(str, frames[:10]))
    more = f", ... ({len(frames)} frames)" if len(frames) > 10 else ""
    return f"[{shown}{more}]"


def _recorded_columns(worm: WormRecording) -> dict[str, list[int]]:
    """Identified neuron -> its ROI columns; a column NaN in every frame is absent."""
    trace = np.asarray(worm.trace, dtype=float)
    if trace.ndim != 2 or trace.shape[1] != len(worm.roi_names):
        raise ValueError(
            f"Worm {worm.worm}: the traces have shape {trace.shape}, but "
            f"{len(worm.roi_names)} ROI names are given; expected frames x "
            f"{len(worm.roi_names)}."
        )
    absent = np.isnan(trace).all(axis=0) if len(trace) else np.zeros(trace.shape[1])
    index: dict[str, list[int]] = {}
    for i, label in enumerate(worm.roi_names):
        name = identified_name(label)
        if name is not None and not absent[i]:
            index.setdefault(name, []).append(i)
    return index


def _select(neurons, min_worms, indices, worms, source) -> list[str]:
    n_worms = len(worms)
    if isinstance(neurons, str):
        if neurons not in _SELECTIONS:
            raise ValueError(
                f"neurons must be 'intersection', 'union' or a list of names; got "
                f"{neurons!r}."
            )
    if min_worms is None:
        # A named list means "in every worm" unless told otherwise (the MAT
        # readers' contract); the union's default is any one worm.
        min_worms = n_worms if neurons != "union" else 1
    min_worms = check_positive_int(min_worms, "min_worms")
    if min_worms > n_worms:
        raise ValueError(
            f"min_worms={min_worms} exceeds the {n_worms} worm(s) of {source}."
        )
    counts = Counter(name for ix in indices for name in ix)
    if neurons == "intersection":
        chosen = sorted(n for n, c in counts.items() if c == n_worms)
        if not chosen:
            raise ValueError(
                f"No neuron is identified in every worm of {source}. Pass "
                "neurons='union' (a neuron absent from a worm is NaN there)."
            )
        return chosen
    if neurons == "union":
        chosen = sorted(n for n, c in counts.items() if c >= min_worms)
        if not chosen:
            raise ValueError(
                f"No neuron is identified in at least {min_worms} worm(s) of {source}."
            )
        return chosen
    chosen = neuron_list(neurons, allow_empty=True)
    rare = {n: counts.get(n, 0) for n in chosen if counts.get(n, 0) < min_worms}
    if rare:
        lacking = [
            (w.worm, [n for n in rare if n not in ix]) for w, ix in zip(worms, indices)
        ]
        detail = "; ".join(f"worm {w} lacks {names}" for w, names in lacking if names)
        raise ValueError(
            f"Requested neurons are identified in fewer than min_worms={min_worms} "
            f"worm(s) of {source}: {detail}. ROIs without a name, with a number, "
            "several candidate names, a name ending in '?' or NaN in every frame do "
            "not count. Pass neurons='union' or a smaller min_worms to keep a neuron "
            "that some worms lack (NaN in those worms)."
        )
    return chosen


def _channel(values, worm, neuron, what, frame):
    """One neuron's column; NaN inside an otherwise recorded trace is an error."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"Worm {worm}: the {what} of neuron {neuron} is NaN or infinite in "
            f"frames {_frame_list(np.asarray(frame)[bad])} but recorded in the "
            f"others. A neuron absent from a worm must be NaN in every frame of "
            "that worm; a gap inside a recorded trace must be filled (e.g. "
            "interpolated) or its frames cut before building the table."
        )
    return values


def derivative(trace, fps: float) -> np.ndarray:
    """Time derivative per second of frames x neurons traces (central differences).

    ``np.gradient`` along frames (one-sided at the first and last frame) times
    ``fps``; a single frame has derivative 0. The readers use this whenever a
    file holds no derivative.
    """
    trace = np.asarray(trace, dtype=float)
    if len(trace) < 2:
        return np.zeros_like(trace)
    return np.gradient(trace, axis=0) * fps


def check_nostate(nostate) -> None:
    """Refuse a ``nostate=`` other than ``"drop"`` or ``"label"``."""
    if nostate not in ("drop", "label"):
        raise ValueError(f"nostate must be 'drop' or 'label'; got {nostate!r}.")


def state_labels(labels, states, nostate: str) -> tuple[np.ndarray, np.ndarray]:
    """Frame labels in the vocabulary of ``states``, and the frames to keep.

    ``states`` is ``"raw"`` (labels as given) or a mapping for
    :func:`map_states`; a missing label and a state the mapping leaves out
    become ``NOSTATE``, which ``nostate="drop"`` drops and ``"label"`` keeps.
    """
    labels = np.asarray(labels, dtype=object)
    labels = np.where(pd.isna(labels), NOSTATE, labels)
    if states != "raw":
        labels = map_states(labels, states)
        labels[labels == None] = NOSTATE  # noqa: E711 (elementwise)
    keep = labels != NOSTATE if nostate == "drop" else np.ones(len(labels), bool)
    return labels, keep


def table_from_worms(
    worms: list[WormRecording],
    neurons="intersection",
    *,
    min_worms: int | None = 1,
    states="raw",
    vocabulary=None,
    nostate: str = "drop",
    return_X_y: bool = False,
    descr: str = "",
    source: str = "the recordings",
):
    """Select neurons by name across worms and build the Bunch of the data contract.

    ``worm.states`` of None in every worm gives ``target=None``. ``states`` is
    ``"raw"`` (labels as given) or a mapping for :func:`map_states`;
    ``vocabulary`` fixes ``target_names`` (default: the labels present, sorted).
    """
    check_nostate(nostate)
    if not isinstance(return_X_y, (bool, np.bool_)):
        raise ValueError(f"return_X_y must be True or False; got {return_X_y!r}.")
    if not worms:
        raise ValueError(f"{source} holds no worm.")
    ids = [w.worm for w in worms]
    dup = sorted({w for w in ids if ids.count(w) > 1})
    if dup:
        raise ValueError(f"Worm ids {dup} appear more than once in {source}.")
    labelled = [w.states is not None for w in worms]
    if any(labelled) and not all(labelled):
        raise ValueError(
            f"Worms {[w.worm for w in worms if w.states is None]} of {source} have "
            "no behavioural labels while the others have; give labels for every "
            "worm or for none."
        )
    indices = [_recorded_columns(w) for w in worms]
    neurons = _select(neurons, min_worms, indices, worms, source)
    for w, ix in zip(worms, indices):
        twice = {n: ix[n] for n in neurons if len(ix.get(n, ())) > 1}
        if twice:
            detail = "; ".join(f"{n} on ROIs {cols}" for n, cols in twice.items())
            raise ValueError(
                f"Worm {w.worm}: one name on several ROIs ({detail}); cannot tell "
                "which trace is the neuron. Rename or drop the extra ROIs."
            )

    blocks, targets, groups, frames, times, fps, absent = [], [], [], [], [], {}, {}
    for w, ix in zip(worms, indices):
        trace = np.asarray(w.trace, dtype=float)
        n_frames = len(trace)
        frame = np.asarray(w.frame)
        deriv = None if w.deriv is None else np.asarray(w.deriv, dtype=float)
        if deriv is not None and deriv.shape != trace.shape:
            raise ValueError(
                f"Worm {w.worm}: the derivative has shape {deriv.shape}, the traces "
                f"{trace.shape}."
            )
        block = np.full((n_frames, 2 * len(neurons)), np.nan)
        for j, name in enumerate(neurons):
            if name not in ix:
                continue
            col = ix[name][0]
            tr = _channel(trace[:, col], w.worm, name, "trace", frame)
            block[:, 2 * j] = tr
            d = derivative(tr, w.fps) if deriv is None else deriv[:, col]
            block[:, 2 * j + 1] = _channel(d, w.worm, name, "derivative", frame)
        absent[w.worm] = [n for n in neurons if n not in ix]
        if w.states is None:
            labels, keep = None, np.ones(n_frames, bool)
        else:
            labels = np.asarray(w.states, dtype=object)
            if len(labels) != n_frames:
                raise ValueError(
                    f"Worm {w.worm}: {len(labels)} labels for {n_frames} frames."
                )
            labels, keep = state_labels(labels, states, nostate)
            targets.append(labels[keep])
        blocks.append(block[keep])
        groups.append(np.full(int(keep.sum()), w.worm, dtype=object))
        frames.append(frame[keep])
        times.append(np.asarray(w.time, dtype=float)[keep])
        fps[w.worm] = w.fps

    columns = [f"{n}_{ch}" for n in neurons for ch in ("trace", "deriv")]
    groups = np.concatenate(groups)
    index = pd.MultiIndex.from_arrays(
        [groups, np.concatenate(frames).astype(np.int64)],
        names=[WORM_LEVEL, FRAME_LEVEL],
    )
    data = pd.DataFrame(np.concatenate(blocks), index=index, columns=columns)
    target = np.concatenate(targets) if targets else None
    if return_X_y:
        return data, target
    if target is None:
        target_names = None
    elif vocabulary is not None:
        target_names = list(vocabulary)
    else:
        target_names = sorted({str(t) for t in target} - {NOSTATE})
    if target_names is not None and nostate == "label":
        target_names.append(NOSTATE)
    time = np.concatenate(times)
    frame_table = data.assign(time=time)
    if target is not None:
        frame_table = frame_table.assign(state=target)
    return Bunch(
        data=data,
        target=target,
        groups=groups,
        neuron_names=neurons,
        target_names=target_names,
        fps=fps,
        time=time,
        frame=frame_table,
        absent=absent,
        recordings={w.worm: w.recording for w in worms},
        DESCR=descr,
    )


def _per_worm(value, ids, what, default=None):
    """Per-worm entries of a dict keyed by worm or a list in worm order."""
    if value is None:
        return [default] * len(ids)
    if isinstance(value, Mapping):
        missing = [w for w in ids if w not in value]
        extra = [w for w in value if w not in ids]
        if missing or extra:
            raise ValueError(
                f"{what} must have one entry per worm {ids}; missing {missing}, "
                f"unknown {extra}."
            )
        return [value[w] for w in ids]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value] * len(ids)
    if len(value) != len(ids):
        raise ValueError(
            f"{what} has {len(value)} entries but there are {len(ids)} worms."
        )
    return list(value)


def _fps(value, worm) -> float:
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = float("nan")
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(
            f"Worm {worm}: fps must be a positive number of frames per second; got "
            f"{value!r}."
        )
    return fps


_DESCR = """Recordings built with wormsk.datasets.recordings_from_arrays: per-worm
traces as given; derivative channel from the caller, or central differences
(numpy.gradient along frames) times fps, per second.
"""


def recordings_from_arrays(
    traces: Mapping[object, ArrayLike] | Sequence[ArrayLike],
    neuron_names: Sequence | Mapping[object, Sequence],
    *,
    fps: float | Mapping[object, float],
    labels: Mapping[object, ArrayLike] | Sequence[ArrayLike] | None = None,
    derivs: Mapping[object, ArrayLike] | Sequence[ArrayLike] | None = None,
    frames: Mapping[object, ArrayLike] | Sequence[ArrayLike] | None = None,
    neurons: str | Sequence[str] = "intersection",
    min_worms: int = 1,
    nostate: str = "drop",
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, np.ndarray | None]:
    """Build a recording table from per-worm arrays (frames x neurons).

    The same table and Bunch the dataset loaders return: rows indexed by
    (``worm``, ``frame``), neuron-major columns ``<NEURON>_trace``,
    ``<NEURON>_deriv``. A neuron not identified in a worm (no column, an
    unnamed column, or a column NaN in every frame) is NaN in every frame of
    that worm; NaN inside a recorded trace is an error naming the worm, the
    neuron and the frames.

    Parameters
    ----------
    traces : dict of {worm: array-like} or list of array-like
        Per worm, the calcium traces (e.g. ΔF/F), frames x ROIs. A list gives
        worm ids ``"worm0"``, ``"worm1"``, ...
    neuron_names : list of str, or dict / list of such lists
        The name of every ROI column, shared by all worms or one list per worm.
        ``None``, ``""``, numbers and names ending in ``?`` mark unidentified
        ROIs, which are left out.
    fps : float or dict of {worm: float}
        Frames per second; sets the derivative's time unit and ``time``.
    labels : dict or list of 1-D array-like, optional
        Per worm, one behavioural label per frame. ``None`` or ``"nostate"``
        marks unlabelled frames. Without labels, ``target`` is None.
    derivs : dict or list of array-like, optional
        Per worm, the derivative channel (same shape as the traces). By
        default it is computed as the readers do: central differences
        (:func:`numpy.gradient` along frames, one-sided at the ends) times
        ``fps``, i.e. per second.
    frames : dict or list of 1-D array-like, optional
        Per worm, the frame numbers for the index (default 0, 1, ...).
    neurons : {"intersection", "union"} or list of str, default="intersection"
        Neurons identified in every worm; in at least ``min_worms`` worms; or
        these names (each identified in at least ``min_worms`` worms).
    min_worms : int, default=1
        See ``neurons``; ignored for ``"intersection"``.
    nostate : {"drop", "label"}, default="drop"
        Unlabelled frames are dropped or kept with the label ``"nostate"``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``data``, ``target`` (or None), ``groups``, ``neuron_names``,
        ``target_names``, ``fps``, ``time``, ``frame``, ``absent`` (worm ->
        neurons NaN in that worm), ``recordings``, ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.datasets import recordings_from_arrays
    >>> rng = np.random.default_rng(0)
    >>> traces = {"a": rng.normal(size=(4, 2)), "b": rng.normal(size=(3, 2))}
    >>> names = {"a": ["AVAL", "AVAR"], "b": ["AVAL", "RIML"]}
    >>> X, y = recordings_from_arrays(traces, names, fps=2.0, neurons="union",
    ...                               return_X_y=True)
    >>> list(X.columns)
    ['AVAL_trace', 'AVAL_deriv', 'AVAR_trace', 'AVAR_deriv', 'RIML_trace', 'RIML_deriv']
    >>> bool(X.loc["b", "AVAR_trace"].isna().all()), y is None
    (True, True)
    """
    if isinstance(traces, Mapping):
        ids = [str(w) for w in traces]
        arrays = list(traces.values())
    elif isinstance(traces, Sequence) and not isinstance(traces, (str, bytes)):
        ids = [f"worm{i}" for i in range(len(traces))]
        arrays = list(traces)
    else:
        raise TypeError(
            "traces must be a dict {worm: frames x neurons array} or a list of "
            f"arrays; got {type(traces).__name__}."
        )
    if not ids:
        raise ValueError("traces holds no worm.")
    # Worm ids are text; per-worm dicts may use the caller's own keys (ints, say).
    labels, derivs, frames, fps, neuron_names = (
        {str(k): x for k, x in v.items()} if isinstance(v, Mapping) else v
        for v in (labels, derivs, frames, fps, neuron_names)
    )
    shared = (
        isinstance(neuron_names, Sequence)
        and not isinstance(neuron_names, (str, bytes))
        and all(
            n is None or isinstance(n, (str, bytes, numbers.Number))
            for n in neuron_names
        )
    )
    names = (
        [list(neuron_names)] * len(ids)
        if shared
        else _per_worm(neuron_names, ids, "neuron_names")
    )
    worms = []
    for w, arr, roi_names, lab, der, frm, rate in zip(
        ids,
        arrays,
        names,
        _per_worm(labels, ids, "labels"),
        _per_worm(derivs, ids, "derivs"),
        _per_worm(frames, ids, "frames"),
        _per_worm(fps, ids, "fps"),
    ):
        trace = np.asarray(arr, dtype=float)
        if trace.ndim == 1:
            trace = trace[:, None]
        n_frames = len(trace)
        rate = _fps(rate, w)
        frame = np.arange(n_frames) if frm is None else np.asarray(frm)
        if frame.shape != (n_frames,):
            raise ValueError(
                f"Worm {w}: {frame.size} frame numbers for {n_frames} frames."
            )
        if lab is not None:
            lab = np.asarray(lab, dtype=object).ravel()
        worms.append(
            WormRecording(
                worm=w,
                roi_names=list(roi_names),
                trace=trace,
                deriv=None if der is None else np.atleast_2d(np.asarray(der, float)),
                states=lab,
                fps=rate,
                time=frame / rate,
                frame=frame,
            )
        )
    return table_from_worms(
        worms,
        neurons,
        min_worms=min_worms,
        nostate=nostate,
        return_X_y=return_X_y,
        descr=_DESCR,
        source="the arrays",
    )


def _column(table, name, what, source):
    if name not in table.columns:
        raise ValueError(
            f"{source} has no {what} column {name!r}; columns present: "
            f"{list(table.columns)[:20]}."
        )
    return table[name]


def recordings_from_csv(
    path_or_table: str | PathLike | IO | pd.DataFrame,
    *,
    fps: float | Mapping[object, float],
    layout: str = "wide",
    worm: str = "worm",
    frame: str = "frame",
    label: str | None = "state",
    neuron: str = "neuron",
    value: str = "trace",
    deriv: str | None = None,
    neurons: str | Sequence[str] = "intersection",
    min_worms: int = 1,
    nostate: str = "drop",
    return_X_y: bool = False,
) -> Bunch | tuple[pd.DataFrame, np.ndarray | None]:
    """Build a recording table from a CSV file (or a DataFrame) in wide or long form.

    Wide: one row per (worm, frame), one column per neuron holding its trace
    (a column named ``AVAL`` or ``AVAL_trace``; ``AVAL_deriv`` columns, if
    present for every neuron, give the derivative channel). Long: one row per
    (worm, frame, neuron) with the trace in the ``value`` column. Empty cells
    are NaN: a neuron empty in every frame of a worm is absent from that worm;
    empty cells inside a recorded trace are an error naming worm, neuron and
    frames. Rows are sorted by frame within each worm.

    Parameters
    ----------
    path_or_table : str, path-like, file-like or DataFrame
        The CSV (read with :func:`pandas.read_csv`) or an equivalent DataFrame.
    fps : float or dict of {worm: float}
        Frames per second.
    layout : {"wide", "long"}, default="wide"
        Table layout, as above.
    worm, frame : str, default="worm", "frame"
        Names of the worm-id and frame-number columns.
    label : str or None, default="state"
        Name of the behavioural-label column; ``None`` for a table without
        labels (``target`` is then None).
    neuron, value : str, default="neuron", "trace"
        Long layout: the neuron-name and trace columns.
    deriv : str, optional
        Long layout: a column holding the derivative channel. Without it the
        derivative is computed as in :func:`recordings_from_arrays`.
    neurons, min_worms, nostate, return_X_y
        As in :func:`recordings_from_arrays`.

    Returns
    -------
    data : Bunch or (data, target)
        As :func:`recordings_from_arrays`; worm ids are the ``worm`` column as
        text.

    Examples
    --------
    >>> import io
    >>> from wormsk.datasets import recordings_from_csv
    >>> csv = io.StringIO(
    ...     "worm,frame,state,AVAL,RIML\\n"
    ...     "w1,0,fwd,0.1,0.5\\nw1,1,rev1,0.3,0.4\\n"
    ...     "w2,0,fwd,0.2,\\nw2,1,fwd,0.1,\\n")
    >>> bunch = recordings_from_csv(csv, fps=1.0, neurons="union")
    >>> bunch.absent
    {'w1': [], 'w2': ['RIML']}
    >>> bunch.target.tolist()
    ['fwd', 'rev1', 'fwd', 'fwd']
    """
    source = (
        "the table"
        if isinstance(path_or_table, pd.DataFrame)
        else (f"CSV {path_or_table!r}" if isinstance(path_or_table, str) else "the CSV")
    )
    if layout not in ("wide", "long"):
        raise ValueError(f"layout must be 'wide' or 'long'; got {layout!r}.")
    table = (
        path_or_table
        if isinstance(path_or_table, pd.DataFrame)
        else pd.read_csv(path_or_table)
    )
    worm_ids = _column(table, worm, "worm", source).astype(str)
    frame_no = _column(table, frame, "frame", source)
    if not pd.api.types.is_integer_dtype(frame_no):
        raise ValueError(
            f"{source}: frame column {frame!r} must hold integer frame numbers; "
            f"got dtype {frame_no.dtype}."
        )
    labels = None if label is None else _column(table, label, "label", source)
    keys = pd.MultiIndex.from_arrays([worm_ids, frame_no], names=["worm", "frame"])
    if layout == "long":
        names = _column(table, neuron, "neuron", source).astype(str)
        # Plain arrays: Series would align on the table's own index.
        cols = {"trace": _column(table, value, "value", source).to_numpy()}
        if deriv is not None:
            cols["deriv"] = _column(table, deriv, "derivative", source).to_numpy()
        long = pd.DataFrame(
            {**cols, "_neuron": names.to_numpy()},
            index=keys,
        ).set_index("_neuron", append=True)
        twice = long.index.duplicated()
        if twice.any():
            w, f, n = long.index[int(np.flatnonzero(twice)[0])]
            raise ValueError(
                f"{source}: worm {w}, frame {f}, neuron {n} has more than one row."
            )
        wide = long.unstack("_neuron")
        trace_cols = {n: ("trace", n) for n in wide.columns.levels[1]}
        deriv_cols = {n: ("deriv", n) for n in trace_cols} if deriv else {}
        if labels is not None:
            per_frame = pd.Series(labels.to_numpy(), index=keys).groupby(level=[0, 1])
            clash = per_frame.nunique(dropna=False) > 1
            if clash.any():
                w, f = clash.index[int(np.flatnonzero(clash)[0])]
                raise ValueError(
                    f"{source}: worm {w}, frame {f} has more than one {label!r} "
                    "value; a frame has one behavioural label."
                )
            labels = per_frame.first().reindex(wide.index)
    else:
        wide = table.set_index(keys)
        twice = wide.index.duplicated()
        if twice.any():
            w, f = wide.index[int(np.flatnonzero(twice)[0])]
            raise ValueError(
                f"{source}: worm {w}, frame {f} has more than one row; each "
                "(worm, frame) appears once in the wide layout."
            )
        reserved = {worm, frame, label}
        data_cols = [c for c in wide.columns if c not in reserved]
        trace_cols, deriv_cols = {}, {}
        for c in data_cols:
            text = str(c)
            if text.endswith("_deriv"):
                deriv_cols[text[: -len("_deriv")]] = c
            else:
                trace_cols[
                    text[: -len("_trace")] if text.endswith("_trace") else text
                ] = c
        if not trace_cols:
            raise ValueError(
                f"{source} has no neuron columns besides "
                f"{sorted(str(c) for c in reserved if c is not None)}."
            )
        if deriv_cols and set(deriv_cols) != set(trace_cols):
            raise ValueError(
                f"{source}: derivative columns for {sorted(deriv_cols)} but traces "
                f"for {sorted(trace_cols)}; give a <NEURON>_deriv column for every "
                "neuron or for none."
            )
        if labels is not None:
            labels = pd.Series(labels.to_numpy(), index=keys)
    wide = wide.sort_index()
    if labels is not None:
        labels = labels.reindex(wide.index)
    order = list(trace_cols)
    per_worm = {}
    for w, rows in wide.groupby(level=0, sort=False):
        per_worm[w] = rows
    ids = list(per_worm)
    traces = {
        w: per_worm[w][[trace_cols[n] for n in order]].to_numpy(float) for w in ids
    }
    derivs = (
        {w: per_worm[w][[deriv_cols[n] for n in order]].to_numpy(float) for w in ids}
        if deriv_cols
        else None
    )
    frames_ = {w: per_worm[w].index.get_level_values(1).to_numpy() for w in ids}
    labels_ = (
        None
        if labels is None
        else {w: labels.loc[w].to_numpy(dtype=object) for w in ids}
    )
    return recordings_from_arrays(
        traces,
        order,
        fps=fps,
        labels=labels_,
        derivs=derivs,
        frames=frames_,
        neurons=neurons,
        min_worms=min_worms,
        nostate=nostate,
        return_X_y=return_X_y,
    )


def recording_table(
    data, y: ArrayLike | None = None, *, groups: ArrayLike | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """A recording table indexed by (``worm``, ``frame``) and its labels.

    Takes the data as users and the dataset functions hand it over: a dataset
    :class:`~sklearn.utils.Bunch` (its ``data``, ``target`` and ``groups``), a
    DataFrame (indexed by worm, or with ``groups``), or a 2-D array whose
    columns are neuron-major with two channels per neuron (trace, derivative)
    and whose worms come from ``groups``. Rows keep their order; a table that
    already has a ``worm`` level keeps its index (a loader's frame numbers,
    with gaps where frames were dropped, so that nothing built on it runs
    across a gap); otherwise frames are numbered 0, 1, ... within each worm.
    Nothing is copied that need not be, and the input is never modified.

    Parameters
    ----------
    data : Bunch, DataFrame or array-like of shape (n_frames, 2 * n_neurons)
        The recordings. Array columns are named ``n0_trace``, ``n0_deriv``, ...
    y : array-like of shape (n_frames,), optional
        One label per row; default the Bunch's ``target`` (None for a table).
    groups : array-like of shape (n_frames,), optional
        The worm of every row; takes precedence over the index. Without any
        worm identity the rows are one worm (with a
        :class:`~wormsk.exceptions.WormIdentityWarning`).

    Returns
    -------
    X : DataFrame
        The recording table.
    y : ndarray of object, or None
        The labels, one per row of ``X``.

    Raises
    ------
    ValueError
        For an array that is not 2-D or whose width is not a whole number of
        (trace, derivative) pairs, or labels of another length than ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.datasets import recording_table
    >>> X, y = recording_table(np.zeros((5, 4)), ["fwd"] * 5,
    ...                        groups=["a", "a", "a", "b", "b"])
    >>> list(X.columns)
    ['n0_trace', 'n0_deriv', 'n1_trace', 'n1_deriv']
    >>> X.index.tolist()
    [('a', 0), ('a', 1), ('a', 2), ('b', 0), ('b', 1)]
    """
    if isinstance(data, Bunch) or (hasattr(data, "data") and hasattr(data, "target")):
        X = data.data
        y = data.target if y is None else y
        if groups is None and not _has_worm_level(X):
            # A loader's table already carries its worms and original frame
            # numbers; renumbering them would let windows run across gaps.
            groups = getattr(data, "groups", None)
    else:
        X = data
    if isinstance(X, pd.DataFrame):
        if groups is not None or not _has_worm_level(X):
            X = X.set_axis(_worm_frame_index(X, groups))
    else:
        arr = np.asarray(X, dtype=float)
        if arr.ndim != 2:
            raise ValueError(
                f"X must be 2-D (frames x columns); got shape {arr.shape}."
            )
        if arr.shape[1] % len(CHANNELS):
            raise ValueError(
                f"X has {arr.shape[1]} columns; a recording table needs "
                f"neuron-major columns with {len(CHANNELS)} channels (trace, deriv) "
                "per neuron."
            )
        columns = [
            f"n{i}_{c}" for i in range(arr.shape[1] // len(CHANNELS)) for c in CHANNELS
        ]
        X = pd.DataFrame(arr, columns=columns, index=_worm_frame_index(arr, groups))
    if y is not None:
        y = np.asarray(y, dtype=object).ravel()
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"y has {y.shape[0]} labels but X has {X.shape[0]} rows; give one "
                "label per frame."
            )
    return X, y


def _has_worm_level(X) -> bool:
    return isinstance(X.index, pd.MultiIndex) and WORM_LEVEL in X.index.names


def _worm_frame_index(X, groups) -> pd.MultiIndex:
    """(worm, frame) index with frames numbered 0, 1, ... within each worm."""
    worms = resolve_worms(X, groups, caller="wormsk.datasets.recording_table")
    frames = np.zeros(worms.n_samples, dtype=np.int64)
    for rows in worms.rows:
        frames[rows] = np.arange(rows.size)
    labels = pd.Index(worms.labels).take(worms.codes)
    return pd.MultiIndex.from_arrays([labels, frames], names=[WORM_LEVEL, FRAME_LEVEL])
