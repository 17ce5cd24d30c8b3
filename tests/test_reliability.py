"""Bad input across wormsk: every case gets a clear error or a documented handling.

Each item of issue 7's "Bad input" list is exercised here on every public
estimator (where it applies), on PerWormScaler, on make_trajectory_targets, on
the splitters and on the MAT-file loaders. An error must be a ValueError (or
TypeError) whose message names what is at fault (worm, frame range, column,
parameter, file, field or neuron); nothing the caller passed may change.
"""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.io
import torch
from _data import (
    CLASSIFIERS,
    ESTIMATORS,
    FAST,
    REGRESSORS,
    swap_first_neurons,
    training_data,
)
from _matfile import Cell, write_mat73
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from skorch.callbacks import EpochScoring

from wormsk.datasets import load_kato2015, load_nichols2017, make_worms
from wormsk.model_selection import LeaveWormsOut, WormBlockKFold
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
)
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets


@pytest.fixture(scope="module")
def fitted(rec):
    """One fitted model of every estimator class (reused by predict-time tests)."""
    return {cls: cls(**FAST).fit(*training_data(cls, rec)) for cls in ESTIMATORS}


# ---------------------------------------------------------------------------
# NaN and infinity


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("when", ["fit", "predict"])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_non_finite_X_names_worm_frame_range_and_column(
    rec, fitted, cls, when, value
):
    X, y = training_data(cls, rec)
    bad = X.copy()
    rows = np.flatnonzero(X.index.get_level_values("worm") == "sim1")[5:8]
    bad.iloc[rows, 6] = value
    frames = X.index.get_level_values("frame")[rows]
    msg = (
        rf"worm 'sim1', frames {frames[0]}-{frames[-1]} \(3 rows\), "
        rf"column\(s\) {X.columns[6]}"
    )
    with pytest.raises(ValueError, match=msg):
        if when == "fit":
            cls(**FAST).fit(bad, y)
        else:
            fitted[cls].predict(bad)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_non_finite_numpy_X_names_worm_and_row_positions(rec, fitted):
    X, _ = rec
    A = X.to_numpy(copy=True)
    A[[70, 71], 3] = np.inf
    groups = X.index.get_level_values("worm")
    with pytest.raises(ValueError, match=r"worm 'sim1', frames \(row positions within "
                                         r"the worm\) 10-11.*column 3"):
        fitted[GNNClassifier].predict(A, groups=groups)


@pytest.mark.parametrize("cls", REGRESSORS)
def test_non_finite_targets_are_refused(rec, cls):
    X, Y = training_data(cls, rec)
    Y = Y.copy()
    Y.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        cls(**FAST).fit(X, Y)


# ---------------------------------------------------------------------------
# columns: width, names, order, channels


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_other_width_at_predict_is_refused(rec, fitted, cls):
    X, _ = training_data(cls, rec)
    name = cls.__name__
    with pytest.raises(ValueError, match=f"X has 28 features, but {name} is "
                                         "expecting 30"):
        fitted[cls].predict(X.to_numpy()[:, :28])
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- "
                                         f"{X.columns[1]}\n- {X.columns[0]}"):
        fitted[cls].predict(X.iloc[:, 2:])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_renamed_columns_are_refused_naming_them(rec, fitted, cls):
    X, _ = training_data(cls, rec)
    renamed = X.rename(columns={X.columns[2]: "XYZ_trace"})
    with pytest.raises(ValueError, match=r"unseen at fit time:\n- XYZ_trace\n.*"
                                         rf"now missing:\n- {X.columns[2]}"):
        fitted[cls].predict(renamed)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_estimators_refuse_reordered_columns_naming_them(rec, fitted, cls):
    # Refused, never re-mapped by name: columns are matched by position, and a
    # reordered table usually means another neuron selection upstream.
    X, _ = training_data(cls, rec)
    with pytest.raises(ValueError, match=rf"same order as they were in fit: column 0 "
                                         rf"is '{X.columns[2]}' where fit had "
                                         rf"'{X.columns[0]}' \(4 columns"):
        fitted[cls].predict(swap_first_neurons(X))


