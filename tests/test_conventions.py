"""The conventions sklearn and skorch users expect (issue 12, items 4-9).

Parameter validation with ``_parameter_constraints``; skorch's routed
parameters in ``set_params``, ``clone`` and grid searches; ``class_weight``,
``sample_weight`` and ``partial_fit``; ``n_channels="auto"``; worm-grouped
internal validation; the unfitted ``load_params`` message and the HTML repr's
link to the API docs.
"""

import warnings

import numpy as np
import pytest
import sklearn
from _data import CLASSIFIERS, ESTIMATORS, FAST, REGRESSORS, training_data
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectKBest
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.models._estimator import DOC_URL
from wormsk.preprocessing import PerWormScaler

_STOP = EarlyStopping(monitor="train_loss")  # copied by every fit, never changed


@pytest.fixture(scope="module")
def imbalanced():
    """3 worms x 200 frames, scaled per worm: 65% of frames are forward."""
    X, y = make_worms(n_worms=3, n_frames=200, random_state=0, return_X_y=True)
    return PerWormScaler().set_output(transform="pandas").fit_transform(X), y


# ---------------------------------------------------------------------------
# 4. parameter validation


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_has_a_constraint(cls):
    assert set(cls().get_params()) == set(cls._parameter_constraints)


_BAD = [
    ([GNNClassifier, MLPClassifier, MLPRegressor, GNNRegressor], "aggregation", "bad",
     r"'aggregation' parameter of \w+ must be a str among \{'concat', 'sum'\}|"
     r"'aggregation' parameter of \w+ must be a str among \{'sum', 'concat'\}"),
    ([GNNClassifier, GNNRegressor], "edges", "both", "'edges' parameter"),
    (REGRESSORS, "target", "future", "'target' parameter"),
    (REGRESSORS, "train_horizon", 0, r"'train_horizon' parameter .* range \[1, inf\)"),
    ([GRURegressor], "burn_in", 0, r"'burn_in' parameter .* range \[1, inf\)"),
    (CLASSIFIERS, "class_weight", "even", "'class_weight' parameter"),
    (ESTIMATORS, "hidden_size", 2.5, "'hidden_size' parameter"),
    (ESTIMATORS, "batch_size", 1, "'batch_size' parameter .* range \\[2, inf\\) or "
                                  "a?n? int among \\{-1\\}"),
]


@pytest.mark.parametrize("classes, name, value, match", _BAD,
                         ids=[f"{n}={v!r}" for _, n, v, _ in _BAD])
def test_bad_parameters_are_refused_before_any_data_work(classes, name, value, match):
    # Issue 12 measured GNNClassifier(aggregation="bad") failing inside torch
    # after X and y were validated: now nothing looks at the data first (these
    # X and y would be refused themselves).
    for cls in classes:
        with pytest.raises(InvalidParameterError, match=match):
            cls(**{name: value}).fit(object(), None)


# ---------------------------------------------------------------------------
# 5. skorch's routed parameters


def test_routed_parameters_reach_the_optimizer_loss_and_callbacks(rec):
    X, y = rec
    clf = MLPClassifier(optimizer="sgd", callbacks=[("es", _STOP)], **FAST)
    clf.set_params(optimizer__momentum=0.9, criterion__label_smoothing=0.1,
                   callbacks__es__patience=7)
    params = clf.get_params()
    assert params["optimizer__momentum"] == 0.9
    assert params["callbacks__es__patience"] == 7
    twin = clone(clf)  # sklearn's clone checks every parameter came through
    assert twin.get_params()["criterion__label_smoothing"] == 0.1
    assert "optimizer__momentum=0.9" in repr(twin)
    twin.fit(X, y)
    assert twin.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    assert twin.net_.criterion_.label_smoothing == 0.1
    assert dict(twin.net_.callbacks_)["es"].patience == 7
    # the callback passed stays as given
    assert clf.callbacks[0][1].patience == EarlyStopping().patience
    # a different momentum trains a different model
    other = clone(clf).set_params(optimizer__momentum=0.0).fit(X, y)
    assert not np.allclose(other.predict_proba(X), twin.predict_proba(X))


