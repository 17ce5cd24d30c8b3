"""The private skorch net (wormsk.models._net): its own parameters and generators."""

import signal

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from _data import FEATURE_NAMES_OK
from sklearn.metrics import log_loss
from sklearn.model_selection import GroupKFold
from skorch.callbacks import Callback, Checkpoint, EarlyStopping
from skorch.dataset import ValidSplit

from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier, GNNRegressor, MLPClassifier, MLPRegressor
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

pytestmark = FEATURE_NAMES_OK

FAST = dict(max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def targets():
    """2 worms x 80 frames, scaled, with 3-frame trajectory targets."""
    X, _ = make_worms(n_worms=2, n_frames=80, random_state=1, return_X_y=True)
    return make_trajectory_targets(PerWormScaler().fit_transform(X), horizon=3)


class _RecordBatches(Callback):
    """The input frames of every training batch, in order."""

    def initialize(self):
        self.batches_ = []
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training:
            self.batches_.append(batch[0].clone())


def _batches(reg):
    return next(cb for _, cb in reg.net_.callbacks_ if isinstance(cb, _RecordBatches))


def test_teacher_forcing_epochs_never_changes_the_batch_order(targets):
    # Scheduled sampling draws from a generator of its own. With 3 epochs,
    # teacher_forcing_epochs=3 draws at epochs 2 and 3 (probabilities 2/3, 1/3);
    # 0 never draws. Sharing the shuffling generator made the batches differ.
    X, Y = targets
    batches = []
    for epochs in (0, 3, 275):
        reg = MLPRegressor(max_epochs=3, batch_size=16, random_state=0,
                           teacher_forcing_epochs=epochs,
                           callbacks=[("rec", _RecordBatches())]).fit(X, Y)
        batches.append(_batches(reg).batches_)
    assert len(batches[0]) == 3 * 10  # 2 worms x 77 frames in chunks of 16
    for other in batches[1:]:
        assert len(other) == len(batches[0])
        assert all(torch.equal(a, b) for a, b in zip(batches[0], other))


def test_scheduled_sampling_draws_change_with_teacher_forcing_epochs(targets):
    # The other half of the separation: the sampling draws do take effect.
    X, Y = targets
    preds = [MLPRegressor(max_epochs=3, random_state=0, teacher_forcing_epochs=t)
             .fit(X, Y).predict(X) for t in (0, 3)]
    assert not np.allclose(*preds)


def test_the_net_holds_its_training_parameters(targets):
    X, Y = targets
    reg = GNNRegressor(max_epochs=1, random_state=0, train_horizon=2,
                       teacher_forcing_epochs=5, interrupt="stop").fit(X, Y)
    params = reg.net_.get_params()
    assert params["horizon"] == 3 and params["train_horizon"] == 2
    assert params["teacher_forcing_epochs"] == 5 and params["interrupt"] == "stop"
    assert isinstance(params["random_state"], int)
    assert reg.net_.rollout_horizon_ == 2
    # warm_start sets the estimator's current values on the net again
    reg.set_params(warm_start=True, teacher_forcing_epochs=0, train_horizon=8,
                   interrupt="raise")
    reg.fit(X, Y)
    params = reg.net_.get_params()
    assert params["teacher_forcing_epochs"] == 0 and params["interrupt"] == "raise"
    assert reg.net_.rollout_horizon_ == 3  # capped by the targets' 3 frames


def test_batch_and_sampling_generators_are_seeded_apart(targets):
    X, Y = targets
    net = MLPRegressor(random_state=0).initialize(X, Y).net_
    again = MLPRegressor(random_state=0).initialize(X, Y).net_
    assert torch.equal(net.batch_generator_.get_state(),
                       again.batch_generator_.get_state())
    assert not torch.equal(net.batch_generator_.get_state(),
                           net.sampling_generator_.get_state())


# Recorded on main (6ac9b60) before the nets took their own parameters and the
# generators were separated: the classifiers' random stream must not change.
_X_REF = dict(n_worms=3, n_frames=200, random_state=1, return_X_y=True)
_REFERENCE = {
    (GNNClassifier, (("edges", "dynamic"), ("batch_size", 64))): [
        [0.00960533, 0.9421364, 0.00802517, 0.00528769, 0.00586113, 0.02539437,
         0.00368991],
        [0.00182938, 0.96631105, 0.00204051, 0.00230264, 0.00138152, 0.02476688,
         0.00136802],
        [0.0128102, 0.91609721, 0.0137467, 0.01512582, 0.00845725, 0.02774685,
         0.00601598],
    ],
    (MLPClassifier, (("aggregation", "sum"), ("batch_size", 50))): [
        [0.02276391, 0.85449384, 0.00843309, 0.0376621, 0.03166456, 0.02173959,
         0.02324292],
        [0.02420761, 0.50004352, 0.02462341, 0.35473366, 0.01331557, 0.01464556,
         0.06843066],
        [0.02359098, 0.74778616, 0.02147268, 0.10793647, 0.02630891, 0.03828927,
         0.03461554],
    ],
}


@pytest.mark.parametrize("key", list(_REFERENCE), ids=lambda k: k[0].__name__)
def test_classifier_predictions_are_those_recorded_before_the_split(key):
    cls, params = key
    X, y = make_worms(**_X_REF)
    clf = cls(max_epochs=3, random_state=7, **dict(params)).fit(X, y)
    proba = clf.predict_proba(X)[[0, 150, 599]]
    np.testing.assert_allclose(proba, _REFERENCE[key], rtol=0, atol=2e-8)


# --------------------------------------------------------------------------------
# skorch surface: train_split, callbacks, warm start, faults
# --------------------------------------------------------------------------------


def test_worm_grouped_validation_split_with_early_stopping_and_checkpoint(
    worms, tmp_path
):
    _, X, y = worms
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor="valid_loss_best")
    clf = MLPClassifier(
        max_epochs=30,
        train_split=ValidSplit(GroupKFold(n_splits=4)),
        callbacks=[EarlyStopping(patience=2), checkpoint],
        random_state=0,
    ).fit(X, y)
    history = clf.history_
    assert "valid_loss" in history[-1] and "valid_acc" in history[-1]
    assert len(history) < 30  # stopped early
    # one worm out of four is held out: 600 frames, one batch per worm
    assert history[-1, "valid_batch_count"] == 1
    batches = history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 1800
    assert [b["valid_batch_size"] for b in batches if "valid_batch_size" in b] == [600]
    best = int(np.argmin(history[:, "valid_loss"]))
    assert history[best, "valid_loss_best"]
    clf.load_params(checkpoint=checkpoint)
    # the restored weights are the best epoch's: same loss on the held-out worm
    codes = pd.factorize(X.index.get_level_values("worm"))[0]
    _, valid = next(GroupKFold(n_splits=4).split(X, groups=codes))
    proba = clf.predict_proba(X.iloc[valid])
    loss = log_loss(y[valid], proba, labels=clf.classes_)
    assert loss == pytest.approx(history[best, "valid_loss"], rel=1e-4)
    with sklearn.config_context(enable_metadata_routing=True):
        clf2 = MLPClassifier(max_epochs=2, train_split=ValidSplit(GroupKFold(4)),
                             random_state=0).fit(X, y)
    assert clf2.history_[-1, "valid_batch_count"] == 1


