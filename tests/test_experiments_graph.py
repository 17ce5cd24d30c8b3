import numpy as np
import pytest

from wormsk import experiments as ex
from wormsk.datasets import KATO_SHARED_NEURONS, make_worms


@pytest.fixture(scope="module")
def worms():
    return make_worms(n_worms=3, n_frames=400, random_state=0)


def test_inferred_graph_and_connectome(worms):
    res = ex.inferred_graph(worms, preset="tiny")
    names = list(KATO_SHARED_NEURONS)
    assert res.worm == "sim2" and res.unseen
    assert list(res.graph.index) == names and list(res.graph.columns) == names
    values = res.graph.to_numpy()
    assert np.isfinite(values).all() and (values > 0).all() and (values < 1).all()
    conn = res.connectome
    assert list(conn.index) == names
    assert conn.to_numpy().max() == pytest.approx(1.0)
    np.testing.assert_allclose(conn.to_numpy(), conn.to_numpy().T)
    # AVA and AIB are synaptically connected (White et al. 1986).
    assert conn.loc["AVAL", "AIBL"] > 0 or conn.loc["AVAR", "AIBR"] > 0


def test_inferred_graph_of_a_single_worm_says_it_was_trained_on():
    one = make_worms(n_worms=1, n_frames=300, random_state=0)
    res = ex.inferred_graph(one, preset="tiny")
    assert res.worm == "sim0" and not res.unseen