def test_routed_parameters_in_a_grid_search(rec):
    # Issue 12: "invalid parameter", or 'list' object has no attribute 'set_params'.
    X, y = rec
    pipe = make_pipeline(
        PerWormScaler().set_output(transform="pandas"),
        MLPClassifier(optimizer="sgd", callbacks=[("es", _STOP)], **FAST),
    )
    grid = {"mlpclassifier__optimizer__momentum": [0.0, 0.9],
            "mlpclassifier__callbacks__es__patience": [2, 3]}
    search = GridSearchCV(pipe, grid, cv=LeaveWormsOut()).fit(
        X, y, groups=X.index.get_level_values("worm"))
    assert len(search.cv_results_["params"]) == 4
    best = search.best_estimator_[-1]
    assert best.net_.optimizer_.param_groups[0]["momentum"] == (
        search.best_params_["mlpclassifier__optimizer__momentum"])
    assert dict(best.net_.callbacks_)["es"].patience == (
        search.best_params_["mlpclassifier__callbacks__es__patience"])


@pytest.mark.parametrize("params, match", [
    ({"optimizer__nesterov_": True}, r"optimizer__nesterov_: SGD has no parameter "
                                     r"'nesterov_'; it takes \[.*'momentum'"),
    ({"criterion__smooth": 0.1}, "criterion__smooth: CrossEntropyLoss has no "
                                 "parameter 'smooth'"),
    ({"optimizer__lr": 0.1}, "optimizer__lr cannot be set: use the parameter 'lr'"),
    ({"optimizer__weight_decay": 0.1}, "use the parameter 'weight_decay'"),
    ({"criterion__reduction": "sum"}, "criterion__reduction cannot be set"),
    ({"callbacks__es": 3}, "callbacks__es: name a callback and its parameter"),
    ({"callbacks__nope__patience": 3}, r"there is no callback named 'nope'; the "
                                       r"callbacks are \[.*'es'.*'train_loss'"),
])
def test_routed_names_nothing_takes_are_refused_naming_them(rec, params, match):
    clf = MLPClassifier(optimizer="SGD", callbacks=[("es", _STOP)], **FAST)
    with pytest.raises(InvalidParameterError, match=match):
        clf.set_params(**params).fit(*rec)


def test_unknown_keyword_is_stored_then_refused_by_fit(rec):
    clf = GNNClassifier(hiden_size=8)  # sklearn's __init__ only stores
    with pytest.raises(TypeError, match="unexpected keyword argument 'hiden_size'"):
        clf.fit(*rec)
    with pytest.raises(ValueError, match="Invalid parameter 'hiden'"):
        GNNClassifier().set_params(hiden=8)


