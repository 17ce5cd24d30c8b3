import numpy as np
import pandas as pd
import pytest
from sklearn.utils import Bunch

from wormsk import experiments as ex
from wormsk.datasets import make_worms
from wormsk.preprocessing import PerWormScaler


@pytest.fixture(scope="module")
def worms():
    return make_worms(n_worms=3, n_frames=400, random_state=0)


def test_trajectory_errors_layout(worms):
    errors = ex.trajectory(worms, preset="tiny").scores
    horizon = ex.PRESETS["tiny"].horizon
    assert list(errors.columns) == [
        "model", "training", "split", "n_train_worms", "train_worms", "test_worms",
        "step", "mae", "mse", "fit_time",
    ]  # fmt: skip
    # models x trainings x steps for 1 split, then the no-change baseline
    assert len(errors) == 3 * 2 * horizon + horizon
    assert list(pd.unique(errors["model"])) == ["MLP", "GNN", "GRU", "no change"]
    still = errors[errors["model"] == "no change"]
    assert (still["training"] == "none").all() and (still["n_train_worms"] == 0).all()
    # Hand check of the baseline: the test worm scaled to [-1, 1], frame t
    # repeated against frames t+1..t+horizon.
    from wormsk.preprocessing import PerWormScaler

    sim0 = worms.data.xs("sim0", level="worm", drop_level=False)
    x = np.asarray(PerWormScaler(feature_range=(-1, 1)).fit_transform(sim0))
    gap = np.abs(x[2:] - x[:-2])[: len(x) - horizon].mean()
    assert still.loc[still["step"] == 2, "mae"].item() == pytest.approx(gap, rel=1e-5)
    assert still["mae"].is_monotonic_increasing
    one = errors[errors["training"] == "1 worm"]
    assert (one["n_train_worms"] == 1).all() and (one["train_worms"] == "sim1").all()
    assert (errors["test_worms"] == "sim0").all()
    assert list(errors["step"].iloc[:horizon]) == list(range(1, horizon + 1))
    assert (errors["mae"] > 0).all() and (errors["mse"] > 0).all()
    # On [-1, 1]-scaled channels, the absolute error is below the range.
    assert errors["mae"].max() < 2


def test_trajectory_on_a_second_dataset(worms):
    study2 = make_worms(n_worms=2, n_frames=200, random_state=5)
    fast = ex.get_preset("tiny", traj_max_epochs=1)
    errors = ex.trajectory(
        worms, test_data=study2, estimators={"MLP": ex.default_regressors(
            ["MLP"], preset=fast)["MLP"]}, preset=fast, baseline=False,
    ).scores  # fmt: skip
    assert set(errors["test_worms"]) == {"sim0,sim1"}
    assert set(errors["n_train_worms"]) == {1, 3}


def test_trajectory_windows_never_cross_dropped_frames_of_a_loaded_table(worms):
    # A loader drops unlabelled frames and keeps the original frame numbers, so a
    # worm's index has gaps; forecast windows must not run across them.
    frame = worms.data.index.get_level_values("frame")
    dropped = (worms.groups == "sim0") & (frame >= 100) & (frame < 120)
    keep = ~np.asarray(dropped)
    gapped = Bunch(data=worms.data[keep], target=worms.target[keep],
                   groups=worms.groups[keep])  # fmt: skip
    fast = ex.get_preset("tiny", traj_max_epochs=1)
    errors = ex.trajectory(
        gapped, estimators={"MLP": ex.default_regressors(["MLP"], preset=fast)["MLP"]},
        preset=fast,
    ).scores  # fmt: skip
    horizon = fast.horizon
    sim0 = gapped.data.xs("sim0", level="worm", drop_level=False)
    x = np.asarray(PerWormScaler(feature_range=(-1, 1)).fit_transform(sim0))
    runs = [x[:100], x[100:]]  # frames 0-99 and 120-399
    gaps = np.concatenate(
        [np.abs(r[1:] - r[:-1])[: len(r) - horizon].ravel() for r in runs]
    )
    still = errors[(errors["model"] == "no change") & (errors["step"] == 1)]
    assert still["mae"].item() == pytest.approx(gaps.mean(), rel=1e-5)


def test_trajectory_fits_each_training_set_once(worms):
    fast = ex.get_preset("tiny", traj_max_epochs=1, traj_max_splits=None)
    calls = []
    errors = ex.trajectory(
        worms, estimators={"MLP": ex.default_regressors(["MLP"], preset=fast)["MLP"]},
        preset=fast, progress=lambda *a: calls.append(a), baseline=False,
    ).scores  # fmt: skip
    # 3 splits x (all, 1 worm); the "1 worm" of splits 1 and 2 is sim0 both times.
    assert calls[-1][:2] == (5, 5)
    one = errors[(errors["training"] == "1 worm") & (errors["step"] == 1)]
    assert one["train_worms"].tolist() == ["sim1", "sim0", "sim0"]
    assert one["fit_time"].iloc[1] == one["fit_time"].iloc[2]
    assert one["mae"].iloc[1] != one["mae"].iloc[2]  # different test worms
