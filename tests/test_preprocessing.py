import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from _data import swap_first_neurons
from _strategies import SETTINGS, plain, recordings, rows_by_worm
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import cross_val_predict, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import check_estimator

from wormsk.exceptions import WormIdentityWarning
from wormsk.model_selection import LeaveWormsOut
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

METHODS = ["minmax", "standard", "robust"]


def recording(lengths, n_features=3, seed=0, names=None):
    """A recording table of random walks, one worm per entry of ``lengths``."""
    rng = np.random.default_rng(seed)
    names = names or [f"w{i}" for i in range(len(lengths))]
    index = pd.MultiIndex.from_tuples(
        [(w, f) for w, n in zip(names, lengths) for f in range(n)],
        names=["worm", "frame"],
    )
    values = rng.standard_normal((len(index), n_features)).cumsum(axis=0)
    n_neurons = (n_features + 1) // 2
    columns = [f"N{j}_{c}" for j in range(n_neurons) for c in ("trace", "deriv")]
    return pd.DataFrame(values, index=index, columns=columns[:n_features])


def per_worm(X, values):
    return {w: np.asarray(values)[np.asarray(X.index.get_level_values("worm")) == w]
            for w in X.index.unique("worm")}


# ---------------------------------------------------------------- PerWormScaler


def test_minmax_maps_each_worm_to_feature_range():
    X = recording([40, 60, 25])
    X.loc["w1"] = X.loc["w1"].to_numpy() * 50 + 7  # a worm on another scale entirely
    out = PerWormScaler(feature_range=(-1, 1)).fit_transform(X)
    for w, part in per_worm(X, out).items():
        np.testing.assert_allclose(part.min(axis=0), -1, err_msg=w)
        np.testing.assert_allclose(part.max(axis=0), 1, err_msg=w)
    # The scaling is the plain per-worm min-max formula, nothing else.
    w1 = X.loc["w1"].to_numpy()
    expected = 2 * (w1 - w1.min(0)) / (w1.max(0) - w1.min(0)) - 1
    np.testing.assert_allclose(per_worm(X, out)["w1"], expected)


def test_standard_and_robust_statistics_per_worm():
    X = recording([80, 50])
    out = PerWormScaler(method="standard").fit_transform(X)
    for part in per_worm(X, out).values():
        np.testing.assert_allclose(part.mean(axis=0), 0, atol=1e-12)
        np.testing.assert_allclose(part.std(axis=0), 1)
    out = PerWormScaler(method="robust", quantile_range=(10, 90)).fit_transform(X)
    for part in per_worm(X, out).values():
        np.testing.assert_allclose(np.percentile(part, [10, 90], axis=0),
                                   [[0, 0, 0], [1, 1, 1]], atol=1e-12)


def test_robust_ignores_a_spike_that_squashes_minmax():
    X = recording([200])
    X.iloc[100, 0] += 1000.0
    minmax = PerWormScaler().fit_transform(X).to_numpy()[:, 0]
    robust = PerWormScaler(method="robust").fit_transform(X).to_numpy()[:, 0]
    assert np.ptp(np.delete(minmax, 100)) < 0.05  # the spike flattened the trace
    assert np.ptp(np.delete(robust, 100)) > 0.9
    assert robust[100] > 10  # robust does not clip


def test_unseen_worm_is_scaled_by_itself_not_by_the_fit_data():
    X = recording([50, 50])
    scaler = PerWormScaler().fit(X.loc[["w0"]])
    alone = PerWormScaler().fit_transform(X.loc[["w1"]])
    np.testing.assert_array_equal(scaler.transform(X.loc[["w1"]]), alone)
    np.testing.assert_array_equal(scaler.transform(X)[50:], alone)


@pytest.mark.parametrize("method, constant_value", [("minmax", 0.5), ("standard", 0.0),
                                                     ("robust", 0.5)])
def test_constant_columns_and_one_frame_worms_are_finite(method, constant_value):
    X = recording([30, 1, 20])
    X.loc["w2", "N0_trace"] = 3.3  # constant within w2 only
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = PerWormScaler(method=method).fit_transform(X).to_numpy()
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[30], constant_value)  # the one-frame worm
    np.testing.assert_array_equal(out[31:, 0], constant_value)
    assert np.ptp(out[31:, 1]) > 0


