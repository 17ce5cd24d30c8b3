"""Data held once, as tensors, with the worm of every row, and the per-worm batcher."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Subset

from .._worms import Worms


class WormDataset(torch.utils.data.Dataset):
    """Frames of several worms as tensors, with the worm of every row.

    ``X`` is (n_samples, N, C) float32; ``y`` the encoded targets (or None);
    ``worms`` the call's :class:`~wormsk._worms.Worms` (or a label per row; one
    worm when None);
    ``history`` optionally (n_samples, L) row positions of the L frames that end
    at each row (for recurrent burn-in). Indexing one row is supported for skorch
    compatibility, but training and prediction go through :class:`WormBatches`,
    which gathers whole batches at once.
    """

    def __init__(self, X, y=None, worms=None, history=None, split_y=None,
                 weights=None, baseline_loss=None):  # fmt: skip
        self.X = X
        self.y = y
        if worms is None:
            worms = np.zeros(X.shape[0], dtype=np.int64)
        # The estimators pass their call's Worms; a label per row also works.
        self.worms = worms if isinstance(worms, Worms) else Worms.from_labels(worms)
        self.history = history
        # Targets handed to a ``train_split`` (stratification needs class labels).
        self.split_y = split_y
        # Loss weight of every row (sample_weight times class_weight), or None.
        self.weights = weights
        # Training loss of a predictor that learned nothing, for the runaway guard
        # (StopOnRunawayLoss); None outside training.
        self.baseline_loss = baseline_loss

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        xb, yb = self.batch(torch.as_tensor([i]))
        return xb[0], None if yb is None else yb[0]

    def batch(self, rows):
        """The (X, y) batch of the row positions ``rows`` (a long tensor).

        With a history, X is a :class:`History`: the recurrent network gathers
        one burn-in step at a time, never a (B, L, N, C) copy of the frames.
        """
        if self.history is None:
            xb = self.X[rows]
        else:
            xb = History(self.X, self.history[rows])
        yb = None if self.y is None else self.y[rows]
        return xb, yb


class History:
    """Burn-in of a batch: all frames and (B, L) row positions into them.

    Not a tuple, so that skorch measures its length (B) instead of recursing
    into it; :meth:`parts` is what the recurrent networks take.
    """

    def __init__(self, frames, rows):
        self.frames = frames
        self.rows = rows

    def __len__(self):
        return self.rows.shape[0]

    def __getitem__(self, i):
        return self.frames[self.rows[i]]

    def parts(self):
        return self.frames, self.rows


def module_input(X):
    """What a network takes from a batch's X: a burn-in as its (frames, rows) pair."""
    return X.parts() if isinstance(X, History) else X


def rows_by_worm(dataset):
    """``(base dataset, [row positions into it, per worm]`` of a dataset or Subset."""
    if isinstance(dataset, Subset):
        base = dataset.dataset
        if not isinstance(base, WormDataset):
            raise TypeError(
                "train_split must return subsets of the dataset it is given (as "
                "skorch's ValidSplit does); got a subset of "
                f"{type(base).__name__}."
            )
        rows = np.asarray(dataset.indices, dtype=np.int64)
        # A subset (train_split's) keeps the worms' order of first appearance.
        subset = Worms.from_labels(base.worms.codes[rows])
        return base, [rows[pos] for pos in subset.rows]
    if not isinstance(dataset, WormDataset):
        raise TypeError(
            "wormsk nets iterate over wormsk datasets only; a train_split must "
            f"return subsets of the dataset it is given, got {type(dataset).__name__}."
        )
    return dataset, list(dataset.worms.rows)


def worm_chunks(positions, batch_size, generator):
    """Training batches: row positions of each worm, shuffled and cut into chunks.

    Each worm's rows (``positions``, long tensors) are shuffled with
    ``generator`` and cut into chunks of ``batch_size`` (None or -1: whole
    worms); a remainder of a single frame joins the previous chunk, because batch
    statistics of one frame are degenerate. The order of all chunks is then
    shuffled across worms.

    Examples
    --------
    >>> import torch
    >>> worms = [torch.arange(5), torch.arange(5, 8)]
    >>> chunks = worm_chunks(worms, 2, torch.Generator().manual_seed(0))
    >>> sorted(len(c) for c in chunks)
    [2, 3, 3]
    """
    chunks = []
    for pos in positions:
        n = len(pos)
        size = n if batch_size in (None, -1) else int(batch_size)
        pos = pos[torch.randperm(n, generator=generator)]
        parts = list(torch.split(pos, size))
        if len(parts) > 1 and len(parts[-1]) == 1:
            parts[-2:] = [torch.cat(parts[-2:])]
        chunks.extend(parts)
    order = torch.randperm(len(chunks), generator=generator)
    return [chunks[i] for i in order.tolist()]


class WormBatches:
    """Per-worm mini-batches of in-memory tensors (iterable; one pass per epoch).

    Training (``shuffle=True``): :func:`worm_chunks` with ``generator``.
    Otherwise: every worm is one batch, in time order, worms in order of first
    appearance.
    """

    def __init__(self, dataset, batch_size, shuffle, generator=None, net=None):
        self.base, rows = rows_by_worm(dataset)
        self.positions = [torch.as_tensor(pos) for pos in rows]
        # torch.split refuses numpy integers, which a parameter grid hands out.
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        # The net whose get_loss weighs the rows of the batch being yielded: skorch
        # hands get_loss (y_pred, y) only, and y stays the plain targets that
        # skorch's scoring callbacks read.
        self.net = net

    def chunks(self):
        """Row positions of every batch of one pass, in the order they are yielded."""
        if not self.shuffle:
            return self.positions
        return worm_chunks(self.positions, self.batch_size, self.generator)

    def __iter__(self):
        weights = self.base.weights
        for rows in self.chunks():
            if self.net is not None:
                self.net.batch_weights_ = None if weights is None else weights[rows]
            yield self.base.batch(rows)
