import pytest

from wormsk import experiments as ex


def test_presets_keep_enough_repeats_and_the_full_run_short():
    quick, full = ex.PRESETS["quick"], ex.PRESETS["full"]
    # Every quick mean has a standard deviation over at least 4 values.
    assert quick.seen_max_folds >= 5 and quick.max_combinations >= 4
    assert quick.traj_max_splits >= 2
    # Full: the paper's protocol (10 folds, every combination and test worm)
    # with epochs at which held-out accuracy has levelled off.
    assert full.seen_n_splits == 10 and full.seen_max_folds is None
    assert full.max_combinations is None and full.traj_max_splits is None
    assert full.max_epochs == 10 and full.traj_max_epochs == 8
    assert full.traj_teacher_forcing_epochs < full.traj_max_epochs


def test_full_preset_gnn_forecaster_has_its_own_hidden_size():
    full = ex.default_regressors(preset="full")
    assert {name: est.hidden_size for name, est in full.items()} == {
        "MLP": 32,
        "GNN": 16,
        "GRU": 32,
    }
    # Unset, every forecaster takes traj_hidden_size.
    tiny = ex.default_regressors(preset="tiny")
    assert {est.hidden_size for est in tiny.values()} == {8}
    assert ex.PRESETS["quick"].traj_gnn_hidden_size is None


def test_get_preset_by_name_with_overrides():
    assert ex.get_preset("quick") is ex.PRESETS["quick"]
    assert ex.get_preset(ex.PRESETS["tiny"]) is ex.PRESETS["tiny"]
    p = ex.get_preset("tiny", max_epochs=1, missing_fractions=(0.0, 0.5))
    assert (p.name, p.max_epochs, p.hidden_size) == ("tiny", 1, 8)
    assert p.missing_fractions == (0.0, 0.5)
    assert ex.PRESETS["tiny"].max_epochs == 3  # presets are never changed
    with pytest.raises(ValueError, match="preset must be one of"):
        ex.get_preset("huge")
    with pytest.raises(ValueError, match=r"Unknown preset setting\(s\) \['epochs'\]"):
        ex.get_preset("quick", epochs=3)