def test_nan_is_ignored_in_statistics_and_kept_in_place():
    X = recording([40, 30])
    X_nan = X.copy()
    X_nan.iloc[[3, 10], 1] = np.nan
    X_nan.iloc[40:, 2] = np.nan  # a neuron lost for a whole worm
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            out = PerWormScaler(method=method).fit_transform(X_nan).to_numpy()
            np.testing.assert_array_equal(np.isnan(out), X_nan.isna().to_numpy())
            # Column 1 of w0 is scaled as if its NaN frames were absent; columns
            # without NaN are scaled as usual.
            kept = np.setdiff1d(np.arange(40), [3, 10])
            ref = PerWormScaler(method=method).fit_transform(X.iloc[kept]).to_numpy()
            np.testing.assert_allclose(out[kept, 1], ref[:, 1])
            full = PerWormScaler(method=method).fit_transform(X).to_numpy()
            np.testing.assert_allclose(out[:, 0], full[:, 0])
            np.testing.assert_allclose(out[40:, :2], full[40:, :2])


def test_infinity_is_refused_naming_worm_and_column():
    X = recording([10, 10])
    X.iloc[15, 2] = -np.inf
    scaler = PerWormScaler().fit(recording([5]))
    with pytest.raises(ValueError, match=r"infinity in column 'N1_trace' of worm 'w1'"):
        scaler.transform(X)


def test_numpy_groups_equal_dataframe_index_and_wrong_length_is_refused():
    X = recording([30, 20, 25])
    groups = X.index.get_level_values("worm")
    for method in METHODS:
        from_index = PerWormScaler(method=method).fit_transform(X)
        from_groups = PerWormScaler(method=method).fit_transform(
            X.to_numpy(), groups=groups
        )
        np.testing.assert_array_equal(from_index, from_groups)
    # Without groups or an index, the whole input is one worm, and it says so.
    with pytest.warns(WormIdentityWarning, match="75 rows without worm identity"):
        whole = PerWormScaler().fit_transform(X.to_numpy())
    np.testing.assert_allclose(whole.min(0), 0)
    assert not np.allclose(whole, from_index)
    with pytest.raises(ValueError, match="groups has 74 entries but X has 75 rows"):
        PerWormScaler().fit(X).transform(X, groups=groups[:-1])


def test_interleaved_worm_rows_are_scaled_per_worm():
    X = recording([20, 20])
    order = np.random.default_rng(1).permutation(40)
    out = PerWormScaler().fit_transform(X)
    shuffled = PerWormScaler().fit_transform(X.iloc[order])
    pd.testing.assert_frame_equal(shuffled, out.iloc[order])


@pytest.mark.parametrize("method", ["minmax", "standard", "robust"])
def test_interleaved_rows_scale_like_contiguous_ones_and_leave_input(method):
    X = recording([20, 20])
    X.iloc[[3, 25], 1] = np.nan
    # Alternate the worms, each keeping its row order: the same sums, bit for bit.
    order = np.arange(40).reshape(2, 20).T.ravel()
    arr = X.to_numpy()[order]
    before = arr.copy()
    groups = np.asarray(X.index.get_level_values("worm"))[order]
    out = PerWormScaler(method=method).fit_transform(arr, groups=groups)
    expected = PerWormScaler(method=method).fit_transform(X).to_numpy()[order]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(arr, before)


def test_output_containers_and_input_untouched():
    X = recording([15, 12])
    before = X.copy()
    # A DataFrame keeps its worm index by default, so worms reach the next step.
    out = PerWormScaler().fit_transform(X)
    assert isinstance(out, pd.DataFrame)
    pd.testing.assert_index_equal(out.index, X.index)
    assert list(out.columns) == list(X.columns)
    assert isinstance(PerWormScaler().fit_transform(X.to_numpy()), np.ndarray)
    scaler = PerWormScaler().set_output(transform="pandas")
    df = scaler.fit_transform(X)
    assert isinstance(df, pd.DataFrame)
    pd.testing.assert_index_equal(df.index, X.index)
    np.testing.assert_array_equal(df.to_numpy(), out.to_numpy())
    arr_df = PerWormScaler().set_output(transform="pandas").fit_transform(
        X.to_numpy(), groups=X.index.get_level_values("worm")
    )
    assert isinstance(arr_df, pd.DataFrame)
    assert list(scaler.get_feature_names_out()) == list(X.columns)
    pd.testing.assert_frame_equal(X, before)
    arr = X.to_numpy().copy()
    arr_before = arr.copy()
    PerWormScaler(method="robust").fit_transform(arr)
    np.testing.assert_array_equal(arr, arr_before)


