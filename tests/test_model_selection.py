from math import comb

import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from wormsk.exceptions import WormIdentityWarning
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.preprocessing import PerWormScaler


def table(lengths, names=None, n_features=2, seed=0):
    names = names or [f"w{i}" for i in range(len(lengths))]
    index = pd.MultiIndex.from_tuples(
        [(w, f) for w, n in zip(names, lengths) for f in range(n)],
        names=["worm", "frame"],
    )
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.standard_normal((len(index), n_features)), index=index)


groups_strategy = st.lists(st.sampled_from("abcdef"), min_size=2, max_size=60).filter(
    lambda g: len(set(g)) >= 2
)


# ---------------------------------------------------------------- LeaveWormsOut


@settings(max_examples=60, deadline=None)
@given(groups=groups_strategy, data=st.data())
def test_leave_worms_out_never_mixes_worms(groups, data):
    groups = np.array(groups)
    n_worms = len(set(groups))
    use_train = data.draw(st.booleans())
    k = data.draw(st.integers(1, n_worms - 1))
    cv = LeaveWormsOut(n_train_worms=k) if use_train else LeaveWormsOut(n_test_worms=k)
    X = np.zeros((len(groups), 1))
    splits = list(cv.split(X, groups=groups))
    assert len(splits) == comb(n_worms, k) == cv.get_n_splits(groups=groups)
    seen = set()
    for train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(len(X)))
        assert len(set(groups[train if use_train else test])) == k
        seen.add(frozenset(groups[train if use_train else test]))
    assert len(seen) == len(splits)  # every combination, once


@settings(max_examples=40, deadline=None)
@given(groups=groups_strategy)
def test_one_test_worm_tests_each_worm_exactly_once(groups):
    groups = np.array(groups)
    tested = np.zeros(len(groups), dtype=int)
    for _, test in LeaveWormsOut().split(np.zeros((len(groups), 3)), groups=groups):
        assert len(set(groups[test])) == 1
        tested[test] += 1
    np.testing.assert_array_equal(tested, 1)


def test_leave_worms_out_order_and_index_default():
    X = table([3, 2, 4], names=["c", "a", "b"])
    splits = list(LeaveWormsOut().split(X))
    # Worms in order of first appearance: c, a, b.
    assert [list(X.index[test].unique("worm")) for _, test in splits] == [
        ["c"], ["a"], ["b"]
    ]
    assert LeaveWormsOut().get_n_splits(X) == 3
    train_two = [list(X.index[tr].unique("worm"))
                 for tr, _ in LeaveWormsOut(n_train_worms=2).split(X)]
    assert train_two == [["c", "a"], ["c", "b"], ["a", "b"]]
    # Explicit groups win over the index.
    groups = ["x"] * 5 + ["y"] * 4
    assert LeaveWormsOut().get_n_splits(X, groups=groups) == 2


@pytest.mark.parametrize("cv, n_worms, match", [
    (LeaveWormsOut(), 1, r"LeaveWormsOut\(n_test_worms=1\) needs at least 2 worms "
                         r"\(1 to test and at least 1 to train\); got 1: \['w0'\]"),
    (LeaveWormsOut(n_test_worms=3), 3, "needs at least 4 worms"),
    (LeaveWormsOut(n_train_worms=3), 3, r"needs at least 4 worms \(3 to train"),
    (LeaveWormsOut(n_test_worms=1, n_train_worms=2), 3, "at most one of"),
    (LeaveWormsOut(n_test_worms=0), 3, "n_test_worms must be a positive integer"),
    (LeaveWormsOut(n_train_worms=1.5), 3, "n_train_worms must be a positive integer"),
])
def test_leave_worms_out_errors(cv, n_worms, match):
    X = table([4] * n_worms)
    with pytest.raises(ValueError, match=match):
        cv.split(X)
    with pytest.raises(ValueError, match=match):
        cv.get_n_splits(X)


