"""GridSearchCV over a wormsk pipeline on a Dask cluster (joblib's dask backend).

Two worker processes on this machine stand in for a cluster: the search must
give the same best parameters and the same per-split scores as a local run.
"""

import numpy as np
import pytest
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import GNNClassifier
from wormsk.preprocessing import PerWormScaler

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed (pip install wormsk[dask])"
)


def _search():
    pipe = make_pipeline(
        PerWormScaler(), GNNClassifier(max_epochs=3, batch_size=64, random_state=0)
    )
    grid = {"gnnclassifier__hidden_size": [4, 8], "gnnclassifier__lr": [1e-2, 3e-2]}
    return GridSearchCV(pipe, grid, cv=LeaveWormsOut(), error_score="raise")


def test_grid_search_on_a_dask_cluster_matches_a_local_run():
    X, y = make_worms(n_worms=3, n_frames=120, random_state=0, return_X_y=True)
    local = _search().fit(X, y)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with parallel_backend("dask"):
            remote = _search().fit(X, y)
        # the fits really ran on the two worker processes
        ran = client.run(lambda: __import__("sys").modules.get("wormsk.models")
                         is not None)
    assert sorted(ran.values()) == [True, True]
    assert remote.best_params_ == local.best_params_
    keys = [k for k in local.cv_results_ if k.startswith("split") or
            k in ("mean_test_score", "rank_test_score")]
    for key in keys:
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key],
                                      err_msg=key)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))
