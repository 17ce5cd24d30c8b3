"""Hypothesis strategies shared by the property tests: random recording tables."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
NEURONS = ["AVAL", "AVAR", "AVBL", "RIML", "SMDVL"]
WORM_LABELS = st.one_of(
    st.lists(st.text("abcxyz_0123456789", min_size=1, max_size=6), min_size=1,
             max_size=4, unique=True),
    st.lists(st.integers(-5, 50), min_size=1, max_size=4, unique=True),
)


@st.composite
def recordings(draw, neurons=None, max_len=30, nan=True):
    """A recording table: DataFrame indexed by (worm, frame), neuron-major columns."""
    worms = draw(WORM_LABELS)
    if neurons is None:
        neurons = NEURONS[: draw(st.integers(1, len(NEURONS)))]
    n_cols = 2 * len(neurons)
    blocks, index = [], []
    for worm in worms:
        n = draw(st.integers(1, max_len))
        # frame numbers increase, with occasional gaps (dropped frames)
        steps = draw(st.lists(st.sampled_from([1, 1, 1, 2, 5]), min_size=n,
                              max_size=n))
        frames = draw(st.integers(0, 100)) + np.cumsum(steps)
        scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 1e4]))
        offset = draw(st.floats(-1e3, 1e3))
        seed = draw(st.integers(0, 2**16))
        values = offset + scale * np.random.default_rng(seed).standard_normal(
            (n, n_cols))
        blocks.append(values)
        index += [(worm, int(f)) for f in frames]
    data = np.concatenate(blocks)
    if nan:
        n_nan = draw(st.integers(0, 3))
        for _ in range(n_nan):
            data[draw(st.integers(0, len(data) - 1)),
                 draw(st.integers(0, n_cols - 1))] = np.nan
    columns = [f"{n}_{c}" for n in neurons for c in ("trace", "deriv")]
    index = pd.MultiIndex.from_tuples(index, names=["worm", "frame"])
    return pd.DataFrame(data, index=index, columns=columns)


def plain(value):
    """np.int64(3) -> 3, as error messages print worm labels."""
    return value.item() if isinstance(value, np.generic) else value


def rows_by_worm(X):
    worms = np.asarray(X.index.get_level_values("worm"))
    return {plain(w): np.flatnonzero(worms == w) for w in pd.unique(worms)}