def test_feature_names_lost_or_gained_only_warn_like_sklearn(rec, fitted):
    # Accepted, with sklearn's warning: same width, columns taken by position.
    X, _ = rec
    clf = fitted[MLPClassifier]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = clf.predict_proba(X.to_numpy(), groups=X.index.get_level_values(0))
    np.testing.assert_array_equal(from_array, clf.predict_proba(X))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_numpy_width_not_a_multiple_of_n_channels(rec, cls):
    X, y = training_data(cls, rec)
    odd = X.to_numpy()[:, :29]
    if cls in REGRESSORS:
        y = y.to_numpy()[:, :29 * 3]
    with pytest.raises(ValueError, match="29 columns, which is not a multiple of "
                                         "n_channels=2.*n_channels=1"):
        cls(n_channels=2, **FAST).fit(odd, y)
    with pytest.raises(ValueError, match=r"'n_channels' parameter of .* must be an "
                                         r"int in the range \[1, inf\).*Got 0"):
        cls(n_channels=0, **FAST).fit(X, training_data(cls, rec)[1])
    # the documented ways out: every column is a node (the default for numpy)
    for n_channels in (1, "auto"):
        model = cls(n_channels=n_channels, **FAST).fit(odd, y)
        assert model.n_neurons_ == 29


# ---------------------------------------------------------------------------
# labels


def test_labels_never_seen_in_fit_count_as_errors_when_scoring(rec, fitted):
    X, y = rec
    clf = fitted[GNNClassifier]
    y_new = y.copy()
    y_new[:40] = "pirouette"
    expected = np.mean(clf.predict(X) == y_new)
    assert clf.score(X, y_new) == pytest.approx(expected)
    assert clf.score(X, y_new) < clf.score(X, y)


def test_a_state_only_the_test_worm_shows_is_scored_not_a_crash(rec):
    X, y = rec
    y = y.copy()
    y[X.index.get_level_values("worm") == "sim2"] = "quiescent"
    pipe = make_pipeline(PerWormScaler(), MLPClassifier(**FAST))
    scores = cross_val_score(pipe, X, y, cv=LeaveWormsOut(), error_score="raise")
    assert scores[2] == 0.0 and np.isfinite(scores).all()


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_label_problems_at_fit(rec, cls):
    X, y = rec
    with pytest.raises(ValueError, match=r"only one class \('fwd'\)"):
        cls(**FAST).fit(X, np.full(len(X), "fwd"))
    with pytest.raises(ValueError, match="y has 181 labels but X has 180 rows"):
        cls(**FAST).fit(X, np.r_[y, y[:1]])
    with pytest.raises(ValueError, match="y has 179 labels but X has 180 rows"):
        cls(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="missing labels.*row 7"):
        cls(**FAST).fit(X, np.where(np.arange(len(y)) == 7, None, y))


@pytest.mark.parametrize("cls", REGRESSORS)
def test_target_rows_must_match_X(rec, cls):
    X, Y = training_data(cls, rec)
    with pytest.raises(ValueError, match=f"y has {len(X) - 1} rows but X has "
                                         f"{len(X)}"):
        cls(**FAST).fit(X, Y.iloc[:-1])


def test_labels_of_another_length_when_scoring(rec, fitted):
    X, y = rec
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: "
                                         r"\[179, 180\]"):
        fitted[MLPClassifier].score(X, y[:-1])


# ---------------------------------------------------------------------------
# worm identity: groups, duplicates, order


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.parametrize(
    "name",
    ["fit", "predict", "inferred_graph", "scaler", "targets", "LeaveWormsOut",
     "WormBlockKFold"],
)
def test_groups_of_the_wrong_length_everywhere(rec, fitted, name):
    X, y = rec
    A = X.to_numpy()
    short = np.asarray(X.index.get_level_values("worm"))[:-2]
    msg = "groups has 178 entries but X has 180 rows"
    calls = {
        "fit": lambda: MLPClassifier(**FAST).fit(A, y, groups=short),
        "predict": lambda: fitted[MLPClassifier].predict(A, groups=short),
        "inferred_graph": lambda: fitted[GNNClassifier].inferred_graph(A, short),
        "scaler": lambda: PerWormScaler().fit_transform(A, groups=short),
        "targets": lambda: make_trajectory_targets(A, horizon=2, groups=short),
        "LeaveWormsOut": lambda: next(LeaveWormsOut().split(A, groups=short)),
        "WormBlockKFold": lambda: next(
            WormBlockKFold(n_splits=2).split(A, groups=short)
        ),
    }
    with pytest.raises(ValueError, match=msg):  # the test id names the call
        calls[name]()


