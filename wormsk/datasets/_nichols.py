"""Reader of the Nichols et al. (2017) pre-lethargus recordings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ._constants import (
    FOUR_STATES,
    FWD_REV_STATES,
    NICHOLS_SHARED_NEURONS,
    NICHOLS_STATES,
    NOSTATE,
)
from ._docs import fill_doc
from ._matlab import numeric, open_mat
from ._recordings import (
    StudyFields,
    WormRecording,
    check_roi_count,
    check_vocabulary,
    read_worms,
    states_from_indicators,
    warn_caller,
)
from ._tables import file_paths, table_from_worms

_VOCABULARIES = {
    "nichols4": NICHOLS_STATES,
    "four": FOUR_STATES,
    "fwd_rev": FWD_REV_STATES,
}

_DESCR = """Nichols et al. (2017), Science 356:eaam6851: whole-brain calcium imaging
of C. elegans before lethargus (n2_prelet.mat: 11 N2 worms; npr1_prelet.mat: 10
npr-1 worms; OSF project kbf38), 2.8-4.6 frames/s. Features: bleach-corrected
traces per neuron and their frame-to-frame difference (tracesDif, one frame
shorter than the traces: frame t gets traces[t] - traces[t-1], so the first frame
is dropped). Labels: the 4 Nichols states (Reversal, Forward, Quiescence, Turn),
optionally mapped to Wang et al.'s four states or forward/reverse.
"""

# The states field is found case-insensitively (states_field=) and stored under
# ``_FIELDS.states``, a name no file field can take.
_FIELDS = StudyFields(names="IDs", trace="traces", deriv="tracesDif",
                      time="timeVectorSeconds", states="_states")  # fmt: skip


def _add_deriv(worm: WormRecording, deriv: np.ndarray) -> WormRecording:
    check_roi_count(worm.worm, len(worm.roi_names), deriv, "tracesDif")
    n_frames = len(worm.frame)
    if deriv.shape[0] == n_frames - 1:
        # Backward difference: frame t sees traces[t] - traces[t-1], never the
        # future; frame 0 has no derivative and is dropped.
        return replace(worm, trace=worm.trace[1:], deriv=deriv,
                       states=worm.states[1:], time=worm.time[1:],
                       frame=worm.frame[1:])  # fmt: skip
    if deriv.shape[0] != n_frames:
        raise ValueError(
            f"Worm {worm.worm}: tracesDif has {deriv.shape[0]} frames; expected "
            f"{n_frames - 1} (one fewer than traces) or {n_frames}."
        )
    return replace(worm, deriv=deriv)


def _state_labels(value, n_frames: int, codes, where: str) -> np.ndarray:
    if isinstance(value, dict):
        return states_from_indicators(value, codes, n_frames, where)
    arr = numeric(value, f"{where}: states").ravel()
    if arr.size != n_frames:
        raise ValueError(f"{where}: states have {arr.size} frames, traces {n_frames}.")
    labels = np.full(n_frames, NOSTATE, dtype=object)
    valid = np.isfinite(arr) & (arr >= 1) & (arr <= len(codes)) & (arr % 1 == 0)
    labels[valid] = np.asarray(codes, dtype=object)[arr[valid].astype(int) - 1]
    # 0 and NaN mark unannotated frames; any other code has no name here.
    unnamed = ~valid & np.isfinite(arr) & (arr != 0)
    if unnamed.any():
        warn_caller(
            f"{where}: {int(unnamed.sum())} of {n_frames} frames have state codes "
            f"{sorted(set(arr[unnamed].tolist()))[:5]} that state_codes (1..."
            f"{len(codes)}: {list(codes)}) does not name: they are labelled "
            f"'{NOSTATE}' and dropped unless nostate='label'. Pass state_codes "
            "naming every code."
        )
    return labels


def _check_state_codes(state_codes) -> tuple[str, ...]:
    if isinstance(state_codes, str) or not isinstance(state_codes, Iterable):
        raise TypeError(
            f"state_codes must be a list of state names (code 1, 2, ...); got "
            f"{state_codes!r}."
        )
    codes = tuple(state_codes)
    if (
        not codes
        or not all(isinstance(c, str) and c for c in codes)
        or len(set(codes)) != len(codes)
        or NOSTATE in codes
    ):
        raise ValueError(
            "state_codes must name each code's state once, as non-empty strings "
            f"other than {NOSTATE!r} (which marks frames without a state); got "
            f"{list(codes)}."
        )
    return codes


def _read_file(path: Path, states_field: str, codes) -> tuple[list, str]:
    stem = path.stem
    with open_mat(path) as mat:
        roots = mat.variables
        if stem in roots:
            root_name = stem
        elif len(roots) == 1:
            root_name = roots[0]
        else:
            raise ValueError(
                f"{path}: expected a root variable named {stem!r} (the file stem); "
                f"found {roots}."
            )
        present = mat.fields(root_name, f"{path}:{root_name}")
        lookup = {k.lower(): k for k in present}
        state_key = lookup.get(states_field.lower())
        if state_key is None:
            raise ValueError(
                f"{path}: no states field {states_field!r}; fields present: "
                f"{sorted(present)}. Pass states_field=..."
            )
        wanted = [k for k in _FIELDS.all if k != _FIELDS.states and k in present]
        fields = mat.read_fields(root_name, wanted)
        fields[_FIELDS.states] = mat.read_fields(root_name, [state_key])[state_key]
    source = f"{path}:{root_name}"

    def labels(value, n_frames: int, worm: str) -> np.ndarray:
        return _state_labels(value, n_frames, codes, f"Worm {worm}")

    worms = read_worms(fields, _FIELDS, source, f"{stem}_{{}}".format, labels,
                       _add_deriv)  # fmt: skip
    return worms, source


@fill_doc
def load_nichols2017(
    paths,
    neurons=NICHOLS_SHARED_NEURONS,
    states: str = "nichols4",
    nostate: str = "drop",
    return_X_y: bool = False,
    states_field: str = "States",
    state_codes=NICHOLS_STATES,
    min_worms: int | None = None,
):
    """Load Nichols et al. (2017) recordings from one or more MAT-files.

    Each file (e.g. ``n2_prelet.mat``, ``npr1_prelet.mat``) is MATLAB v7.3 (read
    with h5py; older MAT-file versions are read with ``scipy.io.loadmat``) with a
    root struct named after the file stem, holding per worm ``IDs``, ``traces``
    (bleach-corrected, frames x ROIs), ``tracesDif`` (one frame shorter),
    ``timeVectorSeconds``, ``fps``, ``dataset`` and the behavioural states.

    Parameters
    ----------
    paths : path or list of paths
        The MAT-files to read; their worms are concatenated.
    %(datasets_neurons_nichols)s
    states : {"nichols4", "four", "fwd_rev"}, default="nichols4"
        Label vocabulary: the 4 Nichols states (Reversal, Forward, Quiescence,
        Turn), Wang et al.'s four states (Turn and Quiescence excluded, see
        ``NICHOLS_TO_FOUR``) or forward/reverse.
    %(datasets_nostate)s
    %(datasets_return_X_y)s
    states_field : str, default="States"
        Name of the per-worm states field (matched case-insensitively). It may
        hold integer codes or a struct of 0/1 vectors named after the states.
    state_codes : sequence of str, default=NICHOLS_STATES
        State of code 1, 2, ... when the states are integer codes (the Zimmer
        lab's order: Reversal, Forward, Quiescence, Turn); other codes are
        ``nostate``.
    %(datasets_min_worms)s

    Returns
    -------
    data : Bunch
        As :func:`load_kato2015`; worm ids are ``"<file stem>_<k>"`` (e.g.
        ``"n2_prelet_0"``, ``"npr1_prelet_3"``), unique across files.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from wormsk.datasets import load_nichols2017
    >>> X, y = load_nichols2017(["n2_prelet.mat", "npr1_prelet.mat"],
    ...                         return_X_y=True)  # doctest: +SKIP
    """
    check_vocabulary(states, _VOCABULARIES)
    paths = file_paths(paths, "MAT-file")
    if not isinstance(states_field, str):
        raise TypeError(f"states_field must be a str; got {states_field!r}.")
    state_codes = _check_state_codes(state_codes)
    worms, sources = [], []
    for path in paths:
        file_worms, source = _read_file(path, states_field, state_codes)
        worms.extend(file_worms)
        sources.append(source)
    mapping = "raw" if states == "nichols4" else states
    vocabulary = tuple(state_codes) if states == "nichols4" else _VOCABULARIES[states]
    return table_from_worms(
        worms,
        "intersection" if neurons is None else neurons,
        min_worms=min_worms,
        states=mapping,
        vocabulary=vocabulary,
        nostate=nostate,
        return_X_y=return_X_y,
        descr=_DESCR,
        source=", ".join(sources),
    )
