import numpy as np
import pandas as pd
import pytest

from wormsk._utils import (
    check_positive_int,
    frame_labels,
    get_worms,
    n_neurons_from_width,
    neuron_names,
    worm_indices,
)


def test_get_worms_from_index_groups_and_default():
    idx = pd.MultiIndex.from_tuples(
        [("a", 0), ("a", 1), ("b", 0)], names=["worm", "frame"]
    )
    X = pd.DataFrame(np.zeros((3, 2)), index=idx)
    assert list(get_worms(X)) == ["a", "a", "b"]
    assert list(get_worms(X, groups=[1, 2, 2])) == [1, 2, 2]
    assert list(get_worms(np.zeros((3, 2)))) == [0, 0, 0]
    with pytest.raises(ValueError, match="groups has 2 entries but X has 3 rows"):
        get_worms(X, groups=[1, 2])


def test_worm_indices_keep_first_appearance_and_time_order():
    worms = np.array(["b", "b", "a", "b", "a"])
    out = worm_indices(worms)
    assert [w for w, _ in out] == ["b", "a"]
    np.testing.assert_array_equal(out[0][1], [0, 1, 3])
    np.testing.assert_array_equal(out[1][1], [2, 4])


def test_width_and_names():
    assert n_neurons_from_width(6, 2) == 3
    with pytest.raises(ValueError, match="not a multiple of n_channels=2"):
        n_neurons_from_width(5, 2)
    cols = ["AVAL_trace", "AVAL_deriv", "RID_trace", "RID_deriv"]
    assert neuron_names(cols, 2) == ["AVAL", "RID"]
    assert neuron_names(list(range(4)), 1) == ["n0", "n1", "n2", "n3"]


def test_check_recording_index_refuses_duplicates_and_disorder():
    from wormsk._utils import check_recording_index

    def table(pairs):
        idx = pd.MultiIndex.from_tuples(pairs, names=["worm", "frame"])
        return pd.DataFrame(np.zeros((len(pairs), 2)), index=idx)

    # Worms may interleave as long as each is in time order.
    check_recording_index(table([("a", 0), ("b", 0), ("a", 1), ("b", 1)]))
    check_recording_index(np.zeros((3, 2)))  # arrays carry no index to check
    with pytest.raises(ValueError, match=r"more than one row for worm 'a', frame 1"):
        check_recording_index(table([("a", 0), ("a", 1), ("a", 1)]))
    with pytest.raises(ValueError, match=r"worm 'b' are out of order: frame 0 comes"):
        check_recording_index(table([("a", 0), ("b", 1), ("b", 0)]))


def test_positive_int_accepts_numpy_integers_and_returns_int():
    for value in (3, np.int64(3), np.uint8(3)):
        out = check_positive_int(value, "size")
        assert out == 3 and type(out) is int
    for bad in (0, -1, 2.0, True, np.bool_(True), "3", None):
        with pytest.raises(ValueError, match="size must be a positive integer"):
            check_positive_int(bad, "size")
    out = n_neurons_from_width(np.int64(6), np.int64(2))
    assert out == 3 and type(out) is int
    with pytest.raises(ValueError, match="n_channels must be a positive integer"):
        n_neurons_from_width(6, 0)


def test_frame_labels_only_from_a_frame_level():
    idx = pd.MultiIndex.from_tuples([("a", 4), ("a", 7)], names=["worm", "frame"])
    np.testing.assert_array_equal(frame_labels(pd.DataFrame(index=idx)), [4, 7])
    assert frame_labels(pd.DataFrame(index=[4, 7])) is None
    assert frame_labels(np.zeros((2, 1))) is None
