"""State vocabularies and map_states, pinned against written-out tables."""


import numpy as np
import pandas as pd
import pytest
from _studies import NAMED, make_sim3, rewrite_nichols, write_kato, write_nichols
from sklearn.utils import Bunch

from wormsk.datasets import (
    FOUR_STATES,
    KATO_STATES,
    load_kato2015,
    load_nichols2017,
    make_worms,
    map_states,
)

sim3 = pytest.fixture(make_sim3, scope="module", name="sim3")


# ---------------------------------------------------------------------------
# map_states


# Written out here, never read from the library: a wrong entry in a table of
# wormsk.datasets._constants must fail these tests (issue 14, item 15).
KATO_SEVEN = ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")
NICHOLS_CODES = {1: "Reversal", 2: "Forward", 3: "Quiescence", 4: "Turn"}
EXPECTED_MAPPINGS = {
    "four": {
        "fwd": "forward", "slow": "forward",
        "rev1": "reverse", "rev2": "reverse", "revsus": "reverse",
        "dt": "dorsal_turn", "vt": "ventral_turn", "nostate": None,
        "Forward": "forward", "Reversal": "reverse",
        "Turn": None, "Quiescence": None,
        "forward": "forward", "reverse": "reverse",
        "dorsal_turn": "dorsal_turn", "ventral_turn": "ventral_turn",
    },
    "fwd_rev": {
        "fwd": "forward", "slow": "forward",
        "rev1": "reverse", "rev2": "reverse", "revsus": "reverse",
        "dt": None, "vt": None, "nostate": None,
        "Forward": "forward", "Reversal": "reverse",
        "Turn": None, "Quiescence": None,
        "forward": "forward", "reverse": "reverse",
        "dorsal_turn": None, "ventral_turn": None,
    },
}  # fmt: skip


@pytest.mark.parametrize("mapping", sorted(EXPECTED_MAPPINGS))
def test_every_state_mapping_is_pinned(mapping):
    expected = EXPECTED_MAPPINGS[mapping]
    names = list(expected)
    assert map_states(names, mapping).tolist() == [expected[n] for n in names]
    # every state the library knows is pinned here
    from wormsk.datasets import NICHOLS_STATES

    assert set(KATO_STATES) | set(NICHOLS_STATES) | set(FOUR_STATES) <= set(names)
    assert KATO_STATES == KATO_SEVEN
    assert NICHOLS_STATES == tuple(NICHOLS_CODES.values())


def test_map_states():
    assert map_states(["Turn"], {"Turn": "ventral_turn"}).tolist() == ["ventral_turn"]
    assert map_states(["fwd", "walk"], {"fwd": "f"}).tolist() == ["f", None]
    with pytest.raises(ValueError, match=r"Cannot map state\(s\) \['walk'\]"):
        map_states(["walk"], "four")
    with pytest.raises(ValueError, match="Unknown state mapping"):
        map_states(["fwd"], "three")


def _every_kato_state(sim3):
    """sim3 with every Kato state in every worm (some simulated worms lack one)."""
    bunch = Bunch(**sim3)
    bunch.target = sim3.target.copy()
    for worm in pd.unique(sim3.groups):
        rows = np.flatnonzero(sim3.groups == worm)
        bunch.target[rows[10:10 + 7 * 3]] = np.repeat(KATO_SEVEN, 3)
    return bunch


@pytest.mark.parametrize("states", ["kato7", "four", "fwd_rev"])
def test_load_kato_labels_follow_the_written_out_tables(tmp_path, sim3, states):
    y_file = write_kato(tmp_path / "k.mat", _every_kato_state(sim3))
    assert set(y_file) == set(KATO_SEVEN) | {"nostate"}
    got = load_kato2015(tmp_path / "k.mat", neurons=NAMED, states=states,
                        nostate="label")  # fmt: skip
    table = {s: s for s in KATO_SEVEN} if states == "kato7" else {
        k: v for k, v in EXPECTED_MAPPINGS[states].items() if k in KATO_SEVEN
    }
    expected = [table.get(s) or "nostate" for s in y_file]
    assert got.target.tolist() == expected


@pytest.mark.parametrize("states", ["nichols4", "four", "fwd_rev"])
def test_load_nichols_labels_follow_the_written_out_tables(tmp_path, states):
    sim = make_worms(n_worms=2, n_frames=60, neurons=["AVAL", "AVBL"], random_state=4)
    path = tmp_path / "n2_prelet.mat"
    fields = write_nichols(path, sim)
    for f in fields:  # every code, then the unannotated 0 and NaN
        f["States"][1:7] = [1, 2, 3, 4, 0, np.nan]
    rewrite_nichols(path, fields)
    got = load_nichols2017(path, neurons=["AVAL"], states=states, nostate="label")
    table = {n: n for n in NICHOLS_CODES.values()} if states == "nichols4" else {
        k: v for k, v in EXPECTED_MAPPINGS[states].items()
        if k in NICHOLS_CODES.values()
    }
    expected = []
    for f in fields:
        codes = f["States"][1:]  # frame 0 has no backward difference
        names = [NICHOLS_CODES.get(c) for c in codes]
        expected += [table.get(n) or "nostate" for n in names]
    assert got.target.tolist() == expected