# ---------------------------------------------------------------------------
# 6. class_weight, sample_weight, partial_fit


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_balanced_class_weight_predicts_rare_states_more(imbalanced, cls):
    X, y = imbalanced
    plain = cls(max_epochs=5, random_state=0).fit(X, y).predict(X)
    balanced = cls(max_epochs=5, random_state=0, class_weight="balanced").fit(X, y)
    weighted = balanced.predict(X)
    # Measured: forward predicted for 0.64 (MLP) / 0.66 (GNN) of frames unweighted,
    # 0.49 / 0.52 balanced (0.65 true); balanced accuracy 0.76 -> 0.81, 0.73 -> 0.83.
    assert np.mean(weighted == "fwd") < np.mean(plain == "fwd") - 0.1
    assert balanced_accuracy_score(y, weighted) > balanced_accuracy_score(y, plain)
    # a dict weighing one rare state up predicts it more often
    vt = cls(max_epochs=5, random_state=0, class_weight={"vt": 10.0}).fit(X, y)
    assert np.mean(vt.predict(X) == "vt") > np.mean(plain == "vt") + 0.02


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_class_weight_dict_equals_the_same_sample_weight(rec, cls):
    X, y = rec
    first, second = sorted(set(y))[:2]
    weights = {first: 0.5, second: 3.0}
    by_class = cls(class_weight=weights, **FAST).fit(X, y)
    per_row = np.array([weights.get(label, 1.0) for label in y])
    by_row = cls(**FAST).fit(X, y, sample_weight=per_row)
    np.testing.assert_allclose(by_class.predict_proba(X), by_row.predict_proba(X),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"labels \['turn'\] are not classes of y"):
        cls(class_weight={"turn": 2.0}, **FAST).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_sample_weight(rec, cls):
    X, y = training_data(cls, rec)
    base = cls(**FAST).fit(X, y)
    ones = cls(**FAST).fit(X, y, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(ones.predict(X) if cls in REGRESSORS else
                               ones.predict_proba(X),
                               base.predict(X) if cls in REGRESSORS else
                               base.predict_proba(X), rtol=1e-5, atol=1e-6)
    # worm sim2 weighed 0: the fit is that of the other worms' loss (its frames
    # still take part in batches of their own worm, whose loss counts 0)
    worms = X.index.get_level_values("worm")
    zero = cls(**FAST).fit(X, y, sample_weight=(worms != "sim2").astype(float))
    out = zero.predict(X) if cls in REGRESSORS else zero.predict_proba(X)
    ref = base.predict(X) if cls in REGRESSORS else base.predict_proba(X)
    assert not np.allclose(out, ref)
    with pytest.raises(ValueError, match="sample_weight"):
        cls(**FAST).fit(X, y, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="at least one non-zero"):
        cls(**FAST).fit(X, y, sample_weight=np.zeros(len(X)))


def test_sample_weight_and_groups_are_routed_by_metadata_routing(rec):
    X, y = rec
    Xn, groups = X.to_numpy(), X.index.get_level_values("worm")
    weights = np.linspace(0.5, 2.0, len(y))
    cv = LeaveWormsOut()
    with sklearn.config_context(enable_metadata_routing=True):
        clf = MLPClassifier(**FAST).set_fit_request(groups=True, sample_weight=True)
        clf.set_score_request(groups=True, sample_weight=False)
        routed = cross_validate(clf, Xn, y, cv=cv, return_estimator=True,
                                params={"groups": groups, "sample_weight": weights})
    train, _ = next(cv.split(Xn, y, groups))
    direct = MLPClassifier(**FAST).fit(Xn[train], y[train], groups=groups[train],
                                       sample_weight=weights[train])
    np.testing.assert_array_equal(routed["estimator"][0].predict_proba(Xn[train],
                                                                       groups[train]),
                                  direct.predict_proba(Xn[train], groups[train]))


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_partial_fit_is_one_epoch_of_fit(rec, cls):
    X, y = training_data(cls, rec)
    extra = {} if cls in REGRESSORS else {"classes": np.unique(y)}
    stepwise = cls(random_state=0)
    stepwise.partial_fit(X, y, **extra).partial_fit(X, y)
    assert len(stepwise.history_) == 2
    whole = cls(random_state=0, max_epochs=2).fit(X, y)
    # the same per-worm batches, in the same order: the same model
    a = stepwise.predict(X) if cls in REGRESSORS else stepwise.predict_proba(X)
    b = whole.predict(X) if cls in REGRESSORS else whole.predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_partial_fit_classes(rec, cls):
    X, y = rec
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        cls(**FAST).partial_fit(X, y)
    with pytest.raises(ValueError, match=r"label\(s\) \['fwd'\] not in classes="):
        cls(**FAST).partial_fit(X, y, classes=[c for c in np.unique(y) if c != "fwd"])
    classes = [*np.unique(y), "zzz"]  # a state these frames never show
    first = y != y[0]
    clf = cls(**FAST).partial_fit(X[first], y[first], classes=classes)
    np.testing.assert_array_equal(clf.classes_, np.unique(classes))
    clf.partial_fit(X, y, classes=["ignored"])  # as sklearn: ignored after the first
    assert clf.predict_proba(X).shape == (len(X), len(classes))
    with pytest.raises(ValueError, match=r"label\(s\) \['new'\] not in the classes"):
        clf.partial_fit(X, np.where(first, y, "new"))
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        cls(class_weight="balanced", **FAST).partial_fit(X, y, classes=classes)


# ---------------------------------------------------------------------------
# 7. n_channels="auto"


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_n_channels_auto_reads_column_names(rec, cls):
    X, y = training_data(cls, rec)
    named = cls(**FAST).fit(X, y)
    assert (named.n_channels_, named.n_neurons_) == (2, 15)
    assert named.neuron_names_[0] == X.columns[0].rsplit("_", 1)[0]
    explicit = cls(n_channels=2, **FAST).fit(X, y)
    out = named.predict(X) if cls in REGRESSORS else named.predict_proba(X)
    ref = explicit.predict(X) if cls in REGRESSORS else explicit.predict_proba(X)
    np.testing.assert_array_equal(out, ref)
    unnamed = cls(**FAST).fit(X.to_numpy(), np.asarray(y))
    assert (unnamed.n_channels_, unnamed.n_neurons_) == (1, 30)


def test_n_channels_auto_on_other_names(rec):
    X, y = rec
    numbered = X.set_axis([f"PC_{i}" for i in range(X.shape[1])], axis=1)
    clf = MLPClassifier(**FAST).fit(numbered, y)
    assert clf.n_channels_ == 1 and clf.neuron_names_[:2] == ["PC_0", "PC_1"]
    traces = X.iloc[:, ::2]  # AVAL_trace, ...: one channel per neuron
    assert MLPClassifier(**FAST).fit(traces, y).n_neurons_ == 15
    partial = X.iloc[:, 1:]  # the first neuron lost its trace
    with pytest.warns(UserWarning, match="not one layout for all neurons.*every "
                                         "column is a node"):
        clf = MLPClassifier(**FAST).fit(partial, y)
    assert clf.n_neurons_ == 29 and clf.neuron_names_[0] == X.columns[1]


@pytest.mark.parametrize("cls", [GNNClassifier, MLPClassifier])
def test_select_k_best_in_front_of_a_network(rec, cls):
    # Issue 12: SelectKBest in front of a network broke (odd widths).
    X, y = rec
    pipe = make_pipeline(SelectKBest(k=7), cls(**FAST)).fit(X.to_numpy(), y)
    assert pipe[-1].n_neurons_ == 7
    assert pipe.predict(X.to_numpy()).shape == (len(X),)


# ---------------------------------------------------------------------------
# 8. internal validation split


class _ValidWorms(Callback):
    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kw):
        base = dataset_train.dataset
        self.train = set(base.worms.codes[dataset_train.indices])
        self.valid = set(base.worms.codes[dataset_valid.indices])