def test_float32_is_preserved():
    X = recording([20, 20]).to_numpy().astype(np.float32)
    out = PerWormScaler().fit_transform(X, groups=[0] * 20 + [1] * 20)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.max(0), 1, rtol=1e-6)


@pytest.mark.parametrize("params, match", [
    ({"method": "zscore"}, "'method' parameter of PerWormScaler must be a str"),
    ({"feature_range": (1, 0)}, "feature_range must be"),
    ({"feature_range": 1}, "'feature_range' parameter of PerWormScaler must be"),
    ({"feature_range": (0, 1, 2)}, "feature_range must be a pair"),
    ({"quantile_range": (5, 120)}, "quantile_range must be"),
    # an infinite range would scale every value to inf or NaN
    ({"feature_range": (0, np.inf)}, "feature_range must be .* finite"),
    ({"feature_range": (-1e308, 1e308)}, "max - min finite"),
])
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        PerWormScaler(**params).fit(np.ones((3, 2)))


def test_width_must_match_fit():
    scaler = PerWormScaler().fit(recording([10], n_features=4).to_numpy())
    with pytest.raises(ValueError, match="4 features"):
        scaler.transform(np.ones((5, 3)))


@pytest.mark.parametrize("method", METHODS)
def test_check_estimator(method):
    # Statistics come from the rows in each call (one worm when no groups are
    # given), so transforming a subset of the rows legitimately differs. The only
    # skipped check, check_array_api_input, is skipped by sklearn itself unless
    # SCIPY_ARRAY_API is set (PerWormScaler works on numpy arrays).
    check_estimator(
        PerWormScaler(method=method),
        expected_failed_checks={
            "check_methods_subset_invariance": "per-worm statistics are computed "
            "from the rows of each transform call, by design",
        },
    )


# -- properties


@st.composite
def worm_table(draw):
    n_worms = draw(st.integers(2, 4))
    lengths = draw(st.lists(st.integers(2, 12), min_size=n_worms, max_size=n_worms))
    seed = draw(st.integers(0, 2**16))
    return recording(lengths, n_features=3, seed=seed)


@settings(max_examples=40, deadline=None)
@given(X=worm_table(), data=st.data(), method=st.sampled_from(METHODS))
def test_affine_change_of_one_worm_does_not_change_output(X, data, method):
    worms = list(X.index.unique("worm"))
    target = data.draw(st.sampled_from(worms))
    gains = np.array(data.draw(st.lists(st.floats(0.01, 100), min_size=3, max_size=3)))
    offsets = data.draw(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3))
    changed = X.copy()
    changed.loc[target] = X.loc[target].to_numpy() * gains + np.array(offsets)
    scaler = PerWormScaler(method=method)
    np.testing.assert_allclose(scaler.fit_transform(changed), scaler.fit_transform(X),
                               atol=1e-7)


@settings(max_examples=30, deadline=None)
@given(X=worm_table(), data=st.data(), method=st.sampled_from(METHODS))
def test_output_independent_of_worm_order_and_of_other_worms(X, data, method):
    scaler = PerWormScaler(method=method)
    full = per_worm(X, scaler.fit_transform(X))
    worms = list(X.index.unique("worm"))
    n_kept = data.draw(st.integers(1, len(worms)))
    subset = data.draw(st.permutations(worms))[:n_kept]
    out = per_worm(X.loc[subset], scaler.fit_transform(X.loc[subset]))
    for w in subset:
        np.testing.assert_array_equal(out[w], full[w])


# -- pipelines


