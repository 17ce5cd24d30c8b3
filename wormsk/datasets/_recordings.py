"""Turning per-worm arrays of a real study into wormsk's recording table."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._constants import NOSTATE
from ._matlab import elements, numeric, scalar, text, vector


@dataclass
class WormRecording:
    """One worm as read from a file, before neuron selection."""

    worm: str
    roi_names: list  # one raw NeuronNames/IDs entry per ROI
    trace: np.ndarray  # frames x ROIs
    deriv: np.ndarray | None  # frames x ROIs, or None to differentiate
    states: np.ndarray  # frames, str (NOSTATE where unlabelled)
    fps: float
    time: np.ndarray  # frames, seconds
    frame: np.ndarray  # original frame numbers
    recording: str = ""


def check_vocabulary(states, vocabularies: dict) -> None:
    """Refuse a ``states=`` that names no vocabulary of the reader."""
    if not isinstance(states, str) or states not in vocabularies:
        raise ValueError(
            f"states must be one of {sorted(vocabularies)}; got {states!r}."
        )


def check_roi_count(worm: str, n_names: int, array: np.ndarray, what: str) -> None:
    if array.ndim != 2 or array.shape[1] != n_names:
        raise ValueError(
            f"Worm {worm}: {what} has shape {array.shape}, but the file names "
            f"{n_names} ROIs; expected frames x {n_names}."
        )


_REQUIRED = object()


def warn_caller(message: str) -> None:
    """``UserWarning`` attributed to the first caller outside wormsk.datasets.

    The readers reach their checks through different depths of helpers, so a
    fixed ``stacklevel`` would point into wormsk for some of them.
    """
    frame, level = sys._getframe(1), 2  # level 2: the caller of warn_caller
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
        "wormsk.datasets"
    ):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


def per_worm(
    fields: dict, name: str, n_worms: int, source: str, default=_REQUIRED
) -> list:
    """The per-worm entries of a struct field (cell or struct-array field).

    A missing field is an error unless ``default`` is given, which then stands
    in for every worm.
    """
    if name not in fields:
        if default is not _REQUIRED:
            return [default] * n_worms
        raise ValueError(
            f"{source} has no field {name!r}; fields present: {sorted(fields)}."
        )
    values = elements(fields[name])
    if len(values) != n_worms:
        raise ValueError(
            f"{source}: field {name!r} has {len(values)} entries but the file holds "
            f"{n_worms} worms."
        )
    return values


def frames_by_rois(value, what: str) -> np.ndarray:
    """A per-worm frames x ROIs array as float."""
    return np.atleast_2d(numeric(value, what))


def frame_rate(value, worm: str, field: str = "fps") -> float:
    """A worm's frames per second: one positive, finite number."""
    fps = scalar(value, f"Worm {worm}: {field}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(
            f"Worm {worm}: {field} is {fps!r}; the frame rate must be a positive, "
            "finite number of frames per second (derivatives and times are computed "
            "from it)."
        )
    return fps


def frame_times(value, n_frames: int, fps: float, worm: str, field: str):
    """Seconds of each frame: the file's time vector, else frame / fps."""
    if value is None:
        return np.arange(n_frames) / fps
    time = vector(value, f"Worm {worm}: {field}")
    if time.size != n_frames:
        raise ValueError(
            f"Worm {worm}: {field} has {time.size} frames, the traces {n_frames}."
        )
    bad = ~np.isfinite(time)
    if bad.any():
        raise ValueError(
            f"Worm {worm}: {field} has {int(bad.sum())} non-finite value(s), the "
            f"first at frame {int(np.argmax(bad))}; times must be finite seconds."
        )
    step = np.diff(time)
    if (step <= 0).any():
        i = int(np.argmax(step <= 0))
        raise ValueError(
            f"Worm {worm}: {field} does not increase: frame {i + 1} is at "
            f"{float(time[i + 1])!r} s after frame {i} at {float(time[i])!r} s. A "
            "time vector "
            "must be strictly increasing."
        )
    return time


