"""scikit-learn's estimator checks on all five wormsk estimators.

sklearn's checks feed tables of arbitrary width (1, 3, 5, 10 columns), so they run
with ``n_channels=1``, where every column is a node, and small, fast settings.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)

FAST = dict(n_channels=1, max_epochs=20, batch_size=64, random_state=0)

ESTIMATORS = [
    MLPClassifier(**FAST),
    GNNClassifier(hidden_size=8, **FAST),
    MLPRegressor(**FAST),
    GNNRegressor(hidden_size=8, **FAST),
    GRURegressor(hidden_size=16, **FAST),
]

_PER_WORM = (
    "Every call normalizes each worm by the statistics of all of its rows passed "
    "(the paper's batch norm without running statistics), so predicting a subset "
    "of a worm's frames is predicting a different worm; tested in test_models.py "
    "that results do not depend on batch_size or on the other worms in the call."
)
_ORDER = (
    "Permuting a worm's frames permutes the float32 sums of its batch statistics, "
    "which changes predictions by about 1e-7 (test_models.py checks 1e-5); the "
    "check demands 1e-9."
)
_GRU_ORDER = (
    "GRURegressor reads each row's burn-in from the preceding rows of its worm, so "
    "row order is time order and changes the input by design."
)


def _expected_failed_checks(estimator):
    failed = {"check_methods_subset_invariance": _PER_WORM}
    if isinstance(estimator, GRURegressor):
        failed["check_methods_sample_order_invariance"] = _GRU_ORDER
    else:
        failed["check_methods_sample_order_invariance"] = _ORDER
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
