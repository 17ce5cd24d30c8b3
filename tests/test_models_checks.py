"""scikit-learn's estimator checks on all five wormsk estimators.

Every estimator is checked as the default constructor builds it (sklearn's checks
feed tables of arbitrary width, 1, 3, 5 or 10 unnamed columns, which
``n_channels="auto"`` reads as one channel per column), and once more with small,
fast settings and an explicit ``n_channels=1``.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)

# sklearn's checks pass numpy tables without worm identity: every call takes its
# rows as one worm and says so (tested in test_models_estimator.py).
pytestmark = pytest.mark.filterwarnings(
    "ignore::wormsk.exceptions.WormIdentityWarning"
)

FAST = dict(n_channels=1, max_epochs=20, batch_size=64, random_state=0)

# Known risk with the default random_state=None: a direct regression of unscaled
# random inputs can start with a first-epoch loss near 10 times the variance of its
# targets, where the runaway-loss guard stops training (measured once in 3 runs of
# this file, check_dtype_object on MLPRegressor(): 11.2; peaks of 3-5.4 with seeds
# 0-2).
ESTIMATORS = [
    MLPClassifier(),
    GNNClassifier(),
    MLPRegressor(),
    GNNRegressor(),
    GRURegressor(),
    MLPClassifier(**FAST),
    GNNClassifier(hidden_size=8, **FAST),
    MLPRegressor(**FAST),
    GNNRegressor(hidden_size=8, **FAST),
    GRURegressor(hidden_size=16, **FAST),
]

_PER_WORM = (
    "Every call normalizes each worm by the statistics of all of its rows passed "
    "(the paper's batch norm without running statistics), so predicting a subset "
    "of a worm's frames is predicting a different worm; tested in "
    "test_models_data.py that results do not depend on batch_size or on the other "
    "worms in the call."
)
_ORDER = (
    "Permuting a worm's frames permutes the float32 sums of its batch statistics, "
    "which changes predictions by about 1e-7 (test_models_regressors.py checks "
    "1e-5); the "
    "check demands 1e-9."
)
_GRU_ORDER = (
    "GRURegressor reads each row's burn-in from the preceding rows of its worm, so "
    "row order is time order and changes the input by design."
)
_WEIGHT_EQUIVALENCE = (
    "A weight of 2 is not a repeated frame here: repeating or removing frames "
    "changes the worm's batch statistics (the per-worm normalization) and the "
    "mini-batches, which weights do not; test_conventions.py checks that "
    "sample_weight and class_weight move predictions the way they should."
)

_CLASS_WEIGHT_STEPS = (
    "The check weighs class 0 by 1000 and the others by 1e-4 on 50 noisy frames of "
    "one worm, which are one batch: 10 (or 20) epochs are 10 (or 20) Adam steps, "
    "measured to move the share of class 0 predicted from 0.40 to 0.80 (2 classes) "
    "and from 0.48 to 0.74 (3 classes), short of the 0.87 asked; "
    "test_conventions.py checks class_weight on simulated worms."
)


def _expected_failed_checks(estimator):
    failed = {
        "check_methods_subset_invariance": _PER_WORM,
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_EQUIVALENCE,
    }
    if isinstance(estimator, (MLPClassifier, GNNClassifier)):
        failed["check_class_weight_classifiers"] = _CLASS_WEIGHT_STEPS
    if isinstance(estimator, GRURegressor):
        failed["check_methods_sample_order_invariance"] = _GRU_ORDER
    else:
        failed["check_methods_sample_order_invariance"] = _ORDER
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
