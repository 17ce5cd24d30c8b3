"""Fixtures shared by several test modules."""

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
