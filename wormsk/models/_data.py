"""Data held once, as tensors, with the worm of every row, and the per-worm batcher."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Subset

from .._utils import (
    worm_indices,
)


class _WormDataset(torch.utils.data.Dataset):
    """Frames of several worms as tensors, with per-worm row positions.

    ``X`` is (n_samples, N, C) float32; ``y`` the encoded targets (or None);
    ``worms`` one integer code per row; ``history`` optionally (n_samples, L) row
    positions of the L frames that end at each row (for recurrent burn-in). Indexing
    one row is supported for skorch compatibility, but training and prediction go
    through :class:`_WormBatches`, which gathers whole batches at once.
    """

    def __init__(self, X, y=None, worms=None, history=None, split_y=None,
                 weights=None):
        self.X = X
        self.y = y
        n = X.shape[0]
        self.worms = np.zeros(n, dtype=np.int64) if worms is None else worms
        self.history = history
        # Targets handed to a ``train_split`` (stratification needs class labels).
        self.split_y = split_y
        # Loss weight of every row (sample_weight times class_weight), or None.
        self.weights = weights

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        xb, yb = self.batch(torch.as_tensor([i]))
        return xb[0], None if yb is None else yb[0]

    def batch(self, rows):
        """The (X, y) batch of the row positions ``rows`` (a long tensor).

        With a history, X is a :class:`_History`: the recurrent network gathers
        one burn-in step at a time, never a (B, L, N, C) copy of the frames.
        """
        if self.history is None:
            xb = self.X[rows]
        else:
            xb = _History(self.X, self.history[rows])
        yb = None if self.y is None else self.y[rows]
        return xb, yb


class _History:
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


def _rows_by_worm(dataset):
    """[(worm code, row positions into the base dataset)] of a dataset or Subset."""
    if isinstance(dataset, Subset):
        base = dataset.dataset
        if not isinstance(base, _WormDataset):
            raise TypeError(
                "train_split must return subsets of the dataset it is given (as "
                "skorch's ValidSplit does); got a subset of "
                f"{type(base).__name__}."
            )
        rows = np.asarray(dataset.indices, dtype=np.int64)
        codes = base.worms[rows]
        return base, [(w, rows[pos]) for w, pos in worm_indices(codes)]
    if not isinstance(dataset, _WormDataset):
        raise TypeError(
            "wormsk nets iterate over wormsk datasets only; a train_split must "
            f"return subsets of the dataset it is given, got {type(dataset).__name__}."
        )
    return dataset, worm_indices(dataset.worms)


class _WormBatches:
    """Per-worm mini-batches of in-memory tensors (iterable; one pass per epoch).

    Training (``shuffle=True``): each worm's frames are shuffled with ``generator``
    and cut into chunks of ``batch_size`` (a remainder of a single frame joins the
    previous chunk, because batch statistics of one frame are degenerate); the
    order of all chunks is then shuffled across worms. Otherwise: every worm is
    one batch, in time order, worms in order of first appearance.
    """

    def __init__(self, dataset, batch_size, shuffle, generator=None, net=None):
        self.base, groups = _rows_by_worm(dataset)
        self.positions = [torch.as_tensor(pos) for _, pos in groups]
        # torch.split refuses numpy integers, which a parameter grid hands out.
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.generator = generator
        # The net whose get_loss weighs the rows of the batch being yielded: skorch
        # hands get_loss (y_pred, y) only, and y stays the plain targets that
        # skorch's scoring callbacks read.
        self.net = net

    def _chunks(self):
        if not self.shuffle:
            return self.positions
        chunks = []
        for pos in self.positions:
            n = len(pos)
            size = n if self.batch_size in (None, -1) else self.batch_size
            pos = pos[torch.randperm(n, generator=self.generator)]
            parts = list(torch.split(pos, size))
            if len(parts) > 1 and len(parts[-1]) == 1:
                parts[-2:] = [torch.cat(parts[-2:])]
            chunks.extend(parts)
        order = torch.randperm(len(chunks), generator=self.generator)
        return [chunks[i] for i in order.tolist()]

    def __iter__(self):
        weights = self.base.weights
        for rows in self._chunks():
            if self.net is not None:
                self.net.batch_weights_ = None if weights is None else weights[rows]
            yield self.base.batch(rows)
