"""Warnings that wormsk raises, for filtering with :mod:`warnings`."""

from __future__ import annotations

__all__ = ["WormIdentityWarning"]


class WormIdentityWarning(UserWarning):
    """Rows arrived without worm identity and were taken as one worm.

    wormsk scales every worm by its own statistics and never batches frames of
    two worms together, so it must know which rows belong to which worm. Identity
    comes from the index level ``worm`` of a DataFrame (as the readers return
    it) or from ``groups``; numpy input through a scikit-learn scorer or a
    transformer that returns numpy loses it. Pass identity, or silence the
    warning for a single worm with ``groups=np.zeros(len(X))``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from wormsk.preprocessing import PerWormScaler
    >>> X = np.arange(8.0).reshape(4, 2)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = PerWormScaler().fit_transform(X)
    >>> [w.category.__name__ for w in caught]
    ['WormIdentityWarning']
    >>> PerWormScaler().fit_transform(X, groups=np.zeros(4)).shape  # said: one worm
    (4, 2)
    """
