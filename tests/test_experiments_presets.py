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
    assert full.max_epochs == 20 and full.traj_max_epochs == 16
    assert full.traj_teacher_forcing_epochs < full.traj_max_epochs
