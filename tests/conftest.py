"""Fixtures shared by several test modules."""

import numpy as np
import pytest
import torch

from wormsk.datasets import make_worms
from wormsk.preprocessing import PerWormScaler


@pytest.fixture
def one_thread():
    """Run the test with one torch thread, restoring the caller's setting after.

    The estimators train with one thread: reference loops must too, to sum in the
    same order. And the tensors in these tests are tiny: thread start-up dominates,
    and on a busy machine spinning OpenMP workers make the tests several times
    slower. Modules opt in with ``pytestmark = pytest.mark.usefixtures(...)``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def rec():
    """3 simulated worms x 60 frames (sim0, sim1, sim2), 15 neurons, scaled per worm."""
    X, y = make_worms(n_worms=3, n_frames=60, random_state=0, return_X_y=True)
    return PerWormScaler().fit_transform(X), y


# The model tests' data. Some modules (experiments, performance, preprocessing)
# define a ``worms`` of their own, which takes precedence there.
@pytest.fixture(scope="module")
def worms():
    """4 simulated worms x 600 frames, scaled per worm (DataFrame kept)."""
    X, y = make_worms(n_worms=4, n_frames=600, random_state=0, return_X_y=True)
    Xs = PerWormScaler().set_output(transform="pandas").fit_transform(X)
    return X, Xs, y


@pytest.fixture(scope="module")
def small():
    """2 worms x 120 frames: fast fits for behaviour (not accuracy) tests."""
    X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
    Xs = PerWormScaler().set_output(transform="pandas").fit_transform(X)
    return Xs, y


@pytest.fixture(scope="module")
def union():
    """Three scaled simulated worms; neurons absent from some worms."""
    X, y = make_worms(n_worms=3, n_frames=160, random_state=0, return_X_y=True)
    X = PerWormScaler().fit_transform(X)
    worms = X.index.get_level_values("worm")
    names = [c[: -len("_trace")] for c in X.columns[::2]]
    gone = {"sim1": [names[1], names[5]], "sim2": [names[5], names[9]]}
    for worm, neurons in gone.items():
        for name in neurons:
            X.loc[worms == worm, [f"{name}_trace", f"{name}_deriv"]] = np.nan
    return X, y, names, gone

