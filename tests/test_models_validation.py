"""Checks of the input (wormsk.models._validation): clear errors, no aliasing."""


import numpy as np
import pandas as pd
import pytest
from _data import FEATURE_NAMES_OK

from wormsk.models import MLPClassifier

pytestmark = FEATURE_NAMES_OK

FAST = dict(max_epochs=3, random_state=0)


# --------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------


def test_bad_input_errors(small):
    X, y = small
    with pytest.raises(ValueError, match="not a multiple of n_channels=2"):
        MLPClassifier(n_channels=2, **FAST).fit(X.iloc[:, :5].to_numpy(), y)
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier(**FAST).fit(X, np.full(len(X), "fwd"))
    with pytest.raises(ValueError, match="y has 239 labels but X has 240 rows"):
        MLPClassifier(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="groups has 3 entries"):
        MLPClassifier(**FAST).fit(X.to_numpy(), y, groups=[0, 1, 2])
    with pytest.raises(ValueError, match="missing labels.*row 3"):
        MLPClassifier(**FAST).fit(X, np.where(np.arange(len(y)) == 3, None, y))
    with pytest.raises(ValueError, match="more than one row for worm 'sim0', frame"):
        MLPClassifier(**FAST).fit(pd.concat([X.iloc[:1], X]), np.r_[y[:1], y])
    with pytest.raises(ValueError, match="Worm 'lonely' has only 1 sample"):
        MLPClassifier(**FAST).fit(X.to_numpy(), y, groups=np.r_[["lonely"],
                                                                 np.zeros(len(y) - 1)])
    clf = MLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="X has 29 features, but MLPClassifier is "
                                         "expecting 30"):
        clf.predict(X.to_numpy()[:, 1:])
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- AIBL"):
        clf.predict(X.iloc[:, 2:])
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        clf.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match=r"'lr' parameter of MLPClassifier must be "
                                         r"a float in the range \(0.0, inf\)"):
        MLPClassifier(lr=0).fit(X, y)


@pytest.mark.parametrize("where", ["fit", "predict"])
def test_nan_is_refused_naming_worm_frames_and_column(small, where):
    X, y = small
    bad = X.copy()
    bad.iloc[130:133, 4] = np.nan  # worm sim1, frames 10-12, third neuron's trace
    column = X.columns[4]
    msg = (r"NaN or infinity: worm 'sim1', frames 10-12 \(3 rows\), "
           rf"column\(s\) {column}")
    if where == "fit":
        with pytest.raises(ValueError, match=msg):
            MLPClassifier(**FAST).fit(bad, y)
    else:
        clf = MLPClassifier(**FAST).fit(X, y)
        with pytest.raises(ValueError, match=msg):
            clf.predict(bad)
        with pytest.raises(ValueError, match="worm 0, frames .row positions"):
            clf.predict(np.where(np.isnan(bad.to_numpy()), np.inf, bad.to_numpy()))