def _reference(B, method, feature_range=(0.0, 1.0), q=(1.0, 99.0)):
    """The scaler's formula in extended precision (no overflow), for one worm."""
    L = B.astype(np.longdouble)
    lo_out, hi_out = feature_range
    with np.errstate(invalid="ignore", divide="ignore"):  # constant columns
        if method == "standard":
            return (L - L.mean(axis=0)) / L.std(axis=0)
        low, high = L.min(axis=0), L.max(axis=0)
        if method == "robust":
            low, high = np.percentile(L, q, axis=0)
        return (L - low) / (high - low) * (hi_out - lo_out) + lo_out


_HUGE = st.floats(min_value=-1.7e308, max_value=1.7e308, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.tuples(_HUGE, _HUGE | st.floats(-1e3, 1e3)),
                    min_size=2, max_size=30),
    method=st.sampled_from(METHODS),
)
def test_huge_finite_values_scale_without_overflow(values, method):
    # issue 14: near +-1e308 the differences overflowed: NaN (minmax, robust) or
    # all zeros (standard), although finite input never gives NaN.
    B = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        out = PerWormScaler(method=method).fit_transform(B, groups=np.zeros(len(B)))
    assert np.isfinite(out).all()
    L = B.astype(np.longdouble)
    q = np.percentile(L, (1.0, 99.0), axis=0)
    expected = _reference(B, method)
    for j in range(B.shape[1]):
        size = np.abs(L[:, j]).max()
        if np.ptp(L[:, j]) <= 1e-10 * size or (
            method == "robust" and q[1, j] - q[0, j] <= 1e-10 * size
        ):
            continue  # constant up to float noise, or the robust fallback
        np.testing.assert_allclose(out[:, j], expected[:, j].astype(float),
                                   rtol=1e-9, atol=1e-9)


def test_extreme_columns_leave_ordinary_ones_bit_identical():
    X = recording([50, 40], n_features=4)
    huge = X.copy()
    huge.iloc[:, 1] *= 1e306
    tiny = X.copy()
    tiny.iloc[:, 2] *= 1e-306
    for method in METHODS:
        ref = PerWormScaler(method=method).fit_transform(X).to_numpy()
        for other, j in ((huge, 1), (tiny, 2)):
            out = PerWormScaler(method=method).fit_transform(other).to_numpy()
            keep = [k for k in range(4) if k != j]
            np.testing.assert_array_equal(out[:, keep], ref[:, keep])
            np.testing.assert_allclose(out[:, j], ref[:, j], rtol=1e-12, atol=1e-12)
    f32 = np.array([[3e38], [-3e38], [1e38], [0.0]], dtype=np.float32)
    for method in METHODS:
        out = PerWormScaler(method=method).fit_transform(f32)
        assert out.dtype == np.float32 and np.isfinite(out).all()


def test_groups_reach_the_scaler_in_a_pipeline_with_and_without_routing():
    X = recording([30, 30, 30], n_features=4, seed=3)
    X.loc["w1"] = X.loc["w1"].to_numpy() * 20 - 5
    y = np.where(X.to_numpy()[:, 0] > np.median(X.to_numpy()[:, 0]), "a", "b")
    groups = np.asarray(X.index.get_level_values("worm"))
    values = X.to_numpy()
    cv = LeaveWormsOut()
    reference = cross_val_score(make_pipeline(PerWormScaler(), SVC()), X, y, cv=cv)
    one_worm = cross_val_score(make_pipeline(PerWormScaler(), SVC()), values, y,
                               groups=groups, cv=cv)
    assert not np.allclose(one_worm, reference)  # training worms scaled together
    by_name = cross_val_score(make_pipeline(PerWormScaler(), SVC()), values, y,
                              groups=groups, cv=cv,
                              params={"perwormscaler__groups": groups})
    np.testing.assert_array_equal(by_name, reference)
    with sklearn.config_context(enable_metadata_routing=True):
        scaler = PerWormScaler().set_transform_request(groups=True)
        routed = cross_val_score(make_pipeline(scaler, SVC()), values, y, cv=cv,
                                 params={"groups": groups})
        np.testing.assert_array_equal(routed, reference)
        with pytest.raises(ValueError, match="groups"):
            cross_val_score(make_pipeline(PerWormScaler(), SVC()), values, y, cv=cv,
                            params={"groups": groups}, error_score="raise")


# -- end to end on simulated worms


