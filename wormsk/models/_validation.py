"""Checks of the input: channels, finiteness, absent neurons, one-frame worms."""

from __future__ import annotations

import warnings

import numpy as np

from .._utils import frame_labels, neuron_names


def channel_layout(columns):
    """Channels per neuron of ``<NEURON>_<channel>`` column names, or None.

    The names must be neuron-major (a neuron's columns adjacent) and every neuron
    must have the same channels in the same order. A numeric suffix (``PC_1``,
    ``col_0``) numbers features, it does not name a channel.
    """
    parts = [c.rsplit("_", 1) for c in columns]
    if any(len(p) != 2 or not p[0] or not p[1] or p[1].isdigit() for p in parts):
        return None
    runs = []
    for neuron, channel in parts:
        if not runs or runs[-1][0] != neuron:
            runs.append((neuron, []))
        runs[-1][1].append(channel)
    layouts = {tuple(channels) for _, channels in runs}
    if len({neuron for neuron, _ in runs}) != len(runs) or len(layouts) != 1:
        return None
    (layout,) = layouts
    return len(layout) if len(set(layout)) == len(layout) else None


def channels(n_channels, columns):
    """``(n_channels, node names or None)`` for the ``n_channels`` parameter.

    ``"auto"``: read from ``<NEURON>_<channel>`` column names; one channel per
    column (every column a node, named by its column) for unnamed input or names
    without that layout. An integer is taken as given.
    """
    if n_channels != "auto":
        return int(n_channels), None
    if columns is None:
        return 1, None
    found = channel_layout(columns)
    if found is not None:
        return found, None
    parts = [c.rsplit("_", 1) for c in columns]
    if all(len(p) == 2 and not p[1].isdigit() for p in parts):
        by_neuron: dict[str, set] = {}
        for neuron, channel in parts:
            by_neuron.setdefault(neuron, set()).add(channel)
        channels = set().union(*by_neuron.values())
        if len(channels) > 1 and all(c == channels for c in by_neuron.values()):
            # Every neuron has every channel, out of neuron-major order (e.g.
            # channel-major): read as nodes, channels of different neurons would be
            # paired. neuron_names refuses it, naming the first column out of place.
            neuron_names(list(columns), len(channels))
    if any("_" in c and not c.rsplit("_", 1)[1].isdigit() for c in columns):
        warnings.warn(
            "n_channels='auto' found column names like <NEURON>_<channel> but not "
            "one layout for all neurons (the same channels, adjacent, in the same "
            f"order; first columns {columns[:4]}), so every column is a node of one "
            "channel. Pass n_channels=<int> for neuron-major columns, or select "
            "whole neurons.",
            UserWarning,
            stacklevel=4,
        )
    return 1, list(columns)


def refuse_one_frame_worms(worms, what):
    """Refuse worms of one frame, naming the first: the batch statistics of one
    frame are degenerate (every input gives the same normalized value)."""
    short = np.flatnonzero(worms.lengths < 2)
    if len(short):
        raise ValueError(
            f"Worm {worms.labels[short[0]]!r} has only 1 sample (frame); {what} "
            "normalizes every batch by the statistics of its worm's frames, which "
            "needs at least 2 frames per worm (one frame would give the same output "
            "whatever its values). Pass more frames of the worm, or use a model "
            "built with norm=False."
        )


def column_labels(X):
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def check_finite(Xa, worms, X):
    """Refuse NaN or inf in ``Xa``, naming the worm, frames and columns.

    A value that is finite in the caller's ``X`` but beyond float32's range
    (|x| > 3.4e38) became inf in ``Xa``: that is reported as an overflow, not as
    NaN or infinity. The labels come from ``X`` (the caller's object) only on
    failure: building them costs a pass over the index and columns on every fit
    and predict.
    """
    finite = np.isfinite(Xa)
    if finite.all():
        return
    bad = ~finite
    try:
        overflow = np.isfinite(np.asarray(X, dtype=np.float64)) & bad
    except (TypeError, ValueError):
        overflow = np.zeros_like(bad)
    if overflow.shape == bad.shape and overflow.any():
        bad = overflow
        what = (
            f"values too large for float32 (|x| > {np.finfo(np.float32).max:.3g}), "
            "the precision of wormsk's networks"
        )
        advice = "Scale the inputs (PerWormScaler) before fitting or predicting."
    else:
        what = "NaN or infinity"
        advice = (
            "Interpolate or drop those frames, or drop the neuron, before fitting or "
            "predicting. (A neuron not identified in a worm is NaN in every frame "
            "and channel of that worm: it is then absent, which the GNN and the "
            "summing MLP take as a missing node.)"
        )
    frames = frame_labels(X)
    columns = column_labels(X)
    bad_rows = np.flatnonzero(bad.any(axis=1))
    code = worms.codes[bad_rows[0]]
    in_worm = worms.rows[code]
    bad_in_worm = bad_rows[worms.codes[bad_rows] == code]
    if frames is not None:
        labels = frames[bad_in_worm]
        where = f"frames {labels.min()}-{labels.max()}"
    else:
        first = np.searchsorted(in_worm, bad_in_worm)
        where = f"frames (row positions within the worm) {first.min()}-{first.max()}"
    bad_cols = np.flatnonzero(bad[bad_in_worm].any(axis=0))
    names = [columns[c] if columns is not None else f"column {c}" for c in bad_cols]
    shown = ", ".join(map(str, names[:5])) + (" ..." if len(names) > 5 else "")
    worm = worms.labels[code]
    raise ValueError(
        f"X contains {what}: worm {worm!r}, {where} ({len(bad_in_worm)} "
        f"rows), column(s) {shown}; {int(bad.sum())} such values in all. " + advice
    )


def feature_neurons(estimator, n_features, n_channels):
    """Neuron names of the columns (fitted names, else ``n0``, ``n1``, ...)."""
    if getattr(estimator, "_node_names", None):
        return estimator._node_names
    columns = getattr(estimator, "feature_names_in_", None)
    columns = [None] * n_features if columns is None else list(columns)
    return neuron_names(columns, n_channels)


def absent_neurons(Xa, worms, X, n_channels):
    """Each row's absent neurons, (n_samples, n_neurons) bool, or None if none.

    A neuron is absent from a worm when all its channels are NaN in every frame of
    that worm. Any other NaN or infinity (a gap inside a recorded trace, say) is
    refused by :func:`_check_finite`, naming the worm, frames and columns, and so
    is a worm with no recorded neuron at all.
    """
    finite = np.isfinite(Xa)
    if finite.all():
        return None
    n = Xa.shape[0]
    node_nan = np.isnan(Xa).reshape(n, -1, n_channels).all(axis=2)
    absent = np.zeros_like(node_nan)
    for pos in worms.rows:
        absent[pos] = node_nan[pos].all(axis=0)
    cells = np.repeat(absent, n_channels, axis=1)
    if not (finite | cells).all():
        check_finite(np.where(cells, 0.0, Xa), worms, X)
    empty = absent.all(axis=1)
    if empty.any():
        raise ValueError(
            f"Worm {worms.labels[worms.codes[np.flatnonzero(empty)[0]]]!r} has no "
            "recorded "
            "neuron (all its columns are NaN in every frame); drop it from X."
        )
    return absent if absent.any() else None