def states_from_indicators(indicators: dict, vocabulary, n_frames: int, where: str):
    """Frame labels from a struct of 0/1 vectors (one per state).

    A frame gets a state when exactly one of the vocabulary's indicators is on;
    otherwise (none, several, or the ``nostate`` indicator) it is ``nostate``.
    """
    lookup = {str(k).lower(): k for k in indicators}
    stack, names, absent = [], [], []
    for state in vocabulary:
        key = lookup.get(state.lower())
        if key is None:
            absent.append(state)
            continue
        vec = numeric(indicators[key], f"{where}: state vector {key!r}").ravel()
        if vec.size != n_frames:
            raise ValueError(
                f"{where}: state vector {key!r} has {vec.size} frames, the traces "
                f"{n_frames}."
            )
        stack.append(np.nan_to_num(vec) > 0.5)
        names.append(state)
    if not names:
        raise ValueError(
            f"{where}: the states struct has fields {sorted(indicators)}, none of "
            f"which is a known state {list(vocabulary)}."
        )
    on = np.stack(stack, axis=1)
    labels = np.full(n_frames, NOSTATE, dtype=object)
    single = on.sum(axis=1) == 1
    labels[single] = np.asarray(names, dtype=object)[on[single].argmax(axis=1)]
    if absent:
        # A frame with no indicator on may belong to the state whose indicator is
        # absent: it becomes nostate (dropped by default), which must not pass
        # silently.
        key = lookup.get(NOSTATE)
        marked = np.zeros(n_frames, bool) if key is None else np.nan_to_num(
            numeric(indicators[key], f"{where}: state vector {key!r}").ravel()
        ) > 0.5
        lost = int(((on.sum(axis=1) == 0) & ~marked).sum())
        if lost:
            others = sorted(set(map(str, indicators)) - set(names) - {str(key)})
            warn_caller(
                f"{where}: the states struct has no indicator for {absent}, and "
                f"{lost} of {n_frames} frames have no state without it (no "
                f"indicator on, '{NOSTATE}' not set): they are labelled "
                f"'{NOSTATE}' and dropped unless nostate='label'."
                + (f" Fields that are not states: {others}." if others else "")
            )
    return labels




@dataclass(frozen=True)
class StudyFields:
    """Names of a study's per-worm struct fields (as its errors name them)."""

    names: str  # ROI names per worm (NeuronNames, IDs)
    trace: str  # frames x ROIs
    deriv: str  # frames x ROIs (optional field)
    time: str  # seconds per frame (optional field)
    states: str = "States"
    fps: str = "fps"
    recording: str = "dataset"  # recording name (optional field)

    @property
    def all(self) -> tuple[str, ...]:
        return (self.names, self.trace, self.deriv, self.time, self.states,
                self.fps, self.recording)  # fmt: skip


def read_worms(
    fields: dict,
    names: StudyFields,
    source: str,
    worm_id: Callable[[int], str],
    labels: Callable[[object, int, str], np.ndarray],
    add_deriv: Callable[[WormRecording, np.ndarray], WormRecording],
) -> list[WormRecording]:
    """One :class:`WormRecording` per worm of a study's struct ``fields``.

    The steps every MAT-file study shares (ROI names, traces, frame rate, time
    vector, recording name) happen here; ``labels(value, n_frames, worm)`` turns
    a worm's states field into frame labels and ``add_deriv(worm, deriv)``
    attaches the file's derivative (frames x ROIs), the study's own way.
    """
    rois = elements(fields.get(names.names, np.empty(0, dtype=object)))
    n_worms = len(rois)
    if n_worms == 0:
        raise ValueError(f"{source} has no {names.names}, or none for any worm.")

    def column(name, default=_REQUIRED):
        return per_worm(fields, name, n_worms, source, default=default)

    traces, fps_values = column(names.trace), column(names.fps)
    state_values = column(names.states)
    derivs, tvs = column(names.deriv, None), column(names.time, None)
    recs = column(names.recording, "")
    worms = []
    for k in range(n_worms):
        worm = worm_id(k)
        roi_names = elements(rois[k])
        trace = frames_by_rois(traces[k], f"Worm {worm}: {names.trace}")
        check_roi_count(worm, len(roi_names), trace, names.trace)
        n_frames = trace.shape[0]
        fps = frame_rate(fps_values[k], worm, names.fps)
        recording = WormRecording(
            worm=worm,
            roi_names=roi_names,
            trace=trace,
            deriv=None,
            states=labels(state_values[k], n_frames, worm),
            fps=fps,
            time=frame_times(tvs[k], n_frames, fps, worm, names.time),
            frame=np.arange(n_frames),
            recording=text(recs[k]),
        )
        if derivs[k] is not None:
            deriv = frames_by_rois(derivs[k], f"Worm {worm}: {names.deriv}")
            recording = add_deriv(recording, deriv)
        worms.append(recording)
    return worms