def test_leave_worms_out_needs_worm_identity():
    with pytest.raises(ValueError, match="pass groups, or X as a DataFrame"):
        LeaveWormsOut().split(np.zeros((6, 2)))
    with pytest.raises(ValueError, match="needs the worms"):
        LeaveWormsOut().get_n_splits()
    with pytest.raises(ValueError, match="groups has 5 entries but X has 6 rows"):
        LeaveWormsOut().split(np.zeros((6, 2)), groups=[0, 0, 1, 1, 2])


# --------------------------------------------------------------- WormBlockKFold


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 60), min_size=1, max_size=4),
    n_splits=st.integers(2, 5),
    block_size=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_block_kfold_partitions_rows_in_worm_blocks(
    lengths, n_splits, block_size, seed
):
    X = table(lengths)
    worms = np.asarray(X.index.get_level_values("worm"))
    frames = np.asarray(X.index.get_level_values("frame"))
    cv = WormBlockKFold(n_splits=n_splits, block_size=block_size, random_state=seed)
    if min(lengths) < block_size * (n_splits - 1) + 1:
        with pytest.raises(ValueError, match="fewer than n_splits"):
            cv.split(X)
        return
    tested = np.zeros(len(X), dtype=int)
    fold_of = np.empty(len(X), dtype=int)
    for k, (train, test) in enumerate(cv.split(X)):
        np.testing.assert_array_equal(np.sort(np.r_[train, test]), np.arange(len(X)))
        assert set(worms[test]) == set(worms)  # every fold draws from every worm
        tested[test] += 1
        fold_of[test] = k
    np.testing.assert_array_equal(tested, 1)
    # A block is block_size consecutive frames of one worm, all in one fold.
    blocks = pd.DataFrame({"worm": worms, "block": frames // block_size,
                           "fold": fold_of})
    assert (blocks.groupby(["worm", "block"])["fold"].nunique() == 1).all()
    # Dealing continues across worms: fold block counts differ by at most one.
    per_fold = blocks.drop_duplicates(["worm", "block"])["fold"].value_counts()
    assert len(per_fold) == n_splits and per_fold.max() - per_fold.min() <= 1


def test_block_kfold_seed_and_shuffle():
    X = table([80, 96])

    def tests(cv):
        return [list(t) for _, t in cv.split(X)]

    seeded = tests(WormBlockKFold(random_state=0))
    assert seeded == tests(WormBlockKFold(random_state=0))
    assert seeded != tests(WormBlockKFold(random_state=1))
    unshuffled = tests(WormBlockKFold(n_splits=2, block_size=8, shuffle=False))
    assert unshuffled[0][:10] == [0, 1, 2, 3, 4, 5, 6, 7, 16, 17]
    assert WormBlockKFold(n_splits=4).get_n_splits() == 4


def test_block_kfold_defaults_to_index_then_one_worm():
    X = table([40, 40])
    from_index = [t for _, t in WormBlockKFold(n_splits=4, random_state=0).split(X)]
    from_groups = [t for _, t in WormBlockKFold(n_splits=4, random_state=0).split(
        X.to_numpy(), groups=X.index.get_level_values("worm"))]
    for a, b in zip(from_index, from_groups):
        np.testing.assert_array_equal(a, b)
    # No groups and no index: one worm of 80 frames, with a warning.
    with pytest.warns(WormIdentityWarning, match="WormBlockKFold.split received 80"):
        one = list(WormBlockKFold(n_splits=10, random_state=0).split(X.to_numpy()))
    assert len(one) == 10 and all(len(t) == 8 for _, t in one)


