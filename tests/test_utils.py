import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wormsk._utils import (
    check_positive_int,
    frame_labels,
    n_neurons_from_width,
    neuron_names,
)
from wormsk._worms import get_worms
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets


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
    # ints and floats sort together; the message names the first label that
    # does not sort with row 0's
    assert list(get_worms(X, groups=[1, 2.5, 1])) == [1, 2.5, 1]
    with pytest.raises(TypeError, match=r"row 0 is 1 \(int\), row 2 is 'a' \(str\)"):
        get_worms(X, groups=np.array([1, 2.5, "a"], dtype=object))
    tuples = np.empty(3, dtype=object)
    tuples[:] = [(1, 2), (1, 2), (3, 4)]
    with pytest.raises(TypeError, match=r"strings or numbers; row 0 is \(1, 2\)"):
        get_worms(X, groups=tuples)


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


# ---------------------------------------------------------------------------
# column layouts that lie (issue 14, item 5)

_NEURONS = ["AVAL", "AVAR", "RIML", "VB01", "SMDVL", "ALA"]


def _split(column):
    neuron, _, channel = column.rpartition("_")
    return neuron, channel


def _breaks_layout(cols, j, k):
    """Whether column ``j`` is the first to break the neuron-major layout."""
    def fine(i):
        neuron, channel = _split(cols[i])
        lead = i - i % k
        if neuron != _split(cols[lead])[0] or channel != _split(cols[i % k])[1]:
            return False
        return i % k or neuron not in {_split(c)[0] for c in cols[:lead]}
    return all(fine(i) for i in range(j)) and not fine(j)


@settings(max_examples=150, deadline=None)
@given(
    neurons=st.lists(st.sampled_from(_NEURONS), min_size=1, max_size=5, unique=True),
    channels=st.lists(st.sampled_from(["trace", "deriv", "raw"]), min_size=2,
                      max_size=3, unique=True),
    data=st.data(),
)
def test_named_columns_must_be_neuron_major(neurons, channels, data):
    k = len(channels)
    major = [f"{n}_{c}" for n in neurons for c in channels]
    assert neuron_names(major, k) == neurons
    cols = data.draw(st.permutations(major))
    blocks = [cols[i:i + k] for i in range(0, len(cols), k)]
    valid = all(len({_split(c)[0] for c in b}) == 1 for b in blocks) and all(
        [_split(c)[1] for c in b] == [_split(c)[1] for c in blocks[0]]
        for b in blocks
    )
    if valid:  # whole neurons reordered, or every neuron's channels alike
        assert neuron_names(cols, k) == [_split(b[0])[0] for b in blocks]
        return
    with pytest.raises(ValueError, match=r"Column (\d+) \('(\w+)'\)") as err:
        neuron_names(cols, k)
    j = int(err.value.args[0].split()[1])
    assert f"Column {j} ({cols[j]!r})" in str(err.value)
    assert _breaks_layout(cols, j, k)


def test_channel_major_and_other_lies_are_named():
    channel_major = ["AVAL_trace", "AVAR_trace", "AVAL_deriv", "AVAR_deriv"]
    with pytest.raises(ValueError, match=r"Column 1 \('AVAR_trace'\) names another "
                                         r"neuron than column 'AVAL_trace' with the "
                                         r"same channel \(a channel-major table\?\)"):
        neuron_names(channel_major, 2)
    with pytest.raises(ValueError, match=r"Column 2 \('AVAR'\) is not of the form "
                                         "<NEURON>_<channel>"):
        neuron_names(["AVAL_trace", "AVAL_deriv", "AVAR", "AVAR_deriv"], 2)
    with pytest.raises(ValueError, match=r"Column 2 \('AVAL_trace'\) repeats neuron "
                                         r"'AVAL' \(already at column 0\)"):
        neuron_names(["AVAL_trace", "AVAL_deriv"] * 2, 2)
    # one channel per column: every column is a node, names kept distinct
    assert neuron_names(["AVAL_trace", "AVAR_trace"], 1) == ["AVAL", "AVAR"]
    assert neuron_names(["col_0", "col_1"], 1) == ["col_0", "col_1"]
    assert neuron_names([0, 1, 2, 3], 2) == ["n0", "n1"]


