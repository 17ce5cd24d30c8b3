"""Worm identity, resolved once per call.

Everything that treats worms separately (the per-worm scaler, the estimators'
dataset, batcher and prediction, the splitters) takes one :class:`Worms` value
from :func:`resolve_worms` and reuses it: the labels, the integer code of every
row, the row positions of each worm and the worm-major order. ``groups`` is the
public name of explicit identity; inside the package it is this value.

Identity comes, in this order, from ``groups``, from the index level ``worm`` of
a DataFrame, or from an index named ``worm``. Without any of them the input is
one worm, and with more than one row that assumption is announced with a
:class:`~wormsk.exceptions.WormIdentityWarning`: normalizing each worm by itself
is what the library exists for, and it must never switch off without a word.
A MultiIndex that has levels but none named ``worm`` is refused rather than
guessed at.
"""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from wormsk._utils import WORM_LEVEL, num_samples, plain
from wormsk.exceptions import WormIdentityWarning

__all__ = ["Worms", "get_worms", "resolve_worms"]


def get_worms(X, groups=None) -> np.ndarray:
    """Return the worm identity of every row of ``X`` as a 1-D array.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        A recording table. A DataFrame whose index has a level named ``"worm"``
        carries worm identity itself.
    groups : array-like of shape (n_samples,), optional
        Explicit worm identity; takes precedence over the index.

    Returns
    -------
    worms : ndarray of shape (n_samples,)
        One label per row; all zeros when neither source is available (the whole
        input is one worm).
    """
    n_samples = num_samples(X)
    if groups is not None:
        raw, groups = groups, np.asarray(groups)
        if groups.dtype.kind == "U" and not isinstance(raw, np.ndarray):
            # np.asarray turns [1, "a"] into ["1", "a"]: check the labels as given.
            groups = np.asarray(raw, dtype=object)
            _check_worm_labels(groups, "groups")
            groups = np.asarray(raw)
        if groups.ndim != 1:
            raise ValueError(
                f"groups must be 1-D with one worm label per row; got shape "
                f"{groups.shape}."
            )
        if groups.shape[0] != n_samples:
            raise ValueError(
                f"groups has {groups.shape[0]} entries but X has {n_samples} rows; "
                "give one worm label per row."
            )
        return _check_worm_labels(groups, "groups")
    index = getattr(X, "index", None)
    if isinstance(index, pd.MultiIndex) and WORM_LEVEL in index.names:
        worms = np.asarray(index.get_level_values(WORM_LEVEL))
        pos = index.names.index(WORM_LEVEL)
        uniques, codes = index.levels[pos], index.codes[pos]
        # The checks read the level's distinct labels (and codes, -1 = missing):
        # the same verdict as over every row, without a pass over object rows.
        if (
            (codes == -1).any()
            or (uniques.dtype == object and _mixed(uniques))
            or uniques.isin(_MISSING_AS_TEXT).any()
        ):
            _check_worm_labels(worms, "the index level 'worm'")
        return worms
    if isinstance(index, pd.Index) and index.name == WORM_LEVEL:
        return _check_worm_labels(np.asarray(index), "the index 'worm'")
    return np.zeros(n_samples, dtype=np.int64)


