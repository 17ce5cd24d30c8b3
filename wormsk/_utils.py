"""Column-layout, index and parameter helpers shared by every wormsk estimator.

Worm identity (the index level ``worm``, or ``groups``) has one owner,
:mod:`wormsk._worms`; this module only names the levels.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

WORM_LEVEL = "worm"
FRAME_LEVEL = "frame"
CHANNELS = ("trace", "deriv")


def frame_labels(X) -> np.ndarray | None:
    """Frame label of every row when ``X`` is indexed by ``frame``, else None."""
    index = getattr(X, "index", None)
    if isinstance(index, pd.MultiIndex) and FRAME_LEVEL in index.names:
        return np.asarray(index.get_level_values(FRAME_LEVEL))
    return None


def is_integer(value) -> bool:
    """True for Python and numpy integers, False for bools.

    numpy integers count because ``ParameterGrid`` hands out ``np.int64`` from
    ``np.arange``; bools do not, because ``True`` as a size is a caller's mistake.
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(value, name: str) -> int:
    """``value`` as a plain ``int``, or a ``ValueError`` unless it is an integer >= 1.

    Returning ``int`` matters: torch (``nn.GRU``, ``torch.split``) refuses numpy
    integers, so callers pass the returned value on, not the argument.
    """
    if not is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def n_neurons_from_width(n_features: int, n_channels: int) -> int:
    """Number of neurons in a neuron-major table of ``n_features`` columns.

    Raises a ``ValueError`` when the width is not a whole multiple of
    ``n_channels``.
    """
    n_channels = check_positive_int(n_channels, "n_channels")
    if n_features % n_channels:
        raise ValueError(
            f"X has {n_features} columns, which is not a multiple of "
            f"n_channels={n_channels}: columns are neuron-major with n_channels "
            f"per neuron. Use n_channels=1 to treat every column as a node."
        )
    return int(n_features) // n_channels


def neuron_names(columns, n_channels: int) -> list[str]:
    """Neuron names of neuron-major columns such as ``AVAL_trace, AVAL_deriv``.

    Falls back to ``"n0", "n1", ...`` when the columns carry no names (not all
    strings). Named columns must say the layout they are fed as: with
    ``n_channels >= 2``, every column is ``<NEURON>_<channel>``, the
    ``n_channels`` columns of a neuron are adjacent (neuron-major), every neuron
    has the same channels in the same order, and no neuron appears twice. A
    channel-major table (all traces, then all derivatives) would otherwise pair
    the trace of one neuron with the derivative of another. With
    ``n_channels=1`` every column is a neuron: ``AVAL_trace`` reads as ``AVAL``
    unless that would give two columns one name (``col_0``, ``col_1``), in
    which case the full column names are used.

    Raises
    ------
    ValueError
        Naming the first column that breaks the layout and what was expected.

    Examples
    --------
    >>> from wormsk._utils import neuron_names
    >>> neuron_names(["AVAL_trace", "AVAL_deriv", "RID_trace", "RID_deriv"], 2)
    ['AVAL', 'RID']
    """
    n_neurons = n_neurons_from_width(len(columns), n_channels)
    if columns is None or not all(isinstance(c, str) for c in columns):
        return [f"n{i}" for i in range(n_neurons)]
    columns = [str(c) for c in columns]
    parts = [c.rsplit("_", 1) if "_" in c else [c, ""] for c in columns]
    if n_channels == 1:
        names = [p[0] for p in parts]
        return names if len(set(names)) == len(names) else columns
    layout = (
        f"columns are read neuron-major with n_channels={n_channels} channels per "
        "neuron, named <NEURON>_<channel> (AVAL_trace, AVAL_deriv, AVAR_trace, "
        "AVAR_deriv, ...)"
    )
    channels = [p[1] for p in parts[:n_channels]]
    seen: dict[str, int] = {}
    for j, (column, (neuron, channel)) in enumerate(zip(columns, parts)):
        first = parts[j - j % n_channels][0]
        if not neuron or not channel:
            problem = "is not of the form <NEURON>_<channel>"
        elif neuron != first:
            lead = columns[j - j % n_channels]
            problem = f"names another neuron than column {lead!r}"
            if channel == parts[j - 1][1]:
                problem += " with the same channel (a channel-major table?)"
        elif channel != channels[j % n_channels]:
            problem = (
                f"has channel {channel!r} where the first neuron has "
                f"{channels[j % n_channels]!r}"
            )
        elif j < n_channels and channel in channels[:j]:
            problem = f"repeats channel {channel!r} of neuron {neuron!r}"
        elif j % n_channels == 0 and neuron in seen:
            problem = f"repeats neuron {neuron!r} (already at column {seen[neuron]})"
        else:
            seen.setdefault(neuron, j)
            continue
        raise ValueError(
            f"Column {j} ({column!r}) {problem}: {layout}. Reorder the columns, "
            "e.g. X[[f'{n}_{c}' for n in neurons for c in ('trace', 'deriv')]], or "
            "pass n_channels=1 to treat every column as a node."
        )
    return [parts[i * n_channels][0] for i in range(n_neurons)]


