"""skorch callbacks that stop a diverging fit, and interrupt handling."""

from __future__ import annotations

import dis
import math

from skorch.callbacks import Callback

#: A training epoch whose mean loss exceeds this many times the loss of a trivial
#: predictor on the same data stops the fit (see :class:`StopOnRunawayLoss`).
RUNAWAY_FACTOR = 10.0

_LOWER_LR = (
    "Lower lr, scale the inputs (PerWormScaler) or check them for extreme values."
)


class StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a training loss is NaN or inf."""

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        # skorch records the batch's loss as a float before this hook runs; reading
        # it back spares a second device-to-host copy of the loss tensor.
        value = net.history[-1]["batches"][-1]["train_loss"]
        if not math.isfinite(value):
            epoch = len(net.history)
            n_batch = len(net.history[-1, "batches"])
            raise FloatingPointError(
                f"The training loss became {value} at epoch {epoch} (batch "
                f"{n_batch}); the model would predict garbage, so training stopped. "
                + _LOWER_LR
            )


class StopOnRunawayLoss(Callback):
    """Stop training when an epoch's loss runs away from a trivial predictor's.

    The reference, ``net.baseline_loss_`` (the training dataset's
    ``baseline_loss``), is the training loss of a predictor that learned
    nothing, computed by the estimator from the training data: for a classifier
    the log-loss of predicting the class frequencies (the entropy of ``y``), for
    a forecaster the error of predicting no change (where the network starts),
    for direct regression the variance of the standardized targets (1).
    On unscaled input an untrained network can start well above that value, so
    the reference is the larger of it and the untrained (or warm-started)
    network's loss on the first worm's frames, measured before the first step.
    Healthy training ends every epoch below or near the reference; a mean epoch
    loss of more than ``RUNAWAY_FACTOR`` (10) times it means the optimization
    diverged (a too large learning rate, typically), even while the loss is
    still finite.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.start_loss_ = None
        if X is None:
            return
        for batch in net.get_iterator(X, training=False):
            start = float(net.validation_step(batch)["loss"])
            if math.isfinite(start):
                self.start_loss_ = start
            break

    def on_epoch_end(self, net, **kwargs):
        baseline = getattr(net, "baseline_loss_", None)
        loss = net.history[-1].get("train_loss")
        if baseline is None or loss is None or not baseline > 0:
            return
        baseline = max(baseline, getattr(self, "start_loss_", None) or 0.0)
        if loss > RUNAWAY_FACTOR * baseline:
            raise FloatingPointError(
                f"The training loss ran away at epoch {len(net.history)}: {loss:.3g}, "
                f"more than {RUNAWAY_FACTOR:g} times the {baseline:.3g} of a "
                "predictor that learned nothing (training diverged), so training "
                f"stopped. The learning rate (lr={net.lr!r}) is probably too "
                "large. " + _LOWER_LR
            )


def raised_by_callback(exc):
    """Whether a KeyboardInterrupt was raised by a ``raise`` in a skorch callback.

    skorch's ``EarlyStopping`` (and callbacks written like it) stop training by
    raising KeyboardInterrupt, which skorch catches. A Ctrl-C is raised wherever
    Python happens to be, so it is told apart by the innermost frame: a callback
    method, stopped at a ``raise`` instruction.
    """
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    code = frame.f_code.co_code
    at_raise = 0 <= tb.tb_lasti < len(code) and code[tb.tb_lasti] == _RAISE
    return at_raise and isinstance(frame.f_locals.get("self"), Callback)


_RAISE = dis.opmap["RAISE_VARARGS"]


class Interrupted(BaseException):
    """Carries a KeyboardInterrupt past skorch, which would swallow it."""

    def __init__(self, interrupt):
        super().__init__()
        self.interrupt = interrupt