@pytest.mark.parametrize("cv, lengths, match", [
    (WormBlockKFold(n_splits=2), [20, 5], r"Worm 'w1' has 5 frames, which make 1 "
                                          r"block\(s\) of block_size=8"),
    (WormBlockKFold(), [100, 70], r"Worm 'w1'.*needs at least 73 frames"),
    (WormBlockKFold(n_splits=1), [100], "n_splits must be at least 2"),
    (WormBlockKFold(block_size=0), [100], "block_size must be a positive integer"),
    (WormBlockKFold(shuffle=False, random_state=0), [100], "shuffle is False"),
    (WormBlockKFold(random_state="a"), [100], r"random_state must be None, an int "
                                              r"in \[0, 2\*\*32 - 1\].*got 'a'"),
    (WormBlockKFold(random_state=-1), [100], "random_state must be None"),
])
def test_block_kfold_errors(cv, lengths, match):
    with pytest.raises(ValueError, match=match):
        cv.split(table(lengths))


def test_block_kfold_refuses_disordered_recordings():
    X = table([30, 30])
    with pytest.raises(ValueError, match=r"Frames of worm 'w0' are out of order"):
        WormBlockKFold(n_splits=2).split(X.iloc[[1, 0] + list(range(2, 60))])
    with pytest.raises(ValueError, match=r"more than one row for worm 'w1', frame 3"):
        WormBlockKFold(n_splits=2).split(pd.concat([X, X.iloc[[33]]]))


# ------------------------------------------------------- sklearn integration


def _problem():
    X = table([40, 40, 40, 40], n_features=3, seed=1)
    y = (X[0] + 0.1 * X[1] > 0).map({True: "fwd", False: "rev"}).to_numpy()
    return X, y, np.asarray(X.index.get_level_values("worm"))


def _test_indices(result):
    return [list(t) for t in result["indices"]["test"]]


@pytest.mark.parametrize("cv", [LeaveWormsOut(), LeaveWormsOut(n_train_worms=2),
                                WormBlockKFold(n_splits=4, random_state=0)])
def test_splitters_in_cross_validate_and_grid_search(cv):
    X, y, groups = _problem()
    pipe = make_pipeline(PerWormScaler(), LogisticRegression())
    n = cv.get_n_splits(X)
    from_index = cross_validate(pipe, X, y, cv=cv, return_indices=True)
    # groups reach the splitter only: the scaler takes each numpy fold as one
    # worm, and says so.
    with pytest.warns(WormIdentityWarning, match="PerWormScaler.transform"):
        from_groups = cross_validate(pipe, X.to_numpy(), y, groups=groups, cv=cv,
                                     return_indices=True)
    assert len(from_index["test_score"]) == n
    assert from_index["test_score"].mean() > 0.8
    assert _test_indices(from_index) == _test_indices(from_groups)
    search = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0]}, cv=cv)
    search.fit(X, y)
    assert search.n_splits_ == n
    assert search.best_score_ == pytest.approx(
        cross_validate(search.best_estimator_, X, y, cv=cv)["test_score"].mean()
    )


@pytest.mark.parametrize("cv", [LeaveWormsOut(), WormBlockKFold(n_splits=4,
                                                                random_state=0)])
def test_splitters_request_groups_through_metadata_routing(cv):
    X, y, groups = _problem()
    values = X.to_numpy()
    reference = cross_validate(make_pipeline(PerWormScaler(), LogisticRegression()),
                               X, y, cv=cv, return_indices=True)
    with sklearn.config_context(enable_metadata_routing=True):
        assert cv.get_metadata_routing().split.requests == {"groups": True}
        scaler = PerWormScaler().set_transform_request(groups=True)
        pipe = make_pipeline(scaler, LogisticRegression())
        routed = cross_validate(pipe, values, y, cv=cv, params={"groups": groups},
                                return_indices=True)
        search = GridSearchCV(pipe, {"logisticregression__C": [0.01, 1.0]}, cv=cv)
        search.fit(values, y, groups=groups)
    assert _test_indices(routed) == _test_indices(reference)
    assert search.n_splits_ == cv.get_n_splits(X)
    if isinstance(cv, LeaveWormsOut):
        # One test worm per fold: scaled identically with or without its label,
        # and the training worms each by their own routed groups.
        np.testing.assert_allclose(routed["test_score"], reference["test_score"])