def num_samples(X) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return len(X)


def plain(value):
    """``value`` as a plain Python scalar, so messages read ``'w0'``, not
    ``np.str_('w0')``."""
    return value.item() if isinstance(value, np.generic) else value


def check_recording_index(X) -> None:
    """Refuse duplicate ``(worm, frame)`` rows and frames out of order within a worm.

    Only DataFrames whose index has both a ``"worm"`` and a ``"frame"`` level are
    checked; any other input passes unchanged. Rows of different worms may
    interleave, but each worm's rows must be in increasing frame order.

    Raises
    ------
    ValueError
        Naming the first duplicated ``(worm, frame)`` pair, or the worm and the
        two frames that are out of order.
    """
    index = getattr(X, "index", None)
    if not isinstance(index, pd.MultiIndex):
        return
    if WORM_LEVEL not in index.names or FRAME_LEVEL not in index.names:
        return
    worms = index.get_level_values(WORM_LEVEL)
    frames = index.get_level_values(FRAME_LEVEL)
    _check_frame_labels(frames, worms)
    duplicated = pd.MultiIndex.from_arrays([worms, frames]).duplicated()
    if duplicated.any():
        i = int(np.flatnonzero(duplicated)[0])
        raise ValueError(
            f"X has more than one row for worm {plain(worms[i])!r}, frame "
            f"{plain(frames[i])!r}: "
            "each (worm, frame) pair must appear once. Drop the duplicates, e.g. "
            "X[~X.index.duplicated()]."
        )
    codes, _ = pd.factorize(worms)
    order = np.argsort(codes, kind="stable")
    codes, frames_sorted = codes[order], np.asarray(frames)[order]
    same_worm = codes[1:] == codes[:-1]
    backwards = same_worm & (frames_sorted[1:] < frames_sorted[:-1])
    if backwards.any():
        j = int(np.flatnonzero(backwards)[0])
        raise ValueError(
            f"Frames of worm {plain(worms[order[j]])!r} are out of order: frame "
            f"{plain(frames_sorted[j + 1])!r} comes after frame "
            f"{plain(frames_sorted[j])!r}. Rows "
            "of a worm must be in time order; sort with X.sort_index()."
        )


def _check_frame_labels(frames: pd.Index, worms: pd.Index) -> None:
    """Refuse frame labels that do not order as time: text, bools, NaN.

    Text sorts "10" before "9" (and so does ``sort_index``), so numbers given as
    text are refused rather than guessed at; the message shows the conversion.
    """
    if len(frames) == 0:
        return
    numeric = frames.dtype.kind in "iufmM" or (
        frames.dtype.kind == "O"
        and pd.api.types.infer_dtype(frames, skipna=True)
        in ("integer", "floating", "mixed-integer-float")
    )
    if not numeric:
        i = next(
            i for i, f in enumerate(frames)
            if not isinstance(f, numbers.Real) or isinstance(f, (bool, np.bool_))
        )
        label = plain(frames[i])
        why = (
            "Text sorts '10' before '9', and so does sort_index(): convert"
            if isinstance(label, str)
            else "Convert"
        )
        raise ValueError(
            f"Frame labels must be numbers (frame numbers or times); worm "
            f"{plain(worms[i])!r} has frame {label!r} ({type(label).__name__}). "
            f"{why} the labels first, e.g. "
            "X = X.rename(index=int, level='frame').sort_index()."
        )
    missing = frames.isna()
    if missing.any():
        i = int(missing.argmax())  # the first
        raise ValueError(
            f"Worm {plain(worms[i])!r} has a missing (NaN) frame label at row {i} "
            f"({int(missing.sum())} such rows in X); every row needs its frame "
            "number."
        )


def check_column_order(estimator, X) -> None:
    """Refuse a DataFrame whose columns are those seen in ``fit``, reordered.

    Columns are matched by position (neuron-major layout), so wormsk refuses
    rather than silently reorders: a reordered table usually means a different
    neuron selection or channel layout upstream. sklearn refuses it too, without
    saying which columns moved; this names them. Other mismatches (missing or
    unknown names, another width) are left to sklearn's messages, which list
    the names.

    Raises
    ------
    ValueError
        Naming the first column out of place and the column ``fit`` had there.
    """
    fitted = getattr(estimator, "feature_names_in_", None)
    columns = getattr(X, "columns", None)
    if fitted is None or columns is None or len(columns) != len(fitted):
        return
    columns = [plain(c) for c in columns]
    fitted = [plain(c) for c in fitted]
    if columns == fitted or sorted(map(str, columns)) != sorted(map(str, fitted)):
        return
    moved = [i for i, (c, f) in enumerate(zip(columns, fitted)) if c != f]
    i = moved[0]
    raise ValueError(
        f"Feature names must be in the same order as they were in fit: column {i} "
        f"is {columns[i]!r} where fit had {fitted[i]!r} ({len(moved)} columns out "
        f"of place). Select them in fit's order, e.g. "
        f"X[{type(estimator).__name__.lower()}.feature_names_in_]."
    )