def _check_worm_labels(worms: np.ndarray, source: str) -> np.ndarray:
    """Refuse missing worm labels and labels of mixed types.

    Mixed labels (``[1, "a"]``) cannot be sorted, which splitting by worm needs,
    and ``1`` and ``"1"`` would read as one worm in a message but as two here.
    """
    if worms.dtype.kind in "fmM" and pd.isna(worms).any():
        _missing_worm(worms, source)
    if worms.dtype.kind in "UO":
        _refuse_missing_as_text(worms, source)
    if worms.dtype.kind != "O":
        return worms
    missing = pd.isna(worms)
    if missing.any():
        _missing_worm(worms, source, missing)
    if _mixed(worms):
        kind = _sort_kind(worms[0])
        i = next((i for i, w in enumerate(worms) if _sort_kind(w) is not kind), 0)
        if i == 0:  # one type throughout, but neither text nor numbers
            raise TypeError(
                f"Worm labels in {source} must be strings or numbers; row 0 is "
                f"{plain(worms[0])!r} ({type(plain(worms[0])).__name__})."
            )
        raise TypeError(
            f"Worm labels in {source} mix types: row 0 is {plain(worms[0])!r} "
            f"({type(plain(worms[0])).__name__}), row {i} is {plain(worms[i])!r} "
            f"({type(plain(worms[i])).__name__}). Give every worm a label of one "
            "type, e.g. all strings: np.asarray(groups, dtype=str)."
        )
    return worms


def _sort_kind(label) -> type:
    """str, numbers.Real or the label's own type: labels sort within a kind."""
    label = plain(label)
    if isinstance(label, str):
        return str
    return numbers.Real if isinstance(label, numbers.Real) else type(label)


def _mixed(labels) -> bool:
    """Labels of types that do not sort together (ints with floats do)."""
    return pd.api.types.infer_dtype(labels, skipna=False) in ("mixed", "mixed-integer")


def _missing_worm(worms, source, missing=None):
    if missing is None:
        missing = pd.isna(worms)
    i = int(np.flatnonzero(missing)[0])
    raise ValueError(
        f"Worm labels in {source} are missing (None or NaN) in {int(missing.sum())} "
        f"row(s), the first at row {i}; every row needs the label of its worm."
    )


# What numpy and pandas write for a missing value when labels become text
# (np.asarray(["a", np.nan], dtype=str) gives "nan"; astype(str) on None, "None").
_MISSING_AS_TEXT = ("nan", "NaN", "None", "<NA>", "NaT")


def _refuse_missing_as_text(worms: np.ndarray, source: str) -> None:
    """Refuse labels that are a missing value turned into text.

    Taken at face value, every such row would join one worm called ``"nan"``
    and be scaled with it: a missing label must not become a worm silently.
    """
    text = pd.Index(worms).isin(_MISSING_AS_TEXT)
    if not text.any():
        return
    i = int(np.flatnonzero(text)[0])
    raise ValueError(
        f"Worm label {plain(worms[i])!r} in {source} at row {i} ({int(text.sum())} "
        "such row(s)) looks like a missing label turned into text (converting "
        "labels with dtype=str or astype(str) writes NaN as 'nan' and None as "
        "'None'); every row needs the label of its worm."
    )


