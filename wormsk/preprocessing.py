"""Per-worm scaling and trajectory targets built within worms.

A decoder generalizes to unseen worms when every worm is normalized by its own
statistics (Wang et al. 2021): :class:`PerWormScaler` computes them from each
worm's rows at ``transform`` time. :func:`make_trajectory_targets` turns a
recording table into (state, next ``horizon`` states) pairs without crossing a
worm boundary.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    check_array,
    check_is_fitted,
    validate_data,
)

from wormsk._docs import docdict, fill_doc
from wormsk._utils import (
    FRAME_LEVEL,
    check_column_order,
    check_positive_int,
    check_recording_index,
    frame_labels,
    plain,
)
from wormsk._worms import resolve_worms

__all__ = ["PerWormScaler", "make_trajectory_targets"]

docdict["scaler_X_y"] = """X : DataFrame or array-like of shape (n_samples, n_features)
    Recording table.
y : None
    Ignored."""

_METHODS = ("minmax", "standard", "robust")
# A range or spread this small relative to the column's magnitude is float noise
# on a constant column, not signal worth stretching to the full feature range.
_RTOL = 10 * np.finfo(np.float64).eps


class PerWormScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Scale every column of every worm by that worm's own statistics.

    The statistics are computed at ``transform`` time from the rows of each worm
    in the call, so an unseen worm is scaled by itself and never by the training
    worms. ``fit`` only records the input width (and column names).

    Worm identity comes from ``groups`` when given, else from the DataFrame index
    level ``"worm"``; without either, the whole input is one worm, and more than
    one row without identity raises a
    :class:`~wormsk.exceptions.WormIdentityWarning` (once per call). A
    MultiIndex with levels but none named ``"worm"`` is refused. Inside
    ``cross_val_score`` or ``GridSearchCV`` sklearn passes no ``groups`` to
    ``transform`` at prediction time, so give a DataFrame indexed by
    ``("worm", "frame")`` to keep worms apart there (see the user guide's
    "Worm identity" section).

    Parameters
    ----------
    method : {"minmax", "standard", "robust"}, default="minmax"
        ``"minmax"`` maps each worm's column minimum and maximum to
        ``feature_range`` (the paper's normalization). ``"standard"`` removes the
        worm's column mean and divides by its standard deviation (``ddof=0``).
        ``"robust"`` maps the worm's column percentiles ``quantile_range`` to
        ``feature_range``, so that one spike does not squash a whole trace; values
        beyond those percentiles fall outside ``feature_range`` (no clipping).
    feature_range : tuple (min, max), default=(0, 1)
        Target range of ``"minmax"`` and ``"robust"``. The authors' code used
        ``(-1, 1)``.
    quantile_range : tuple (q_min, q_max), default=(1.0, 99.0)
        Percentiles used by ``"robust"``, with ``0 <= q_min < q_max <= 100``.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen in ``fit``; only defined when ``X`` has string column
        names.

    Notes
    -----
    - Output follows the input: a DataFrame in gives a DataFrame out with the same
      index (``worm``, ``frame``) and columns, so that worm identity reaches the
      next step of a ``Pipeline`` (a wormsk estimator batches and normalizes per
      worm from that index). Array input gives an array, or a DataFrame with
      ``set_output(transform="pandas")``.
    - Constant columns (including every column of a one-frame worm) map to the
      middle of ``feature_range`` for ``"minmax"`` and ``"robust"`` and to 0 for
      ``"standard"``; never NaN or inf. For ``"robust"``, a column whose
      percentiles coincide falls back to its minimum and maximum.
    - Finite input gives finite output at any magnitude: a column whose values
      would overflow the statistics (near +-1e308, or 1e154 for the variance)
      or underflow them is first multiplied by an exact power of two, to which
      every statistic here is invariant; other columns are computed as usual.
    - NaN is ignored in the statistics and kept in the output at the same
      positions (as sklearn's scalers do; put an imputer after the scaler if the
      next step refuses NaN). A column that is all NaN within a worm stays NaN.
      Infinite values are refused with an error naming the worm and column.
    - ``numpy`` input of dtype float32 stays float32.
    - A DataFrame at ``transform`` must have the columns seen in ``fit``, in the
      same order: a reordered table is refused naming the first column out of
      place (columns are matched by position, as in every wormsk estimator).
    - Rows need not be in time order and a repeated ``(worm, frame)`` row is
      accepted: the statistics do not depend on row order and every row is
      scaled on its own (the estimators and the splitters that read time order
      refuse such tables).
    - For ``numpy`` input, pass worm identity as ``groups``: directly to
      ``fit_transform``/``transform``, as ``perwormscaler__groups`` to a
      ``Pipeline``, or through metadata routing after
      ``set_transform_request(groups=True)``.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.preprocessing import PerWormScaler
    >>> X = np.array([[0.0], [2.0], [10.0], [30.0]])
    >>> PerWormScaler().fit_transform(X, groups=["a", "a", "b", "b"]).ravel()
    array([0., 1., 0., 1.])
    """

    _parameter_constraints: dict = {
        "method": [StrOptions(set(_METHODS))],
        "feature_range": ["array-like"],
        "quantile_range": ["array-like"],
    }

    def __init__(
        self, method="minmax", feature_range=(0, 1), quantile_range=(1.0, 99.0)
    ):
        self.method = method
        self.feature_range = feature_range
        self.quantile_range = quantile_range

    @fill_doc
    def fit(self, X, y=None):
        """Record the width (and column names) of ``X``.

        ``fit`` learns nothing about worms, so it takes no ``groups``: with
        metadata routing, ``set_transform_request(groups=True)`` alone routes
        ``groups`` to ``fit_transform`` and ``transform``.

        Parameters
        ----------
        %(scaler_X_y)s

        Returns
        -------
        self : PerWormScaler
        """
        self._check_params()
        validate_data(self, X, reset=True, dtype=FLOAT_DTYPES, ensure_all_finite=False)
        return self

    def transform(self, X, groups=None):
        """Scale each worm's columns by that worm's own statistics.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Recording table with the width seen in ``fit``.
        groups : array-like of shape (n_samples,), default=None
            Worm of every row. Defaults to the index level ``"worm"``, else the
            whole input is one worm (with a
            :class:`~wormsk.exceptions.WormIdentityWarning` for more than one
            row; ``groups=np.zeros(len(X))`` says it is one worm).

        Returns
        -------
        X_scaled : DataFrame or ndarray of shape (n_samples, n_features)
            New data: a DataFrame with ``X``'s index and columns when ``X`` is a
            DataFrame (or with ``set_output(transform="pandas")``), else an array.
        """
        check_is_fitted(self)
        self._check_params()
        X_in = X
        check_column_order(self, X_in)
        X = validate_data(
            self, X, reset=False, dtype=FLOAT_DTYPES, ensure_all_finite=False
        )
        # Only a DataFrame's index carries worms; other inputs (lists, say) are
        # read from the validated array.
        worms = resolve_worms(
            X_in if isinstance(X_in, pd.DataFrame) else X,
            groups,
            caller="PerWormScaler.transform",
        )
        self._check_no_inf(X, worms, frame_labels(X_in))
        out = np.empty_like(X)
        for _, rows in worms:
            if rows[-1] - rows[0] + 1 == rows.size:
                # A worm stored contiguously is a slice: scale straight into the
                # output view instead of through fancy-indexed copies.
                rows = slice(rows[0], rows[-1] + 1)
                self._scale_block(X[rows], out[rows])
            else:
                # Fancy indexing copies: take the worm's rows once and scale that
                # private copy in place.
                block = X[rows]
                out[rows] = self._scale_block(block, block)
        if isinstance(X_in, pd.DataFrame):
            # Worm identity must survive the scaler so that a wormsk estimator
            # after it in a Pipeline still batches and normalizes per worm.
            # ``out`` is private to this call, so the frame may own it uncopied.
            return pd.DataFrame(
                out, index=X_in.index, columns=X_in.columns, copy=False
            )
        return out

    @fill_doc
    def fit_transform(self, X, y=None, groups=None):
        """Fit, then scale each worm by its own statistics.

        Defined here (rather than inherited) so that ``groups`` reaches
        ``transform`` from a ``Pipeline`` (``perwormscaler__groups=...``) and
        through metadata routing (after ``set_transform_request(groups=True)``).

        Parameters
        ----------
        %(scaler_X_y)s
        groups : array-like of shape (n_samples,), default=None
            Worm of every row (see :meth:`transform`).

        Returns
        -------
        X_scaled : DataFrame or ndarray of shape (n_samples, n_features)
            As for :meth:`transform`.
        """
        return self.fit(X, y).transform(X, groups=groups)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_params(self):
        """sklearn's constraints, then what they cannot express (the pairs)."""
        self._validate_params()
        lo, hi = _pair(self.feature_range, "feature_range")
        if not (lo < hi and np.isfinite(hi - lo)):
            raise ValueError(
                f"feature_range must be (min, max) with min < max, both finite and "
                f"max - min finite; got {self.feature_range!r}."
            )
        q_lo, q_hi = _pair(self.quantile_range, "quantile_range")
        if not 0 <= q_lo < q_hi <= 100:
            raise ValueError(
                "quantile_range must be (q_min, q_max) with 0 <= q_min < q_max <= "
                f"100; got {self.quantile_range!r}."
            )

    def _check_no_inf(self, X, worms, frames=None):
        inf = np.isinf(X)
        if not inf.any():
            return
        row, col = np.argwhere(inf)[0]
        names = getattr(self, "feature_names_in_", None)
        column = repr(plain(names[col])) if names is not None else f"{col}"
        where = f"row {row}" if frames is None else f"frame {plain(frames[row])!r}"
        raise ValueError(
            f"X contains infinity in column {column} of worm "
            f"{worms.labels[worms.codes[row]]!r} ({where}); PerWormScaler accepts "
            "finite values and NaN only."
        )

    def _scale_block(self, B, dest):
        """Write one worm's rows ``B``, scaled, into ``dest`` and return it.

        ``dest`` may be ``B`` itself: every statistic is taken before ``dest`` is
        written.
        """
        has_nan = np.isnan(B).any()
        with warnings.catch_warnings():
            # All-NaN columns legitimately produce NaN statistics; they stay NaN.
            warnings.simplefilter("ignore", category=RuntimeWarning)
            if self.method == "standard":
                mean, std = _mean_std(B, has_nan)
                # inf (overflow) or a spread below the underflow margin: rescale
                # and recompute; the range is needed only then.
                if not (np.isfinite(std) & (std > _tiny(B.dtype))).all():
                    low, high = _range(B, has_nan)
                    B, _, _ = _rescale_extremes(B, low, high)
                    mean, std = _mean_std(B, has_nan)
                constant = std <= _RTOL * np.abs(mean)
                scale = np.divide(1.0, std, out=np.zeros_like(std), where=~constant)
                np.subtract(B, mean, out=dest)
                dest *= scale
                return dest
            lo_out, hi_out = (float(v) for v in self.feature_range)
            B, low, high = _rescale_extremes(B, *_range(B, has_nan))
            if self.method == "robust":
                pct = np.nanpercentile if has_nan else np.percentile
                q_low, q_high = pct(B, self.quantile_range, axis=0)
                spread = ~_flat(q_low, q_high)
                low = np.where(spread, q_low, low)
                high = np.where(spread, q_high, high)
            constant = _flat(low, high)
            width = np.where(constant, 1.0, high - low)
            scale = np.where(constant, 0.0, (hi_out - lo_out) / width)
            offset = np.where(constant, (lo_out + hi_out) / 2, lo_out)
        np.subtract(B, low, out=dest)
        dest *= scale
        dest += offset
        return dest