def test_warm_start_continues_and_interrupt_keeps_model(small):
    X, y = small

    class Interrupt(Callback):  # Ctrl-C at the end of epoch 2
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                signal.raise_signal(signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):  # by default Ctrl-C leaves fit
        MLPClassifier(max_epochs=5, callbacks=[Interrupt()]).fit(X, y)
    with pytest.warns(UserWarning, match="interrupted during epoch 2"):
        clf = MLPClassifier(max_epochs=5, callbacks=[Interrupt()], warm_start=True,
                            interrupt="stop", random_state=0).fit(X, y)
    assert len(clf.history_) == 2
    before = clf.predict_proba(X)
    clf.set_params(callbacks=None, max_epochs=2).fit(X, y)
    assert len(clf.history_) == 4
    assert not np.allclose(clf.predict_proba(X), before)
    with pytest.raises(ValueError, match=r"not in the classes \[.*\] of the first fit"):
        clf.fit(X, np.where(y == y[0], "new", y))


def test_non_finite_training_loss_stops_with_epoch(small):
    X, y = small

    class Corrupt(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 2:
                with torch.no_grad():
                    next(net.module_.parameters()).fill_(float("nan"))

    with pytest.raises(FloatingPointError, match="became nan at epoch 2"):
        MLPClassifier(max_epochs=4, callbacks=[Corrupt()], random_state=0).fit(X, y)


def test_device_cpu_and_unavailable_cuda(small):
    X, y = small
    clf = MLPClassifier(device="cpu", **FAST).fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            MLPClassifier(device="cuda", **FAST).fit(X, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_predictions_match_cpu(small):
    X, y = small
    clf = GNNClassifier(device="cuda", **FAST).fit(X, y)
    assert next(clf.module_.parameters()).device.type == "cuda"
    assert clf.predict_proba(X).shape == (len(X), len(clf.classes_))
