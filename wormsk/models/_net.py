"""The skorch net overrides that train on per-worm in-memory batches."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    StratifiedGroupKFold,
)
from sklearn.utils.metadata_routing import get_routing_for_object
from skorch.dataset import ValidSplit

from .._utils import (
    is_integer,
)
from ._callbacks import (
    Interrupted,
    StopOnNonFiniteLoss,
    StopOnRunawayLoss,
    raised_by_callback,
)
from ._data import WormBatches


def seeded_generator(seed, offset=0):
    """A torch generator seeded with ``seed + offset`` (from the OS when None)."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed) + offset)
    return generator


class WormNetMixin:
    """Overrides that make a skorch net train on per-worm in-memory batches.

    ``X`` passed to ``fit`` / ``forward`` is always a :class:`~._data.WormDataset`.
    The internal validation split (``train_split``) receives the worm codes as
    ``groups``, so ``ValidSplit(GroupKFold(...))`` holds out whole worms.

    Parameters of the net besides skorch's: ``random_state`` (int or None) seeds
    the batch shuffling (``batch_generator_``, made by :meth:`initialize`);
    ``interrupt`` is the estimators' parameter. skorch ends training quietly on
    Ctrl-C (``KeyboardInterrupt``) and returns the partly trained net; here the
    interrupt leaves ``partial_fit`` as a ``KeyboardInterrupt`` unless
    ``interrupt="stop"``, which keeps skorch's behaviour with a warning. A
    KeyboardInterrupt raised by a callback (skorch's ``EarlyStopping``) still
    ends training quietly.
    """

    def __init__(self, *args, random_state=None, interrupt="raise", **kwargs):
        super().__init__(*args, **kwargs)
        self.random_state = random_state
        self.interrupt = interrupt

    def initialize(self):
        super().initialize()
        # Batch shuffling has a generator of its own: nothing else (scheduled
        # sampling, say) may shift the batch order.
        self.batch_generator_ = seeded_generator(self.random_state)
        return self

    @property
    def _default_callbacks(self):
        return [
            *super()._default_callbacks,
            ("finite_loss", StopOnNonFiniteLoss()),
            ("runaway_loss", StopOnRunawayLoss()),
        ]

    def fit_loop(self, X, y=None, **fit_params):
        try:
            return super().fit_loop(X, y, **fit_params)
        except KeyboardInterrupt as exc:
            if raised_by_callback(exc):
                raise  # skorch's way to end training early (EarlyStopping)
            if self.interrupt != "stop":
                raise Interrupted(exc) from None
            warnings.warn(
                f"Training was interrupted during epoch {len(self.history)} of "
                f"{self.max_epochs}; with interrupt='stop' fit returns the partly "
                "trained model.",
                UserWarning,
                stacklevel=2,
            )
            raise

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        # The runaway guard's reference comes with the data (StopOnRunawayLoss).
        self.baseline_loss_ = getattr(X, "baseline_loss", None)
        try:
            return super().partial_fit(X, y, classes, **fit_params)
        except Interrupted as exc:
            raise exc.interrupt from None

    def check_data(self, X, y=None):
        pass

    def _set_training(self, training=True):
        # skorch switches every submodule's mode before every batch; skip it when
        # the mode is already right (a measurable share of a small batch's time).
        if self.module_.training is not training or (
            self.criterion_.training is not training
        ):
            super()._set_training(training)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        if not self.train_split:
            return dataset, None
        codes = dataset.worms.codes
        split = worm_split(self.train_split, codes)
        # Only splitters that use groups get them: sklearn warns on every call
        # that the others (KFold, ...) ignore groups.
        uses_groups = not isinstance(split, ValidSplit) or cv_uses_groups(split.cv)
        groups = codes if uses_groups else None
        return split(dataset, dataset.split_y, groups=groups)

    def get_iterator(self, dataset, training=False):
        return WormBatches(
            dataset, self.batch_size, shuffle=training,
            generator=self.batch_generator_, net=self,
        )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weights = getattr(self, "batch_weights_", None)
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        # Per-row losses, weighted, then averaged over the batch: weights that
        # average to 1 (class_weight="balanced") keep the meaning of lr.
        criterion = self.criterion_
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            per_row = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = reduction
        per_row = per_row.reshape(per_row.shape[0], -1).mean(dim=1)
        return (per_row * weights).mean()


def cv_uses_groups(cv):
    """Whether a splitter's ``split`` consumes ``groups`` (GroupKFold does, KFold
    does not), read from sklearn's metadata routing."""
    if isinstance(cv, (numbers.Number, type(None))):
        return False
    try:
        return bool(get_routing_for_object(cv).consumes("split", ["groups"]))
    except (AttributeError, TypeError):
        return True  # a custom splitter without routing: give it the worms


def worm_split(train_split, worms):
    """``train_split`` with a number of folds or a fraction made worm-grouped.

    skorch's ``ValidSplit(5)`` / ``ValidSplit(0.2)`` splits frames (KFold,
    ShuffleSplit), mixing every worm into both sets; wormsk holds out whole worms
    instead: ``GroupKFold(5)`` (``StratifiedGroupKFold`` when stratified), or
    ``GroupShuffleSplit(test_size=0.2)``. A ValidSplit of an explicit splitter,
    and any other callable, is used as given.
    """
    if not isinstance(train_split, ValidSplit) or not isinstance(
        train_split.cv, numbers.Number
    ):
        return train_split
    cv, stratified = train_split.cv, train_split.stratified
    n_worms = len(np.unique(worms))
    fraction = not is_integer(cv)
    if fraction:
        if stratified:
            splitter = StratifiedGroupKFold(
                n_splits=max(2, round(1 / cv)), shuffle=True,
                random_state=train_split.random_state,
            )
        else:
            splitter = GroupShuffleSplit(
                n_splits=1, test_size=cv, random_state=train_split.random_state
            )
        needed = 2
    else:
        kind = StratifiedGroupKFold if stratified else GroupKFold
        splitter = kind(n_splits=int(cv))
        needed = int(cv)
    if n_worms < needed:
        raise ValueError(
            f"train_split=ValidSplit({cv!r}) holds out whole worms for validation "
            f"({type(splitter).__name__} on the worms), which needs at least "
            f"{needed} worms, but X has {n_worms}. Pass more worms, a smaller number "
            "of folds, or ValidSplit(KFold(...)) to split frames within worms "
            "(validation frames then come from the training worms)."
        )
    return ValidSplit(splitter, stratified=False)