@pytest.fixture(scope="module")
def worms():
    make_worms = pytest.importorskip("wormsk.datasets").make_worms
    return make_worms(n_worms=5, n_frames=600, random_state=0, return_X_y=True)


def test_gain_and_offset_of_a_test_worm_do_not_change_predictions(worms):
    X, y = worms
    changed = X.copy()
    traces = [c for c in X.columns if c.endswith("_trace")]
    derivs = [c for c in X.columns if c.endswith("_deriv")]
    # The recording of worm sim2 seen through a 3x brighter indicator on a baseline.
    changed.loc["sim2", traces] = X.loc["sim2", traces].to_numpy() * 3 + 0.7
    changed.loc["sim2", derivs] = X.loc["sim2", derivs].to_numpy() * 3
    cv = LeaveWormsOut()
    pipe = make_pipeline(PerWormScaler(), SVC())
    before = cross_val_predict(pipe, X, y, cv=cv)
    after = cross_val_predict(pipe, changed, y, cv=cv)
    np.testing.assert_array_equal(after, before)
    # Raw traces: the same change does move SVC's predictions.
    raw_before = cross_val_predict(SVC(), X, y, cv=cv)
    raw_after = cross_val_predict(SVC(), changed, y, cv=cv)
    assert (raw_after != raw_before).mean() > 0.1


def test_per_worm_scaling_generalizes_better_to_unseen_worms(worms):
    X, y = worms
    raw = cross_val_score(SVC(), X, y, cv=LeaveWormsOut()).mean()
    scaled = cross_val_score(make_pipeline(PerWormScaler(), SVC()), X, y,
                             cv=LeaveWormsOut()).mean()
    assert scaled > raw + 0.1, (raw, scaled)


# ------------------------------------- PerWormScaler: bad input and columns
# (the ``rec`` fixture is in conftest.py)


def test_scaler_keeps_nan_in_place_and_refuses_inf_naming_worm_frame_column(rec):
    X, _ = rec
    bad = X.copy()
    bad.iloc[65, 4] = np.nan
    out = PerWormScaler().fit_transform(bad)
    # Documented handling: NaN is ignored in the statistics and kept in place.
    np.testing.assert_array_equal(out.isna().to_numpy(), bad.isna().to_numpy())
    assert np.isfinite(out.to_numpy()[~bad.isna().to_numpy()]).all()
    bad.iloc[65, 4] = -np.inf
    with pytest.raises(ValueError, match=rf"infinity in column '{X.columns[4]}' of "
                                         r"worm 'sim1' \(frame 5\)"):
        PerWormScaler().fit_transform(bad)


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_scaler_other_width_and_renamed_columns_are_refused(rec):
    X, _ = rec
    scaler = PerWormScaler().fit(X)
    with pytest.raises(ValueError, match="X has 28 features, but PerWormScaler is "
                                         "expecting 30"):
        scaler.transform(X.to_numpy()[:, :28])
    renamed = X.rename(columns={X.columns[0]: "XYZ_trace"})
    with pytest.raises(ValueError, match=r"unseen at fit time:\n- XYZ_trace"):
        scaler.transform(renamed)


def test_scaler_refuses_reordered_columns_naming_them(rec):
    X, _ = rec
    scaler = PerWormScaler().fit(X)
    moved = swap_first_neurons(X)
    with pytest.raises(ValueError, match=rf"same order as they were in fit: column "
                                         rf"0 is '{X.columns[2]}' where fit had "
                                         rf"'{X.columns[0]}' \(4 columns"):
        scaler.transform(moved)



# ----------------------------- PerWormScaler: neurons absent from some worms
# (the ``union`` fixture is in conftest.py)


@pytest.mark.parametrize("method", ["minmax", "standard", "robust"])
def test_perwormscaler_keeps_absent_neurons_absent(union, method):
    X, _, names, gone = union
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = PerWormScaler(method=method).fit_transform(X)
    np.testing.assert_array_equal(out.isna().to_numpy(), X.isna().to_numpy())
    # The recorded columns are scaled as if the absent ones were not there.
    cols = [c for c in X.columns if not X[c].isna().any()]
    alone = PerWormScaler(method=method).fit_transform(X[cols])
    np.testing.assert_array_equal(out[cols].to_numpy(), alone.to_numpy())



