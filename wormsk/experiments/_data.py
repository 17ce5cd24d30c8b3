"""The experiments' view of the data: task labels, neuron names, matching columns."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from wormsk._utils import CHANNELS, WORM_LEVEL, neuron_names
from wormsk.datasets import KATO_STATES, map_states


def task_labels(X: pd.DataFrame, y, task: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Map labels to the task's vocabulary and drop excluded frames (nostate, ...)."""
    if y is None:
        raise ValueError("This experiment needs state labels y (or a Bunch's target).")
    y = np.asarray(y, dtype=object)
    present = {str(v) for v in pd.unique(y) if v is not None}
    if task == "seven":
        unknown = present - set(KATO_STATES) - {"nostate"}
        if unknown:
            raise ValueError(
                f"The 7-state experiment needs Kato state labels {list(KATO_STATES)}; "
                f"got {sorted(unknown)}."
            )
        mapped = np.where(y == "nostate", None, y)
    else:  # "four" or "fwd_rev"
        mapped = map_states(y, task)
    keep = np.array([m is not None for m in mapped], dtype=bool)
    if keep.sum() == 0:
        raise ValueError(f"No frame of the data has a label usable for task {task!r}.")
    worms = X.index.get_level_values(WORM_LEVEL)
    lost = pd.Index(pd.unique(worms[~keep])).difference(worms[keep], sort=False)
    if len(lost):
        warnings.warn(
            f"Worm(s) {list(lost)} have no frame with a label usable for task "
            f"{task!r} (every frame is nostate or a state the task leaves out), so "
            "the experiment leaves them out. Label their frames, or drop them from "
            "the data to say they are meant to be out.",
            UserWarning,
            stacklevel=3,
        )
    return X.iloc[np.flatnonzero(keep)], np.asarray(mapped[keep], dtype=object)


def worms_of(X: pd.DataFrame) -> list:
    """The worms of a table, in order of their first row."""
    return list(pd.unique(X.index.get_level_values(WORM_LEVEL)))


def check_unseen_worms(worms: list) -> None:
    """Refuse data with fewer than 2 worms for an unseen-worm experiment."""
    if len(worms) < 2:
        raise ValueError(
            f"The unseen-worm experiment needs at least 2 worms; the data have "
            f"{len(worms)} ({worms})."
        )


def names_of(X: pd.DataFrame) -> list[str]:
    """The neuron names of a table's columns."""
    return neuron_names(list(X.columns), len(CHANNELS))


def check_same_columns(X_a: pd.DataFrame, X_b: pd.DataFrame) -> None:
    """Refuse a second dataset whose columns differ from the first's."""
    if list(X_a.columns) != list(X_b.columns):
        only_a = sorted(set(X_a.columns) - set(X_b.columns))
        only_b = sorted(set(X_b.columns) - set(X_a.columns))
        raise ValueError(
            "The training and test datasets must have the same columns in the same "
            f"order (load both with the same neurons, e.g. NICHOLS_SHARED_NEURONS); "
            f"only in the training data: {only_a[:6]}, only in the test data: "
            f"{only_b[:6]}."
        )


def losses(X: pd.DataFrame, fractions, random_state) -> dict:
    """Per worm and fraction, the neurons it loses (a nested, seeded draw).

    Every worm's identified neurons (those not NaN throughout) are put in one
    random order per worm, drawn in worm order from ``random_state``; a fraction
    ``f`` removes the first ``round(f * n_identified)`` of them, so a larger
    share removes the smaller share's neurons and more, and the draw does not
    depend on the splits.
    """
    rng = check_random_state(random_state)
    names = names_of(X)
    traces = X.iloc[:, :: len(CHANNELS)].to_numpy()
    worms = X.index.get_level_values(WORM_LEVEL)
    out = {}
    for worm in worms_of(X):
        present = ~np.isnan(traces[np.asarray(worms == worm)]).all(axis=0)
        identified = [n for n, ok in zip(names, present) if ok]
        order = [identified[i] for i in rng.permutation(len(identified))]
        out[worm] = {f: order[: int(round(f * len(identified)))] for f in fractions}
    return out


def without(X: pd.DataFrame, lost: dict) -> pd.DataFrame:
    """A copy of ``X`` whose worms' lost neurons are NaN in every frame."""
    if not any(lost.values()):
        return X
    out = X.copy()
    worms = out.index.get_level_values(WORM_LEVEL)
    for worm, names in lost.items():
        if names:
            columns = [f"{n}_{c}" for n in names for c in CHANNELS]
            out.loc[np.asarray(worms == worm), columns] = np.nan
    return out