@dataclass(frozen=True, eq=False)
class Worms:
    """The worm of every row of one input, in the forms callers need.

    Attributes
    ----------
    labels : list
        Worm labels (plain Python values) in order of each worm's first row.
    codes : ndarray of int64, shape (n_samples,)
        ``labels[codes[i]]`` is the worm of row ``i``.
    rows : tuple of ndarray
        ``rows[k]``: positions of worm ``k``'s rows, in their (time) order.
    given : bool
        False when no identity was given and the rows were taken as one worm.
    """

    labels: list
    codes: np.ndarray
    rows: tuple
    given: bool = True

    @classmethod
    def from_labels(cls, worms, *, given: bool = True) -> Worms:
        """Build from one label per row (any hashable, sortable labels)."""
        worms = np.asarray(worms)
        if worms.size == 0:
            return cls([], np.empty(0, dtype=np.int64), (), given)
        uniques, first, inverse = np.unique(
            worms, return_index=True, return_inverse=True
        )
        inverse = inverse.ravel()
        # Codes follow each worm's first row, not the sort order of the labels.
        by_first = np.argsort(first, kind="stable")
        rank = np.empty_like(by_first)
        rank[by_first] = np.arange(len(by_first))
        codes = rank[inverse].astype(np.int64, copy=False)
        order = np.argsort(codes, kind="stable")
        bounds = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
        rows = tuple(np.split(order, bounds))
        labels = [plain(uniques[k]) for k in by_first]
        return cls(labels, codes, rows, given)

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        """``(label, rows)`` per worm, in order of each worm's first row."""
        return iter(zip(self.labels, self.rows))

    @property
    def n_samples(self) -> int:
        return len(self.codes)

    @cached_property
    def order(self) -> np.ndarray:
        """Row positions grouped by worm (worm-major, time order within a worm)."""
        if not self.rows:
            return np.empty(0, dtype=np.intp)
        return np.concatenate(self.rows)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Number of rows of every worm."""
        return np.bincount(self.codes, minlength=len(self.labels))


def resolve_worms(X, groups=None, *, caller: str | None = None,
                  warn: bool = True) -> Worms:  # fmt: skip
    """Resolve the worm of every row of ``X`` once.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The input as the caller received it (before validation turns a DataFrame
        into an array, which would lose the index).
    groups : array-like of shape (n_samples,), optional
        Explicit worm identity; takes precedence over the index.
    caller : str, optional
        What received the rows (e.g. ``"GNNClassifier.fit"``), for the warning.
    warn : bool, default=True
        Warn when more than one row arrives without identity.

    Returns
    -------
    worms : Worms

    Raises
    ------
    ValueError
        For a MultiIndex with no ``worm`` level, missing labels or a ``groups`` of
        the wrong length; ``TypeError`` for labels of mixed types.

    Warns
    -----
    WormIdentityWarning
        When ``warn`` is true and more than one row arrives without identity.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk._worms import resolve_worms
    >>> worms = resolve_worms(np.zeros((4, 2)), groups=["b", "a", "b", "a"])
    >>> worms.labels, worms.codes.tolist(), worms.order.tolist()
    (['b', 'a'], [0, 1, 0, 1], [0, 2, 1, 3])
    """
    index = getattr(X, "index", None)
    if (
        groups is None
        and isinstance(index, pd.MultiIndex)
        and WORM_LEVEL not in index.names
    ):
        names = [n for n in index.names]
        first = next((n for n in names if n is not None), None)
        rename = (
            f"X.rename_axis(index={{{first!r}: 'worm'}})"
            if first is not None
            else "X.rename_axis(index=['worm', 'frame'])"
        )
        raise ValueError(
            f"X has a MultiIndex with levels {names} but none named 'worm', so "
            "wormsk cannot tell its worms apart (each worm is scaled by itself). "
            f"Name the level that identifies worms 'worm' (e.g. {rename}) or pass "
            "groups=<worm of every row>."
        )
    labels = get_worms(X, groups)
    given = groups is not None or (
        index is not None and WORM_LEVEL in (getattr(index, "names", None) or [])
    )
    n_samples = num_samples(X)
    if not given and warn and n_samples > 1:
        who = caller or "wormsk"
        warnings.warn(
            f"{who} received {n_samples} rows without worm identity (no index "
            "level 'worm', no groups) and treats them as ONE worm: they are scaled "
            "and batched together. If they come from several worms, pass a "
            "DataFrame indexed by (worm, frame) or groups=<worm of every row>; "
            "if they are one worm, pass groups=np.zeros(len(X)) to say so.",
            WormIdentityWarning,
            stacklevel=_caller_stacklevel(),
        )
    return Worms.from_labels(labels, given=given)


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside wormsk, sklearn, skorch and joblib.

    The warning should point at the user's line (``cross_val_score(...)``,
    ``pipe.predict(X)``), not at the wrapper sklearn puts around ``transform``.
    """
    names = ("wormsk", "sklearn", "skorch", "joblib")  # joblib: cross_val_score's
    skip = tuple(
        os.path.dirname(os.path.abspath(sys.modules[name].__file__)) + os.sep
        for name in names
        if name in sys.modules
    )
    # Level 1 is the function that calls warnings.warn (resolve_worms).
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level