def test_estimators_refuse_a_channel_major_table():
    from wormsk.datasets import make_worms
    from wormsk.models import MLPClassifier

    X, y = make_worms(n_worms=2, n_frames=20, neurons=["AVAL", "AVAR"],
                      random_state=0, return_X_y=True)
    lying = X[["AVAL_trace", "AVAR_trace", "AVAL_deriv", "AVAR_deriv"]]
    with pytest.raises(ValueError, match=r"Column 1 \('AVAR_trace'\).*channel-major"):
        MLPClassifier(max_epochs=1).fit(lying, y)
    assert MLPClassifier(max_epochs=1).fit(X, y).neuron_names_ == ["AVAL", "AVAR"]


# ---------------------------------------------------------------------------
# frame and worm labels


def _table(worms, frames):
    idx = pd.MultiIndex.from_arrays([worms, frames], names=["worm", "frame"])
    return pd.DataFrame(np.arange(2.0 * len(worms)).reshape(-1, 2), index=idx)


def test_text_frame_labels_are_refused_with_a_conversion_that_works():
    from wormsk._utils import check_recording_index

    frames = [str(f) for f in range(12)]  # "10" sorts before "9" as text
    X = _table(["a"] * 12, frames)
    with pytest.raises(ValueError, match=r"Frame labels must be numbers .* worm 'a' "
                                         r"has frame '0' \(str\).*sort_index") as err:
        check_recording_index(X)
    fix = str(err.value).split("e.g. ")[1].rstrip(".")
    scope = {"X": X.sort_index()}  # in text order, as a user may have it
    exec(fix, scope)
    fixed = scope["X"]
    check_recording_index(fixed)
    assert list(fixed.index.get_level_values("frame")) == list(range(12))
    with pytest.raises(ValueError, match="Frame labels must be numbers"):
        make_trajectory_targets(X, horizon=2)
    with pytest.raises(ValueError, match="Frame labels must be numbers"):
        list(WormBlockKFold(n_splits=2, block_size=2).split(X))
    with pytest.raises(ValueError, match=r"has frame False \(bool\)\. Convert"):
        check_recording_index(_table(["a", "a"], [False, True]))
    # numbers in an object index are numbers; times are times
    check_recording_index(_table(["a", "a"], pd.Index([0, 1], dtype=object)))
    check_recording_index(_table(["a", "a"], pd.to_timedelta([0, 1], unit="s")))


def test_nan_frame_label_is_refused_naming_the_worm():
    from wormsk._utils import check_recording_index

    X = _table(["a", "a", "b", "b"], [0.0, 1.0, 0.0, np.nan])
    with pytest.raises(ValueError, match=r"Worm 'b' has a missing \(NaN\) frame "
                                         r"label at row 3 \(1 such rows"):
        check_recording_index(X)
    with pytest.raises(ValueError, match="missing"):
        make_trajectory_targets(X, horizon=1)


@pytest.mark.parametrize("groups, error, match", [
    ([1, "a", 1, "a"], TypeError, r"mix types: row 0 is 1 \(int\), row 1 is 'a'"),
    (np.array(["a", 2, "a", 2], dtype=object), TypeError,
     r"mix types: row 0 is 'a' \(str\), row 1 is 2 \(int\)"),
    (["a", None, "b", "b"], ValueError, r"are missing \(None or NaN\) in 1 row\(s\), "
                                         "the first at row 1"),
    ([0.0, 0.0, np.nan, 1.0], ValueError, "are missing .* the first at row 2"),
])  # fmt: skip
def test_bad_worm_labels_are_refused_everywhere(groups, error, match):
    X = np.arange(8.0).reshape(4, 2)
    with pytest.raises(error, match="Worm labels in groups " + match):
        get_worms(X, groups)
    with pytest.raises(error, match=match):
        PerWormScaler().fit_transform(X, groups=groups)
    with pytest.raises(error, match=match):
        list(LeaveWormsOut().split(X, groups=groups))
    with pytest.raises(error, match=match):
        list(WormBlockKFold(n_splits=2, block_size=1).split(X, groups=groups))
    with pytest.raises(error, match=match):
        make_trajectory_targets(X, horizon=1, groups=groups)
    indexed = _table(np.asarray(groups, dtype=object), [0, 1, 2, 3])
    with pytest.raises(error, match="index level 'worm' " + match):
        PerWormScaler().fit_transform(indexed)
    # one type, as the message suggests, works
    if error is TypeError:
        get_worms(X, np.asarray(groups, dtype=str))