def _with_duplicate(X):
    return pd.concat([X.iloc[:65], X.iloc[64:]])


def _out_of_order(X):
    order = np.arange(len(X))
    order[[70, 71]] = order[[71, 70]]
    return X.iloc[order]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_duplicate_and_out_of_order_frames_are_refused_by_estimators(
    rec, fitted, cls
):
    X, y = training_data(cls, rec)
    frame = X.index.get_level_values("frame")[64]
    dup = _with_duplicate(X)
    y_dup = (pd.concat([y.iloc[:65], y.iloc[64:]]) if cls in REGRESSORS
             else np.r_[y[:65], y[64:]])
    with pytest.raises(ValueError, match=f"more than one row for worm 'sim1', "
                                         f"frame {frame}"):
        cls(**FAST).fit(dup, y_dup)
    with pytest.raises(ValueError, match="more than one row for worm 'sim1'"):
        fitted[cls].predict(dup)
    f70, f71 = X.index.get_level_values("frame")[[70, 71]]
    with pytest.raises(ValueError, match=f"Frames of worm 'sim1' are out of order: "
                                         f"frame {f70} comes after frame {f71}"):
        fitted[cls].predict(_out_of_order(X))


def test_duplicate_and_out_of_order_frames_in_targets_and_block_kfold(rec):
    X, _ = rec
    for bad, match in ((_with_duplicate(X), "more than one row for worm 'sim1'"),
                       (_out_of_order(X), "Frames of worm 'sim1' are out of order")):
        with pytest.raises(ValueError, match=match):
            make_trajectory_targets(bad, horizon=2)
        with pytest.raises(ValueError, match=match):
            list(WormBlockKFold(n_splits=2, block_size=4).split(bad))


def test_scaler_and_leave_worms_out_accept_rows_in_any_order(rec):
    # Documented: neither depends on time order, so shuffled rows are accepted.
    X, _ = rec
    order = np.random.default_rng(0).permutation(len(X))
    shuffled = X.iloc[order]
    out = PerWormScaler().fit_transform(shuffled)
    pd.testing.assert_frame_equal(out, PerWormScaler().fit_transform(X).iloc[order])

    def test_sets(table):
        splits = LeaveWormsOut().split(table)
        return {frozenset(table.index[test]) for _, test in splits}

    assert test_sets(shuffled) == test_sets(X)


# ---------------------------------------------------------------------------
# worms too short or too few


def test_worm_shorter_than_block_size_or_too_few_blocks(rec):
    X, _ = rec
    X = pd.concat([X, X.loc[["sim0"]].iloc[:5].rename(index={"sim0": "tiny"})])
    with pytest.raises(ValueError, match="Worm 'tiny' has 5 frames, which make 1 "
                                         "block.*block_size=8"):
        list(WormBlockKFold(n_splits=2).split(X))


@pytest.mark.parametrize("cls", REGRESSORS)
def test_train_horizon_longer_than_the_targets_is_capped(rec, cls):
    # Documented: training rolls out min(train_horizon, k) steps.
    X, Y = training_data(cls, rec)
    reg = cls(train_horizon=50, **FAST).fit(X, Y)
    assert reg.horizon_ == 3 and reg.net_.rollout_horizon_ == 3
    assert np.isfinite(reg.predict(X)).all()


