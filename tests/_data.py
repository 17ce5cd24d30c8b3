"""Helpers shared by several test modules: training data and a torch op log."""

from collections import Counter

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.preprocessing import make_trajectory_targets

CLASSIFIERS = (MLPClassifier, GNNClassifier)
REGRESSORS = (MLPRegressor, GNNRegressor, GRURegressor)
ESTIMATORS = CLASSIFIERS + REGRESSORS
#: One epoch, seeded: the settings of tests that check behaviour, not quality.
FAST = dict(max_epochs=1, random_state=0)
#: For ``pytestmark``: predicting numpy after fitting a DataFrame is deliberate in
#: the model tests, and sklearn warns about it every time.
FEATURE_NAMES_OK = pytest.mark.filterwarnings(
    "ignore:X does not have valid feature names:UserWarning"
)


def training_data(cls, rec):
    """Training data for ``cls``: frames and labels, or frames and 3-frame targets.

    ``rec`` is the ``(X, y)`` of the ``rec`` fixture (tests/conftest.py).
    """
    X, y = rec
    if cls in CLASSIFIERS:
        return X, y
    return make_trajectory_targets(X, horizon=3)


def swap_first_neurons(X):
    """``X`` with its first two neurons' column pairs swapped (same columns, moved)."""
    cols = list(X.columns)
    cols[0:2], cols[2:4] = cols[2:4], cols[0:2]
    return X[cols]


class OpLog(TorchDispatchMode):
    """Every aten operation run inside (forward, backward and optimizer alike).

    Unlike a ``TorchFunctionMode``, which sees only the calls made from Python, a
    dispatch mode sees the operations autograd runs in backward as well.
    """

    def __init__(self):
        super().__init__()
        self.ops = Counter()
        self.tensors = []  # (op, dtype, shape) of every tensor an op takes or makes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.ops[str(func)] += 1
        for t in tree_leaves((args, kwargs, out)):
            if isinstance(t, torch.Tensor):
                self.tensors.append((str(func), t.dtype, tuple(t.shape)))
        return out

    @property
    def count(self):
        return sum(self.ops.values())