def _mean_std(B, has_nan):
    if has_nan:
        return np.nanmean(B, axis=0), np.nanstd(B, axis=0)
    return B.mean(axis=0), B.std(axis=0)


def _range(B, has_nan):
    if has_nan:
        return np.nanmin(B, axis=0), np.nanmax(B, axis=0)
    return B.min(axis=0), B.max(axis=0)


def _tiny(dtype):
    """Below this magnitude the squares in a variance lose precision."""
    return 2.0 ** (np.finfo(dtype).minexp // 2 + 20)


def _rescale_extremes(B, low, high):
    """Columns of ``B`` whose magnitude would overflow (or underflow) the
    statistics, multiplied by a power of two that brings them near 1.

    Differences (``high - low``, ``x - mean``) of values near +-1e308 overflow
    to inf, and squares in the variance do from about 1e154; every statistic
    here is invariant to a positive rescaling of its column, and a power of two
    rescales exactly, so other columns (and ordinary data) are untouched.
    """
    info = np.finfo(B.dtype)
    with np.errstate(invalid="ignore"):
        size = np.fmax(np.abs(low), np.abs(high))
        # Leave 2**20 of head room below the square root of the largest float
        # (variance sums n squares) and above that of the smallest normal one.
        extreme = (size > 2.0 ** (info.maxexp // 2 - 20)) | (
            (size > 0) & (size < _tiny(B.dtype))
        )
    if not extreme.any():
        return B, low, high
    exponent = np.frexp(np.where(extreme, size, 1.0))[1]
    # Two half steps: 2**1028 (for a subnormal column) is not a float itself.
    half = np.ldexp(np.ones(len(size), B.dtype), -(exponent // 2))
    rest = np.ldexp(np.ones(len(size), B.dtype), -(exponent - exponent // 2))
    return B * half * rest, low * half * rest, high * half * rest


def _flat(low, high):
    """True where ``high - low`` is zero up to float noise (NaN counts as flat)."""
    with np.errstate(invalid="ignore"):
        flat = (high - low) <= _RTOL * np.maximum(np.abs(low), np.abs(high))
    return flat | np.isnan(low) | np.isnan(high)


def _pair(value, name):
    try:
        lo, hi = value
        return float(lo), float(hi)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair of numbers (min, max); got {value!r}."
        ) from None


def make_trajectory_targets(
    X,
    horizon: int = 16,
    stride: int = 1,
    groups=None,
    *,
    return_groups: bool = False,
):
    """Pair every frame with the next ``horizon`` frames of the same worm.

    Row ``i`` of ``Y`` holds the states at frames ``t+1, ..., t+horizon`` that
    follow row ``i`` of ``X_t`` (frame ``t``), flattened frame-major: all columns
    of frame ``t+1``, then all columns of frame ``t+2``, and so on. A window never
    crosses from one worm into another, and for a DataFrame with an integer
    ``"frame"`` level it never crosses a gap in the frame numbers either (frames
    dropped as ``nostate``, say). A worm (or gap-free stretch) with no more than
    ``horizon`` frames contributes nothing.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        Recording table, each worm's rows in time order (checked for a
        DataFrame indexed by ``("worm", "frame")``).
    horizon : int, default=16
        Number of future frames in each target row.
    stride : int, default=1
        Keep every ``stride``-th start frame of each worm (or gap-free stretch).
    groups : array-like of shape (n_samples,), default=None
        Worm of every row. Defaults to the index level ``"worm"``, else the whole
        input is one worm (with a :class:`~wormsk.exceptions.WormIdentityWarning`;
        ``groups=np.zeros(len(X))`` says it is one worm).
    return_groups : bool, default=False
        Also return the worm of every kept row (useful with numpy input, to pass
        on to a splitter).

    Returns
    -------
    X_t : DataFrame or ndarray of shape (n_windows, n_features)
        The kept rows of ``X``; a DataFrame keeps its index and columns.
    Y : DataFrame or ndarray of shape (n_windows, horizon * n_features)
        Targets. For a DataFrame, a DataFrame on ``X_t``'s index with columns
        ``"<column>+<k>"`` (``"AVAL_trace+1"``, ``"AVAL_deriv+1"``, ...,
        ``"AVAL_trace+16"``, ...); for an array, an array.
    groups_t : ndarray of shape (n_windows,)
        Only when ``return_groups=True``.

    Raises
    ------
    ValueError
        When no worm has more than ``horizon`` consecutive frames, or the index
        has duplicate or out-of-order frames.

    Warns
    -----
    UserWarning
        Naming the worms that give no target row (none of their stretches has
        more than ``horizon`` frames); they are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.preprocessing import make_trajectory_targets
    >>> X = np.arange(10.0).reshape(5, 2)
    >>> X_t, Y = make_trajectory_targets(X, horizon=2, groups=np.zeros(5))
    >>> X_t
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    >>> Y[0]
    array([2., 3., 4., 5.])
    """
    horizon = check_positive_int(horizon, "horizon")
    stride = check_positive_int(stride, "stride")
    is_frame = isinstance(X, pd.DataFrame)
    if is_frame:
        check_recording_index(X)
    values = check_array(
        X,
        dtype=None,
        ensure_all_finite=False,
        estimator="make_trajectory_targets",
        input_name="X",
    )
    if values.dtype.kind not in "iufb":
        raise ValueError(
            f"make_trajectory_targets needs numeric X; got dtype {values.dtype}."
        )
    worms = resolve_worms(X, groups, caller="make_trajectory_targets")
    frames = None
    if is_frame and FRAME_LEVEL in (X.index.names or []):
        level = X.index.get_level_values(FRAME_LEVEL)
        if pd.api.types.is_integer_dtype(level):
            frames = np.asarray(level)
        else:
            # Times (floats) cannot say which frames are consecutive: a window
            # may then span a gap in the recording.
            warnings.warn(
                "make_trajectory_targets: the 'frame' level holds "
                f"{level.dtype} labels, not frame numbers, so gaps in a recording "
                "are not detected and a target window may span one. Use integer "
                "frame numbers to cut windows at gaps.",
                UserWarning,
                stacklevel=2,
            )

    starts, longest, windowless = [], (None, 0), []
    for worm, rows in worms:
        n_before = len(starts)
        cuts = []
        if frames is not None:
            cuts = np.flatnonzero(np.diff(frames[rows]) != 1) + 1
        for stretch in np.split(rows, cuts):
            if stretch.size > longest[1]:
                longest = (worm, stretch.size)
            n_starts = stretch.size - horizon
            if n_starts > 0:
                offsets = np.arange(0, n_starts, stride)
                starts.append(stretch[offsets[:, None] + np.arange(horizon + 1)])
        if len(starts) == n_before:
            windowless.append(plain(worm))
    if not starts:
        raise ValueError(
            f"No worm has more than horizon={horizon} consecutive frames (the "
            f"longest stretch is {longest[1]} frames, worm "
            f"{plain(longest[0])!r}); each window needs horizon + 1 frames. Use a "
            "smaller horizon."
        )
    if windowless:
        # A worm that yields no window drops out of training and testing alike.
        warnings.warn(
            f"make_trajectory_targets: worm(s) {windowless} have no stretch of more "
            f"than horizon={horizon} consecutive frames and give no target row; "
            "they are left out. Use a smaller horizon to keep them.",
            UserWarning,
            stacklevel=2,
        )
    windows = np.concatenate(starts)
    windows = windows[np.argsort(windows[:, 0], kind="stable")]
    keep = windows[:, 0]
    Y = values[windows[:, 1:]].reshape(len(windows), -1)
    if is_frame:
        X_t = X.iloc[keep]
        columns = [f"{c}+{k}" for k in range(1, horizon + 1) for c in X.columns]
        Y = pd.DataFrame(Y, index=X_t.index, columns=columns, copy=False)
    else:
        X_t = values[keep]
    if return_groups:
        return X_t, Y, np.asarray(worms.labels)[worms.codes[keep]]
    return X_t, Y