def test_gru_burn_in_longer_than_a_worm_pads_with_its_first_frame(rec):
    X, Y = training_data(GRURegressor, rec)
    reg = GRURegressor(burn_in=25, **FAST).fit(X, Y)  # worms of 57 frames
    # a shorter worm at prediction: its first rows repeat its first frame
    assert np.isfinite(reg.predict(X.iloc[:10])).all()


def test_gru_burn_in_longer_than_every_worm_is_refused(rec):
    X, Y = training_data(GRURegressor, rec)
    with pytest.raises(ValueError, match=r"burn_in=58 is longer than every worm in "
                                         r"X \(the longest has 57 frames\).*"
                                         r"burn_in <= 57"):
        GRURegressor(burn_in=58, **FAST).fit(X, Y)
    GRURegressor(burn_in=57, **FAST).fit(X, Y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_one_frame_worm_is_refused_at_fit_naming_it(rec, cls):
    X, y = training_data(cls, rec)
    groups = np.asarray(X.index.get_level_values("worm"), dtype=object)
    groups[0] = "lonely"
    with pytest.raises(ValueError, match="Worm 'lonely' has only 1 sample"):
        cls(**FAST).fit(X.to_numpy(), np.asarray(y), groups=groups)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_one_frame_worm_is_refused_at_predict_unless_norm_is_off(rec, fitted, cls):
    X, y = training_data(cls, rec)
    model = fitted[cls]
    # with batch statistics, one frame gives one output whatever its values
    one_of_two = pd.concat([X.iloc[:5], X.loc[["sim1"]].iloc[:1]])
    for name in ("predict", "predict_proba", "inferred_graph"):
        if not hasattr(model, name):
            continue
        with pytest.raises(ValueError, match=r"Worm 'sim0' has only 1 sample "
                                             r"\(frame\); .* the same output "
                                             r"whatever its values"):
            getattr(model, name)(X.iloc[:1])
        with pytest.raises(ValueError, match="Worm 'sim1' has only 1 sample"):
            getattr(model, name)(one_of_two)
    # without batch statistics a single frame is well defined, and depends on it
    plain = cls(norm=False, **FAST).fit(X, y)
    output = getattr(plain, "predict_proba", plain.predict)
    one, other = output(X.iloc[:1]), output(X.iloc[7:8])
    assert np.isfinite(one).all() and not np.allclose(one, other)


@pytest.mark.parametrize("cls", [GNNClassifier, GNNRegressor])
def test_labelled_adjacency_with_unnamed_X_is_refused(rec, cls):
    X, y = training_data(cls, rec)
    names = [c[: -len("_trace")] for c in X.columns[::2]]
    adjacency = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    with pytest.raises(ValueError, match=r"adjacency is a DataFrame labelled by "
                                         r"neuron names, but X has no column names"
                                         r".*adjacency.to_numpy\(\)"):
        cls(adjacency=adjacency, **FAST).fit(X.to_numpy(), np.asarray(y))
    # named X: aligned by name, so a reordered matrix gives the same model
    shuffled = adjacency.iloc[::-1, ::-1]
    a = cls(adjacency=adjacency, **FAST).fit(X, y).predict(X)
    b = cls(adjacency=shuffled, **FAST).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    # a plain array is taken in column order, with numpy X (of 2 channels) as well
    cls(adjacency=adjacency.to_numpy(), n_channels=2, **FAST).fit(X.to_numpy(),
                                                                 np.asarray(y))


_BAD_PARAMS = [
    (ESTIMATORS, "norm", "yes", r"'norm' parameter of .* must be an instance of "
                                r"'bool'.*Got 'yes'"),
    (ESTIMATORS, "warm_start", 1, "'warm_start' parameter of .* must be an instance "
                                  "of 'bool'"),
    (ESTIMATORS, "verbose", -1, r"'verbose' parameter of .* must be an int in the "
                                r"range \[0, inf\). Got -1"),
    (ESTIMATORS, "verbose", 0.5, r"'verbose' parameter of .* must be an int in the "
                                 r"range \[0, inf\)"),
    (ESTIMATORS, "interrupt", "ignore",
     # sets print in hash order
     r"'interrupt' parameter of .* must be a str among "
     r"\{'(raise|stop)', '(raise|stop)'\}"),
    (ESTIMATORS, "weight_decay", np.nan, r"'weight_decay' parameter of .* must be a "
                                         r"float in the range \[0.0, inf\)"),
    (ESTIMATORS, "weight_decay", np.inf, r"'weight_decay' parameter of .* must be a "
                                         r"float in the range \[0.0, inf\)"),
    (ESTIMATORS, "lr", np.inf, r"'lr' parameter of .* must be a float in the range "
                               r"\(0.0, inf\). Got inf"),
    (ESTIMATORS, "lr", True, "'lr' parameter of .* must be a number, not a bool. "
                             "Got True"),
    (ESTIMATORS, "callbacks", "x", "'callbacks' parameter of .* must be an instance "
                                   "of 'list', an instance of 'tuple' or None"),
    (ESTIMATORS, "train_split", "x", "'train_split' parameter of .* must be a "
                                     "callable or None"),
    (ESTIMATORS, "optimizer", "adamx", r"optimizer='adamx' is not an optimizer of "
                                       r"torch.optim; give one of \[.*'adamw'.*'sgd'"),
    (ESTIMATORS, "device", "meta", r"device must be 'cpu' or 'cuda' .*got 'meta'"),
    (ESTIMATORS, "device", "mps", r"device must be 'cpu' or 'cuda' .*got 'mps'"),
    (ESTIMATORS, "device", "gpu", r"device must be 'cpu' or 'cuda' .*got 'gpu'"),
    (REGRESSORS, "teacher_forcing_epochs", np.nan,
     r"'teacher_forcing_epochs' parameter of .* must be a float in the range "
     r"\[0.0, inf\). Got nan"),
]


@pytest.mark.parametrize("classes, name, value, match", _BAD_PARAMS,
                         ids=[f"{n}={v!r}" for _, n, v, _ in _BAD_PARAMS])
def test_bad_parameter_values_are_refused_naming_them(rec, classes, name, value,
                                                      match):
    for cls in classes:
        X, y = training_data(cls, rec)
        with pytest.raises((ValueError, TypeError), match=match):
            cls(**{**FAST, name: value}).fit(X, y)
        with pytest.raises((ValueError, TypeError), match=match):
            cls(**{**FAST, name: value}).initialize(X, y)
    with pytest.raises(TypeError, match="'optimizer' parameter of MLPClassifier must "
                                        "be an instance of 'str' or a callable. Got 3"):
        MLPClassifier(optimizer=3, **FAST).fit(*rec)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_optimizer_by_name_is_the_torch_class(rec, cls):
    X, y = training_data(cls, rec)
    by_class = cls(optimizer=torch.optim.SGD, **FAST).fit(X, y)
    for name in ("sgd", "SGD"):
        by_name = cls(optimizer=name, **FAST).fit(X, y)
        assert by_name.optimizer == name  # the parameter is left as given
        assert type(by_name.net_.optimizer_) is torch.optim.SGD
        np.testing.assert_array_equal(by_name.predict(X), by_class.predict(X))
    assert type(cls(optimizer="adamw", **FAST).fit(X, y).net_.optimizer_) is (
        torch.optim.AdamW)


@pytest.mark.parametrize("when", ["fit", "predict"])
@pytest.mark.parametrize("cls", [MLPClassifier, GRURegressor])
def test_values_beyond_float32_are_named_as_overflow(rec, fitted, cls, when):
    X, y = training_data(cls, rec)
    bad = X.copy()
    bad.iloc[61:63, 5] = 1e300  # worm sim1, frames 1-2 (60 frames per worm)
    column = X.columns[5]
    msg = (r"values too large for float32 \(\|x\| > 3.4e\+38\).*worm 'sim1', "
           rf"frames \d+-\d+ \(2 rows\), column\(s\) {column}; 2 such values.*"
           r"PerWormScaler")
    with pytest.raises(ValueError, match=msg) as info:
        if when == "fit":
            cls(**FAST).fit(bad, y)
        else:
            fitted[cls].predict(bad)
    assert "NaN" not in str(info.value)


def test_fewer_worms_than_leave_worms_out_needs(rec):
    X, _ = rec
    with pytest.raises(ValueError, match=r"n_test_worms=3\) needs at least 4 worms.*"
                                         r"got 3: \['sim0', 'sim1', 'sim2'\]"):
        list(LeaveWormsOut(n_test_worms=3).split(X))
    with pytest.raises(ValueError, match=r"n_train_worms=3\) needs at least 4 worms"):
        LeaveWormsOut(n_train_worms=3).get_n_splits(X)
    with pytest.raises(ValueError, match="needs to know the worm of every row"):
        list(LeaveWormsOut().split(X.to_numpy()))


# ---------------------------------------------------------------------------
# MAT files


NAMED = ["AVAL", "AVAR", "AVBL"]


@pytest.fixture(scope="module")
def sim():
    return make_worms(n_worms=2, n_frames=40, neurons=NAMED, random_state=2)


def _kato_fields(bunch, rename=None):
    """Kato-layout fields of each worm; ``rename`` maps worm k -> {old: new} ROIs."""
    per_worm = []
    for k, worm in enumerate(pd.unique(bunch.groups)):
        X = bunch.data.xs(worm, level="worm")
        y = bunch.target[bunch.groups == worm]
        names = [(rename or {}).get(k, {}).get(n, n) for n in NAMED]
        per_worm.append({
            "NeuronNames": Cell(names),
            "deltaFOverF_bc": X[[f"{n}_trace" for n in NAMED]].to_numpy(),
            "deltaFOverF_deriv": X[[f"{n}_deriv" for n in NAMED]].to_numpy(),
            "States": {s: (y == s).astype(float) for s in np.unique(y)},
            "fps": bunch.fps,
        })
    return per_worm


def _write_kato(path, bunch, drop_field=None, rename=None):
    fields = _kato_fields(bunch, rename)
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]
            if name != drop_field}
    write_mat73(path, {"WT_NoStim": root})
    return path


