"""Cross-validation that respects worms.

:class:`LeaveWormsOut` tests on worms never seen in training (the paper's
unseen-population protocol, including its dataset-enlargement experiment);
:class:`WormBlockKFold` tests on held-out blocks of frames of the training worms
(the seen-population protocol). Both take worm identity from ``groups`` or, when
``groups`` is not given, from the DataFrame index level ``"worm"``, and both
request ``groups`` through sklearn's metadata routing as ``GroupKFold`` does.
"""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.model_selection._split import GroupsConsumerMixin
from sklearn.utils import check_random_state, indexable

from wormsk._docs import docdict, fill_doc
from wormsk._utils import check_positive_int, check_recording_index
from wormsk._worms import resolve_worms

__all__ = ["LeaveWormsOut", "WormBlockKFold"]

docdict["split_params"] = """\
X : DataFrame or array-like of shape (n_samples, n_features)
    Recording table.
y : array-like of shape (n_samples,), default=None
    Ignored.
groups : array-like of shape (n_samples,), default=None
    Worm of every row. Defaults to the DataFrame index level ``"worm"``."""


class _WormSplitter(GroupsConsumerMixin, BaseCrossValidator):
    """Splits that follow worms; subclasses plan the splits and generate them."""

    @fill_doc
    def split(self, X, y=None, groups=None):
        """Generate train and test row positions, one pair per split.

        The parameters and the worms are checked at the call, before the first
        split is drawn.

        Parameters
        ----------
        %(split_params)s

        Yields
        ------
        train : ndarray
            Row positions of the training rows.
        test : ndarray
            Row positions of the test rows (held-out worms for
            :class:`LeaveWormsOut`, a fold's blocks for :class:`WormBlockKFold`).

        Raises
        ------
        ValueError
            When the parameters are invalid, or the worms cannot be split as
            asked (no worm identity for :class:`LeaveWormsOut`, too few worms,
            or a worm too short for :class:`WormBlockKFold`'s folds).

        Warns
        -----
        WormIdentityWarning
            :class:`WormBlockKFold` only, when neither ``groups`` nor an index
            level ``"worm"`` gives worm identity: the input is then one worm.
        """
        plan = self._plan(X, groups)
        indexable(X, y, groups)
        return self._generate(*plan)


