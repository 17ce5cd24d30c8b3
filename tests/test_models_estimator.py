"""The estimator base (wormsk.models._estimator): seeding, persistence, parameters."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from _data import CLASSIFIERS, FEATURE_NAMES_OK, REGRESSORS
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import EarlyStopping

from wormsk.datasets import make_worms
from wormsk.exceptions import WormIdentityWarning
from wormsk.models import GNNClassifier, GRURegressor, MLPClassifier, MLPRegressor
from wormsk.preprocessing import make_trajectory_targets

pytestmark = FEATURE_NAMES_OK

FAST = dict(max_epochs=3, random_state=0)


# --------------------------------------------------------------------------------
# determinism and persistence
# --------------------------------------------------------------------------------


def test_same_random_state_same_predictions_other_state_differs(small):
    X, y = small
    a = GNNClassifier(**FAST).fit(X, y).predict_proba(X)
    b = GNNClassifier(**FAST).fit(X, y).predict_proba(X)
    c = GNNClassifier(max_epochs=3, random_state=1).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_random_state_alone(small):
    X, y = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


_SUBPROCESS = """
import sys, numpy as np
from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier
X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
p = GNNClassifier(max_epochs=3, random_state=0).fit(X, y).predict_proba(X)
sys.stdout.write(p.astype(np.float64).tobytes().hex())
"""


def test_same_predictions_in_another_process():
    X, y = make_worms(n_worms=2, n_frames=120, random_state=1, return_X_y=True)
    here = GNNClassifier(max_epochs=3, random_state=0).fit(X, y).predict_proba(X)
    env = dict(os.environ, OMP_NUM_THREADS=str(torch.get_num_threads()))
    out = subprocess.run([sys.executable, "-c", _SUBPROCESS], capture_output=True,
                         text=True, check=True, env=env).stdout
    there = np.frombuffer(bytes.fromhex(out), dtype=np.float64).reshape(here.shape)
    np.testing.assert_array_equal(here, there)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_pickle_round_trip(small, cls):
    X, y = small
    clf = cls(**FAST).fit(X, y)
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(clone.classes_, clf.classes_)


def test_save_params_load_params_round_trip(small, tmp_path):
    X, y = small
    clf = GNNClassifier(**FAST).fit(X, y)
    clf.save_params(f_params=tmp_path / "w.pt", f_history=tmp_path / "h.json")
    fresh = GNNClassifier(random_state=5).initialize(X, y)
    assert not np.allclose(fresh.predict_proba(X), clf.predict_proba(X))
    fresh.load_params(f_params=tmp_path / "w.pt", f_history=tmp_path / "h.json")
    np.testing.assert_array_equal(fresh.predict_proba(X), clf.predict_proba(X))
    assert len(fresh.history_) == 3


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_load_params_is_weights_only(small, tmp_path):
    X, y = small
    clf = MLPClassifier(**FAST).fit(X, y)
    path = tmp_path / "evil.pt"
    torch.save({"head.weight": _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        clf.load_params(f_params=path)


def test_parameters_are_not_changed_by_fit(small):
    X, y = small
    callbacks = [EarlyStopping(monitor="train_loss", patience=100)]
    state = dict(vars(callbacks[0]))
    clf = GNNClassifier(callbacks=callbacks, **FAST)
    params = clf.get_params()
    clf.fit(X, y)
    assert clf.get_params()["callbacks"] is callbacks
    assert clf.get_params().keys() == params.keys()
    # the net trained with a copy; the callback passed is untouched
    assert vars(callbacks[0]) == state
    assert clf.net_.callbacks_[-2][1].best_epoch_ is not None


# --------------------------------------------------------------------------------
# numpy integer parameters (ParameterGrid hands out np.int64 from np.arange)
# --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSIFIERS + REGRESSORS)
def test_numpy_integer_parameters_fit_as_plain_ints(small, cls):
    X, y = small
    params = dict(hidden_size=8, batch_size=32, max_epochs=2)
    if cls in REGRESSORS:
        X, y = make_trajectory_targets(X, horizon=3)
        params["train_horizon"] = 2
    if cls is GRURegressor:
        params["burn_in"] = 2
    as_numpy = {name: np.int64(value) for name, value in params.items()}
    plain = cls(random_state=0, **params).fit(X, y)
    numpy = cls(random_state=0, **as_numpy).fit(X, y)
    method = "predict_proba" if cls in CLASSIFIERS else "predict"
    np.testing.assert_array_equal(getattr(numpy, method)(X), getattr(plain, method)(X))
    assert numpy.get_params()["hidden_size"] is as_numpy["hidden_size"]


def test_grid_search_over_numpy_ranges(small):
    X, y = small
    groups = X.index.get_level_values("worm")
    search = GridSearchCV(
        MLPClassifier(max_epochs=1, random_state=0),
        {"hidden_size": np.arange(4, 9, 4), "batch_size": np.arange(32, 65, 32)},
        cv=GroupKFold(2),
    ).fit(X, y, groups=groups)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    X_t, Y = make_trajectory_targets(X, horizon=3)
    search = GridSearchCV(
        MLPRegressor(max_epochs=1, random_state=0),
        {"train_horizon": np.arange(1, 4)},
        cv=GroupKFold(2),
    ).fit(X_t, Y, groups=X_t.index.get_level_values("worm"))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("params, match", [
    ({"train_horizon": 0}, r"'train_horizon' parameter .* must be an int in the "
                           r"range \[1, inf\)"),
    ({"teacher_forcing_epochs": -1}, r"'teacher_forcing_epochs' parameter .* must be "
                                     r"a float in the range \[0.0, inf\)"),
])
@pytest.mark.parametrize("cls", REGRESSORS)
def test_initialize_checks_regressor_parameters(small, cls, params, match):
    X, _ = small
    X_t, Y = make_trajectory_targets(X, horizon=2)
    with pytest.raises(ValueError, match=match):
        cls(**params).initialize(X_t, Y)
    with pytest.raises(ValueError, match=match):
        cls(max_epochs=1, **params).fit(X_t, Y)


# --------------------------------------------------------------------------------
# worm identity: resolved once per public call
# --------------------------------------------------------------------------------


def _identity_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught
            if issubclass(w.category, WormIdentityWarning)]


@pytest.mark.parametrize("cls", [GNNClassifier, GRURegressor])
def test_numpy_without_groups_warns_once_per_call(small, cls):
    X, y = small
    Xn = X.to_numpy()
    if cls is GRURegressor:
        X, y = make_trajectory_targets(X, horizon=2)
        Xn = X.to_numpy()
    est = cls(max_epochs=1, random_state=0, hidden_size=8)
    name = cls.__name__
    calls = {
        "fit": lambda: est.fit(Xn, y),
        "partial_fit": lambda: est.partial_fit(Xn, y),
        "predict": lambda: est.predict(Xn),
        "score": lambda: est.score(Xn, y),
        "initialize": lambda: est.initialize(Xn, y),
    }
    if cls is GNNClassifier:
        calls["predict_proba"] = lambda: est.predict_proba(Xn)
        calls["inferred_graph"] = lambda: est.inferred_graph(Xn)
    for method, call in calls.items():
        found = _identity_warnings(call)
        assert len(found) == 1, (method, found)
        assert found[0].startswith(f"{name}.{method} received {len(Xn)} rows")
    # worm identity from the index, or from groups: no warning
    groups = X.index.get_level_values("worm")
    for call in (lambda: est.fit(X, y), lambda: est.predict(X),
                 lambda: est.fit(Xn, y, groups=groups),
                 lambda: est.score(Xn, y, groups=groups)):
        assert _identity_warnings(call) == []