# ------------------------------------- PerWormScaler: random tables (hypothesis)


@SETTINGS
@given(X=recordings(), method=st.sampled_from(["minmax", "standard", "robust"]))
def test_scaler_never_makes_nan_and_keeps_given_nan(X, method):
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from all-NaN columns
        out = PerWormScaler(method=method).fit_transform(X).to_numpy()
    missing = X.isna().to_numpy()
    np.testing.assert_array_equal(np.isnan(out), missing)
    assert np.isfinite(out[~missing]).all()
    if method == "minmax" and not missing.all():
        assert out[~missing].min() >= -1e-9 and out[~missing].max() <= 1 + 1e-9
    pd.testing.assert_frame_equal(X, before)


@SETTINGS
@given(X=recordings(nan=False), data=st.data())
def test_scaler_refuses_infinity_naming_the_worm(X, data):
    X = X.copy()
    row = data.draw(st.integers(0, len(X) - 1))
    col = data.draw(st.integers(0, X.shape[1] - 1))
    X.iloc[row, col] = data.draw(st.sampled_from([np.inf, -np.inf]))
    worm, frame = map(plain, X.index[row])
    with pytest.raises(ValueError, match=f"column '{X.columns[col]}' of worm "
                                         f"{worm!r} \\(frame {frame}\\)"):
        PerWormScaler().fit_transform(X)



# ------------------------------------------------------ make_trajectory_targets


def test_trajectory_targets_values_layout_and_index():
    X = recording([6, 4], n_features=2)
    before = X.copy()
    X_t, Y = make_trajectory_targets(X, horizon=2)
    pd.testing.assert_frame_equal(X, before)
    # w0 has starts 0..3, w1 starts 0..1; no window reaches into the next worm.
    assert list(X_t.index) == [("w0", f) for f in range(4)] + [("w1", 0), ("w1", 1)]
    assert list(Y.columns) == ["N0_trace+1", "N0_deriv+1", "N0_trace+2", "N0_deriv+2"]
    pd.testing.assert_index_equal(Y.index, X_t.index)
    values = X.to_numpy()
    np.testing.assert_array_equal(X_t.to_numpy(), values[[0, 1, 2, 3, 6, 7]])
    np.testing.assert_array_equal(Y.to_numpy()[3], values[4:6].ravel())
    np.testing.assert_array_equal(Y.to_numpy()[5], values[8:10].ravel())


def test_trajectory_targets_numpy_groups_and_stride():
    X = recording([10, 3, 8], n_features=2)
    groups = X.index.get_level_values("worm")
    X_t, Y, g = make_trajectory_targets(X.to_numpy(), horizon=3, stride=2,
                                        groups=groups, return_groups=True)
    assert isinstance(X_t, np.ndarray) and isinstance(Y, np.ndarray)
    # w0: starts 0, 2, 4, 6; w1 (3 frames) nothing; w2: starts 0, 2, 4.
    np.testing.assert_array_equal(X_t, X.to_numpy()[[0, 2, 4, 6, 13, 15, 17]])
    assert list(g) == ["w0"] * 4 + ["w2"] * 3
    assert Y.shape == (7, 6)
    np.testing.assert_array_equal(Y[4], X.to_numpy()[14:17].ravel())
    df_t, df_Y = make_trajectory_targets(X, horizon=3, stride=2)
    np.testing.assert_array_equal(df_Y.to_numpy(), Y)


def test_trajectory_targets_do_not_bridge_dropped_frames():
    X = recording([12], n_features=2).drop(index=[("w0", 5)])
    X_t, Y = make_trajectory_targets(X, horizon=3)
    # Stretches 0-4 and 6-11: starts 0, 1 and 6, 7, 8.
    assert list(X_t.index.get_level_values("frame")) == [0, 1, 6, 7, 8]