class LeaveWormsOut(_WormSplitter):
    """Hold out whole worms: every combination of test (or training) worms.

    With ``n_test_worms=k`` every combination of ``k`` worms is a test set and the
    other worms train; with ``n_train_worms=k`` every combination of ``k`` worms
    trains and all the others are tested (the paper's dataset-enlargement
    experiment). Give at most one of the two; by default one worm is held out at
    a time. Combinations follow :func:`itertools.combinations` over the worms in
    order of first appearance, so the order of splits is deterministic.

    Parameters
    ----------
    n_test_worms : int, default=None
        Number of worms in each test set (1 when neither parameter is given).
    n_train_worms : int, default=None
        Number of worms in each training set.

    See Also
    --------
    sklearn.model_selection.LeavePGroupsOut : the same for ``n_test_worms``, with
        groups in sorted order and no default from the index.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.model_selection import LeaveWormsOut
    >>> groups = np.array(["a", "a", "b", "c"])
    >>> X = np.zeros((4, 2))
    >>> for train, test in LeaveWormsOut(n_train_worms=2).split(X, groups=groups):
    ...     print(train, test)
    [0 1 2] [3]
    [0 1 3] [2]
    [2 3] [0 1]
    """

    def __init__(self, n_test_worms=None, n_train_worms=None):
        self.n_test_worms = n_test_worms
        self.n_train_worms = n_train_worms

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of splits: the number of combinations of worms.

        Parameters
        ----------
        X : DataFrame or array-like, default=None
            Used only for its index level ``"worm"`` when ``groups`` is None.
        y : object
            Ignored.
        groups : array-like of shape (n_samples,), default=None
            Worm of every row.

        Returns
        -------
        n_splits : int
        """
        if X is None and groups is None:
            raise ValueError(
                "LeaveWormsOut.get_n_splits needs the worms: pass groups, or X "
                "indexed by ('worm', 'frame')."
            )
        if X is None:
            X = np.empty((len(groups), 0))
        per_worm, k, _ = self._plan(X, groups)
        return comb(len(per_worm), k)

    def _plan(self, X, groups):
        if self.n_test_worms is not None and self.n_train_worms is not None:
            raise ValueError(
                "Give at most one of n_test_worms and n_train_worms; got "
                f"n_test_worms={self.n_test_worms!r}, "
                f"n_train_worms={self.n_train_worms!r}."
            )
        if self.n_train_worms is not None:
            check_positive_int(self.n_train_worms, "n_train_worms")
            k, k_is_test, param = self.n_train_worms, False, "n_train_worms"
        else:
            k = 1 if self.n_test_worms is None else self.n_test_worms
            check_positive_int(k, "n_test_worms")
            k_is_test, param = True, "n_test_worms"
        # Holding worms out is meaningless without worms: refuse rather than warn.
        worms = resolve_worms(X, groups, warn=False)
        if not worms.given:
            raise ValueError(
                "LeaveWormsOut needs to know the worm of every row: pass groups, "
                "or X as a DataFrame indexed by ('worm', 'frame'); without either "
                "the rows are one worm, which cannot be held out."
            )
        if len(worms) < k + 1:
            other = "train" if k_is_test else "test"
            raise ValueError(
                f"LeaveWormsOut({param}={k}) needs at least {k + 1} worms ({k} to "
                f"{'test' if k_is_test else 'train'} and at least 1 to {other}); "
                f"got {len(worms)}: {worms.labels}."
            )
        return list(worms), k, k_is_test

    @staticmethod
    def _generate(per_worm, k, k_is_test):
        n_worms = len(per_worm)
        for chosen in combinations(range(n_worms), k):
            picked = np.zeros(n_worms, dtype=bool)
            picked[list(chosen)] = True
            test_worms = picked if k_is_test else ~picked
            test = np.sort(np.concatenate(
                [rows for (_, rows), t in zip(per_worm, test_worms) if t]
            ))
            train = np.sort(np.concatenate(
                [rows for (_, rows), t in zip(per_worm, test_worms) if not t]
            ))
            yield train, test


class WormBlockKFold(_WormSplitter):
    """K-fold over blocks of consecutive frames, dealt out worm by worm.

    Each worm's rows are cut into consecutive blocks of ``block_size`` frames (the
    last block of a worm may be shorter); no block straddles two worms. The blocks
    of each worm are shuffled and dealt into the ``n_splits`` folds in turn, the
    dealing continuing from worm to worm so that fold sizes stay balanced. Every
    row is in exactly one test fold and every fold draws from every worm. This is
    the paper's seen-population protocol (8-frame blocks, 10 folds).

    Worm identity comes from ``groups``, else the DataFrame index level
    ``"worm"``; without either, the whole input is one worm and ``split`` warns
    with a :class:`~wormsk.exceptions.WormIdentityWarning` (pass
    ``groups=np.zeros(len(X))`` for one worm). Rows of a worm must be in time
    order (checked for a DataFrame indexed by ``("worm", "frame")``).

    ``cross_val_score`` with this splitter predicts the test blocks on their
    own, so each test worm is scaled (and batch-normalized) by the statistics of
    a tenth of its recording. The paper normalizes each worm over its whole
    recording, and :mod:`wormsk.experiments` predicts every worm whole and scores
    its test blocks: the user guide's "Seen worms" section shows that route in
    plain scikit-learn.

    Parameters
    ----------
    n_splits : int, default=10
        Number of folds, at least 2.
    block_size : int, default=8
        Frames per block.
    shuffle : bool, default=True
        Shuffle each worm's blocks before dealing them. With ``shuffle=False``
        fold ``k`` gets blocks ``k, k + n_splits, ...`` of the first worm.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; only valid with ``shuffle=True``.

    Raises
    ------
    ValueError
        From ``split`` when a worm has fewer than ``n_splits`` blocks (it could
        not appear in every fold), naming the worm.

    Examples
    --------
    >>> import numpy as np
    >>> from wormsk.model_selection import WormBlockKFold
    >>> X = np.zeros((12, 1))
    >>> cv = WormBlockKFold(n_splits=2, block_size=3, shuffle=False)
    >>> for train, test in cv.split(X, groups=[0] * 6 + [1] * 6):
    ...     print(test)
    [0 1 2 6 7 8]
    [ 3  4  5  9 10 11]
    """

    def __init__(self, n_splits=10, block_size=8, shuffle=True, random_state=None):
        self.n_splits = n_splits
        self.block_size = block_size
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        """Number of folds.

        Parameters
        ----------
        X, y, groups : object
            Ignored.

        Returns
        -------
        n_splits : int
        """
        check_positive_int(self.n_splits, "n_splits")
        return self.n_splits

    def _plan(self, X, groups):
        check_positive_int(self.n_splits, "n_splits")
        if self.n_splits < 2:
            raise ValueError(f"n_splits must be at least 2; got {self.n_splits}.")
        check_positive_int(self.block_size, "block_size")
        if not isinstance(self.shuffle, (bool, np.bool_)):
            raise ValueError(f"shuffle must be True or False; got {self.shuffle!r}.")
        if not self.shuffle and self.random_state is not None:
            raise ValueError(
                "Setting random_state has no effect since shuffle is False; leave "
                "random_state=None or set shuffle=True."
            )
        check_recording_index(X)
        try:
            rng = check_random_state(self.random_state)
        except ValueError:
            raise ValueError(
                "random_state must be None, an int in [0, 2**32 - 1] or a numpy "
                f"RandomState; got {self.random_state!r}."
            ) from None
        worms = resolve_worms(X, groups, caller="WormBlockKFold.split")
        if worms.n_samples == 0:
            raise ValueError("WormBlockKFold cannot split X with no rows.")
        fold = np.empty(worms.n_samples, dtype=np.intp)
        dealt = 0
        for worm, rows in worms:
            n_blocks = -(-rows.size // self.block_size)
            if rows.size < self.block_size or n_blocks < self.n_splits:
                raise ValueError(
                    f"Worm {worm!r} has {rows.size} frames, which make "
                    f"{n_blocks} block(s) of block_size={self.block_size}, fewer than "
                    f"n_splits={self.n_splits}: every fold must draw from every "
                    f"worm. Each worm needs at least "
                    f"{self.block_size * (self.n_splits - 1) + 1} frames; lower "
                    "block_size or n_splits, or drop the worm."
                )
            order = rng.permutation(n_blocks) if self.shuffle else np.arange(n_blocks)
            fold_of_block = np.empty(n_blocks, dtype=np.intp)
            fold_of_block[order] = (dealt + np.arange(n_blocks)) % self.n_splits
            dealt += n_blocks
            fold[rows] = fold_of_block[np.arange(rows.size) // self.block_size]
        return fold, self.n_splits

    @staticmethod
    def _generate(fold, n_splits):
        for k in range(n_splits):
            test = fold == k
            yield np.flatnonzero(~test), np.flatnonzero(test)
