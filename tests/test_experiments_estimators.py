import pytest

from wormsk import experiments as ex
from wormsk.datasets import KATO_SHARED_NEURONS, make_worms, split_known_neurons


def test_connectome_adjacency_warns_about_unknown_neurons():
    with pytest.warns(UserWarning, match="SIM7"):
        adj = ex.connectome_adjacency(["AVAL", "AVAR", "SIM7"])
    assert (adj.loc["SIM7"] == 0).all() and (adj["SIM7"] == 0).all()
    assert adj.loc[["AVAL", "AVAR"], ["AVAL", "AVAR"]].to_numpy().max() > 0


def test_split_known_neurons_is_one_lookup_in_the_given_order():
    names = make_worms(n_worms=1, n_frames=10, n_neurons=302, random_state=0)
    known, missing = split_known_neurons(names.neuron_names)
    assert known == list(KATO_SHARED_NEURONS)
    assert len(missing) == 287 and missing[0] == "N015"
    assert split_known_neurons(["SIM7", "VB1", "AVAL"]) == (
        ["VB1", "AVAL"],
        ["SIM7"],
    )
    with pytest.raises(ValueError, match="duplicates"):
        split_known_neurons(["VB01", "VB1"])