@pytest.mark.parametrize("cv", [3, 0.34])
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_valid_split_holds_out_whole_worms_without_warnings(rec, cv, cls):
    X, y = training_data(cls, rec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "groups parameter is ignored by KFold"
        model = cls(train_split=ValidSplit(cv), callbacks=[("w", _ValidWorms())],
                    **FAST).fit(X, y)
    seen = dict(model.net_.callbacks_)["w"]
    assert seen.valid and seen.train and not seen.valid & seen.train
    assert np.isfinite(model.history_[-1, "valid_loss"])


def test_valid_split_of_frames_on_request_and_too_few_worms(rec):
    X, y = rec
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frames = KFold(3, shuffle=True, random_state=0)
        model = MLPClassifier(train_split=ValidSplit(frames),
                              callbacks=[("w", _ValidWorms())], **FAST).fit(X, y)
    assert dict(model.net_.callbacks_)["w"].valid == {0, 1, 2}
    model = MLPClassifier(train_split=ValidSplit(GroupKFold(3)),
                          callbacks=[("w", _ValidWorms())], **FAST).fit(X, y)
    assert len(dict(model.net_.callbacks_)["w"].valid) == 1
    with pytest.raises(ValueError, match=r"ValidSplit\(5\) holds out whole worms.*"
                                         r"at least 5 worms, but X has 3.*KFold"):
        MLPClassifier(train_split=ValidSplit(5), **FAST).fit(X, y)


# ---------------------------------------------------------------------------
# 9. load_params before initialize; the HTML repr's link


def test_load_params_on_an_unfitted_estimator_points_to_initialize(tmp_path):
    with pytest.raises(NotFittedError, match=r"GNNClassifier has no network to load "
                                             r"parameters into yet: call "
                                             r"initialize\(X, y\)"):
        GNNClassifier().load_params(f_params=tmp_path / "p.pt")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_html_repr_links_to_the_api_docs(cls):
    url = f"{DOC_URL}generated/wormsk.models.{cls.__name__}.html"
    assert cls()._get_doc_link() == url
    assert f'href="{url}"' in cls()._repr_html_()
