"""load_connectome and split_known_neurons (real wormneuroatlas tables)."""


import numpy as np
import pytest

from wormsk.datasets import (
    KATO_SHARED_NEURONS,
    load_connectome,
    make_worms,
    split_known_neurons,
)

# ---------------------------------------------------------------------------
# connectome (the real wormneuroatlas tables)


def test_load_connectome_white1986():
    A = load_connectome(KATO_SHARED_NEURONS)
    assert A.shape == (15, 15)
    assert list(A.index) == list(KATO_SHARED_NEURONS) == list(A.columns)
    assert np.all(np.diag(A) == 0) and (A.to_numpy() >= 0).all()
    # White et al. 1986: AVAR -> AVAL 1 chemical, AVAL -> AVAR 2, 5 gap junctions
    assert A.loc["AVAL", "AVAR"] == 1 + 5 and A.loc["AVAR", "AVAL"] == 2 + 5
    chem = load_connectome(["AVAL", "AVAR"], kind="chemical")
    assert chem.loc["AVAL", "AVAR"] == 1 and chem.loc["AVAR", "AVAL"] == 2
    gap = load_connectome(KATO_SHARED_NEURONS, kind="electrical")
    np.testing.assert_array_equal(gap, gap.T)
    # VB01 in recordings is VB1 in the tables
    assert A.loc["VB01"].sum() + A["VB01"].sum() > 0
    np.testing.assert_array_equal(
        load_connectome(KATO_SHARED_NEURONS, orientation="pre_post"), A.T
    )
    sym = load_connectome(KATO_SHARED_NEURONS, symmetrize=True)
    np.testing.assert_allclose(sym, (A + A.T) / 2)
    rows = load_connectome(KATO_SHARED_NEURONS, normalize="row").sum(axis=1)
    assert np.allclose(rows[rows > 0], 1.0)
    assert load_connectome(KATO_SHARED_NEURONS, normalize="max").to_numpy().max() == 1
    assert not load_connectome(["AVAL", "AVAR"], source="witvliet2020_8").empty


def test_load_connectome_errors():
    with pytest.raises(ValueError, match=r"\['N015'\] are not in the white1986"):
        load_connectome(["AVAL", "N015"])
    zero = load_connectome(["AVAL", "N015"], missing="zero")
    assert zero.loc["N015"].sum() == 0
    with pytest.raises(ValueError, match="Unknown connectome source"):
        load_connectome(["AVAL"], source="cook2019")
    with pytest.raises(ValueError, match="duplicates"):
        load_connectome(["VB01", "VB1"])
    with pytest.raises(TypeError, match="neurons must be a list of names; got None"):
        load_connectome(None)
    with pytest.raises(ValueError, match="symmetrize must be True or False"):
        load_connectome(["AVAL", "AVAR"], symmetrize="yes")


def test_connectome_table_is_parsed_once_and_never_shared():
    from wormsk.datasets import _connectome

    _connectome._edges.cache_clear()
    first = load_connectome(["AVAL", "AVAR", "AVBL"])
    first.iloc[0, 1] = 1e6
    again = load_connectome(["AVAL", "AVAR", "AVBL"])
    assert again.iloc[0, 1] != 1e6
    assert _connectome._edges.cache_info().misses == 1
    known, absent = split_known_neurons(["vb01", "N015", "AVAL", "SIM7"])
    assert (known, absent) == (["vb01", "AVAL"], ["N015", "SIM7"])
    assert _connectome._edges.cache_info().misses == 1


def test_split_known_neurons_refuses_what_load_connectome_refuses():
    assert split_known_neurons(["AVAL"], source="witvliet2020_8") == (["AVAL"], [])
    for bad, error in ((None, TypeError), (["VB01", "VB1"], ValueError),
                       ([], ValueError)):  # fmt: skip
        with pytest.raises(error) as split_err:
            split_known_neurons(bad)
        with pytest.raises(error) as load_err:
            load_connectome(bad)
        assert str(split_err.value) == str(load_err.value)
    with pytest.raises(ValueError, match="Unknown connectome source 'cook2019'"):
        split_known_neurons(["AVAL"], source="cook2019")


def test_neuron_list_keeps_every_message():
    from wormsk.datasets._connectome import _canonical
    from wormsk.datasets._constants import neuron_list

    assert neuron_list(("AVAL", 7)) == ["AVAL", "7"]
    assert neuron_list([], allow_empty=True) == []
    with pytest.raises(ValueError, match="got the string 'AVAL'"):
        neuron_list("AVAL")
    with pytest.raises(ValueError, match="at least one neuron"):
        neuron_list([])
    with pytest.raises(ValueError, match=r"duplicates: \['AVAL'\]"):
        neuron_list(["AVAL", "AVAR", "AVAL"])
    assert neuron_list(["VB01", "VB1"]) == ["VB01", "VB1"]
    with pytest.raises(ValueError, match=r"duplicates: \['VB01', 'VB1'\]"):
        neuron_list(["VB01", "VB1"], key=_canonical)
    for bad in ("AVAL", [], ["AVAL", "AVAL"]):
        with pytest.raises(ValueError, match="neurons"):
            make_worms(n_worms=1, n_frames=10, neurons=bad)