def test_kato_reference_file_loads_and_stays_unchanged(tmp_path, sim):
    path = _write_kato(tmp_path / "k.mat", sim)
    raw = path.read_bytes()
    neurons = list(NAMED)
    data = load_kato2015(path, neurons=neurons)
    np.testing.assert_allclose(data.data.to_numpy(), sim.data.to_numpy())
    assert neurons == NAMED and path.read_bytes() == raw


def test_truncated_mat_file_names_the_file(tmp_path, sim):
    full = _write_kato(tmp_path / "k.mat", sim).read_bytes()
    cut = tmp_path / "cut.mat"
    for size in (len(full) // 2, 1024):
        cut.write_bytes(full[:size])
        for load in (load_kato2015, lambda p: load_nichols2017([p])):
            with pytest.raises(ValueError, match=rf"{cut} is an HDF5 file that cannot "
                                                 r"be read: it is probably truncated"):
                load(cut)


def test_non_mat_files_are_refused_and_v5_files_read_naming_the_file(tmp_path):
    text = tmp_path / "notes.mat"
    text.write_text("not a MAT-file at all")
    v5 = tmp_path / "old.mat"
    scipy.io.savemat(v5, {"WT_NoStim": {"fps": 2.9}})
    assert open(v5, "rb").read(10) == b"MATLAB 5.0"
    for load in (load_kato2015, lambda p: load_nichols2017([p])):
        with pytest.raises(ValueError,
                           match=rf"{text} is neither a MATLAB v7.3 MAT-file"):
            load(text)
    # v5 files are read (scipy.io.loadmat); this one lacks the fields, named as such.
    with pytest.raises(ValueError, match=rf"{v5}:WT_NoStim has no NeuronNames"):
        load_kato2015(v5)
    with pytest.raises(ValueError, match=rf"{v5}: no states field 'States'"):
        load_nichols2017([v5])


@pytest.mark.parametrize("field", ["deltaFOverF_bc", "States", "fps"])
def test_missing_field_is_named(tmp_path, sim, field):
    path = _write_kato(tmp_path / "k.mat", sim, drop_field=field)
    with pytest.raises(ValueError, match=rf"k.mat:WT_NoStim has no field '{field}'"):
        load_kato2015(path, neurons=NAMED)


def test_missing_variable_is_named(tmp_path):
    write_mat73(tmp_path / "other.mat", {"traces": np.ones(3)})
    with pytest.raises(ValueError, match=r"no variable 'WT_NoStim'.*\['traces'\]"):
        load_kato2015(tmp_path / "other.mat")


def test_neuron_missing_in_one_worm_names_neuron_and_worm(tmp_path, sim):
    path = _write_kato(tmp_path / "k.mat", sim, rename={1: {"AVBL": "RIML"}})
    with pytest.raises(ValueError, match=r"worm kato1 lacks \['AVBL'\]\.") as err:
        load_kato2015(path, neurons=NAMED)
    assert "kato0" not in str(err.value)
    # the documented way out: the neurons named in every worm
    assert load_kato2015(path, neurons=None).neuron_names == ["AVAL", "AVAR"]


def test_mat_file_with_a_worm_of_mismatched_shapes(tmp_path, sim):
    fields = _kato_fields(sim)
    fields[1]["deltaFOverF_deriv"] = fields[1]["deltaFOverF_deriv"][:5]
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(tmp_path / "k.mat", {"WT_NoStim": root})
    with pytest.raises(ValueError, match=r"Worm kato1: deltaFOverF_deriv has shape "
                                         r"\(5, 3\)"):
        load_kato2015(tmp_path / "k.mat", neurons=NAMED)


# ---------------------------------------------------------------------------
# nothing the caller passed is modified


def test_nothing_the_caller_passed_is_modified(rec):
    X, y = rec
    X = X.copy()
    X.iloc[3, 1] = np.nan  # a NaN the scaler keeps: no step may fill it in
    y = y.copy()
    groups = np.asarray(X.index.get_level_values("worm"), dtype=object)
    # A private, writeable array: pandas may hand out a read-only view otherwise.
    A32 = X.fillna(0).to_numpy(dtype=np.float32, copy=True)
    n = X.shape[1] // 2
    adjacency = pd.DataFrame(np.eye(n), index=[c[:-6] for c in X.columns[::2]],
                             columns=[c[:-6] for c in X.columns[::2]])
    callbacks = [EpochScoring("accuracy", name="train_acc", on_train=True)]
    passed = [X, y, groups, A32, adjacency, callbacks]
    before = copy.deepcopy(passed)

    Xs = PerWormScaler().fit_transform(X)
    PerWormScaler(method="robust").fit_transform(A32, groups=groups)
    X_t, Y = make_trajectory_targets(Xs.fillna(0), horizon=2)
    make_trajectory_targets(A32, horizon=2, groups=groups)
    list(LeaveWormsOut().split(X, y, groups))
    list(WormBlockKFold(n_splits=2, random_state=0).split(A32, y, groups))
    clean = Xs.fillna(0)
    for est, data in (
        # a labelled adjacency needs named columns to be aligned by
        (GNNClassifier(adjacency=adjacency, callbacks=callbacks, **FAST), (clean, y)),
        (MLPClassifier(callbacks=callbacks, **FAST), (clean, y)),
        (GRURegressor(**FAST), (A32, A32[:, :2])),
    ):
        est.fit(*data, groups=groups)
        est.predict(data[0], groups=groups)
        est.score(*data, groups=groups)
    GNNClassifier(**FAST).fit(A32, y, groups=groups).inferred_graph(A32, groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cross_val_score(make_pipeline(PerWormScaler(), MLPClassifier(**FAST)),
                        X.fillna(0), y, cv=LeaveWormsOut())

    pd.testing.assert_frame_equal(X, before[0])
    for now, then in zip(passed[1:4], before[1:4]):
        np.testing.assert_array_equal(now, then)
    pd.testing.assert_frame_equal(adjacency, before[4])
    assert len(callbacks) == 1 and not hasattr(callbacks[0], "best_score_")
    assert A32.flags.writeable