def test_trajectory_targets_errors():
    X = recording([5, 4])
    with pytest.raises(ValueError, match=r"longest stretch is 5 frames, worm 'w0'"):
        make_trajectory_targets(X, horizon=5)
    with pytest.raises(ValueError, match="horizon must be a positive integer"):
        make_trajectory_targets(X, horizon=0)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        make_trajectory_targets(X, stride=1.5)
    with pytest.raises(ValueError, match=r"worm 'w0', frame 2"):
        make_trajectory_targets(pd.concat([X, X.iloc[[2]]]), horizon=2)
    with pytest.raises(ValueError, match=r"Frames of worm 'w1' are out of order"):
        make_trajectory_targets(X.iloc[[0, 1, 2, 3, 4, 6, 5, 7, 8]], horizon=2)
    with pytest.raises(ValueError, match="groups has 2 entries"):
        make_trajectory_targets(X.to_numpy(), horizon=2, groups=[0, 1])
    with pytest.raises(ValueError, match="make_trajectory_targets needs numeric X"):
        make_trajectory_targets(np.array([["a", "b"]] * 5), horizon=1)
    with pytest.raises(ValueError, match=r"0 feature\(s\) .* required by "
                                         "make_trajectory_targets"):
        make_trajectory_targets(np.empty((5, 0)), horizon=1)


def test_worms_shorter_than_the_trajectory_horizon(rec):
    X, _ = rec
    short = X.loc[["sim0"]].iloc[:3].rename(index={"sim0": "short"})
    X2 = pd.concat([X, short])
    # Documented: a worm with no more than horizon frames contributes no window.
    with pytest.warns(UserWarning, match=r"worm\(s\) \['short'\] have no stretch"):
        X_t, Y, worms = make_trajectory_targets(X2, horizon=4, return_groups=True)
    assert "short" not in set(worms) and len(X_t) == 3 * (60 - 4)
    with pytest.raises(ValueError, match=r"No worm has more than horizon=4 "
                                         r"consecutive frames \(the longest stretch "
                                         r"is 3 frames, worm 'short'\)"):
        make_trajectory_targets(short, horizon=4)


# ------------------------------- make_trajectory_targets: random tables (hypothesis)


@SETTINGS
@given(X=recordings(nan=False), horizon=st.integers(1, 8), stride=st.integers(1, 3))
def test_trajectory_windows_stay_within_a_worm_and_its_gap_free_stretches(
    X, horizon, stride
):
    frames = X.index.get_level_values("frame").to_numpy()
    runs = [  # row positions of every gap-free stretch of every worm
        run
        for rows in rows_by_worm(X).values()
        for run in np.split(rows, np.flatnonzero(np.diff(frames[rows]) != 1) + 1)
    ]
    longest = max(len(run) for run in runs)
    if longest <= horizon:
        with pytest.raises(ValueError, match=f"No worm has more than "
                                             f"horizon={horizon} consecutive"):
            make_trajectory_targets(X, horizon=horizon, stride=stride)
        return
    X_t, Y = make_trajectory_targets(X, horizon=horizon, stride=stride)
    # Exactly the documented windows: in every stretch of L frames, the starts
    # 0, stride, 2 * stride, ... below L - horizon (none when L <= horizon),
    # ceil((L - horizon) / stride) of them, in row order.
    expected = [run[i] for run in runs for i in range(0, len(run) - horizon, stride)]
    assert len(X_t) == sum(
        -(-(len(run) - horizon) // stride) for run in runs if len(run) > horizon
    )
    assert list(X_t.index) == list(X.index[sorted(expected)])
    assert Y.shape == (len(X_t), horizon * X.shape[1])
    position = {key: i for i, key in enumerate(X.index)}
    values = X.to_numpy()
    for (worm, frame), target in zip(X_t.index, Y.to_numpy()):
        rows = [position.get((worm, frame + k)) for k in range(1, horizon + 1)]
        assert None not in rows  # never across a worm boundary or a frame gap
        np.testing.assert_array_equal(target, values[rows].ravel())


def test_trajectory_targets_warn_that_float_frames_hide_gaps():
    idx = pd.MultiIndex.from_product([["w"], [0.0, 0.5, 1.0, 5.0]],
                                     names=["worm", "frame"])  # fmt: skip
    X = pd.DataFrame(np.arange(8.0).reshape(4, 2), index=idx, columns=["a", "b"])
    with pytest.warns(UserWarning, match="gaps in a recording are not detected"):
        X_t, _ = make_trajectory_targets(X, horizon=1)
    assert len(X_t) == 3  # the window across the gap (1.0 -> 5.0) is kept

