"""Parameter documentation shared by the experiments (``docdict`` entries)."""

from wormsk._docs import docdict

docdict["exp_data"] = """data : Bunch, DataFrame or array-like
    Recordings with state labels: a dataset Bunch, a recording table, or an
    array with ``groups`` (see :func:`wormsk.datasets.recording_table`)."""
docdict["exp_y"] = """y : array-like of str, optional
    Labels when ``data`` is a table or an array."""
docdict["exp_groups"] = """groups : array-like, optional
    Worm of every row, for numpy input or a table without a ``worm`` index
    level."""
docdict["exp_input"] = "\n".join(
    docdict[k] for k in ("exp_data", "exp_y", "exp_groups")
)
docdict["exp_preset"] = """preset : str or Preset, default="quick"
    Settings (see :data:`PRESETS` and :func:`get_preset`)."""
docdict["exp_random_state"] = """random_state : int or None, default=0
    Seeds the networks (and the block shuffling and draws of the experiment):
    the same seed gives the same table."""
docdict["exp_factory_settings"] = """preset : str or Preset, default="quick"
    Hidden size, epochs, learning rate and batch size of the networks (see
    :data:`PRESETS`).
random_state : int or None, default=0
    Seed of every network."""
docdict["exp_n_jobs"] = """n_jobs : int, optional
    Fits run in parallel (joblib)."""
docdict["exp_progress"] = """progress : callable, optional
    ``progress(done, total, label)``: once with ``done=0`` before the first
    fit, then after each fit."""
docdict["exp_run"] = "\n".join(
    docdict[k] for k in ("exp_preset", "exp_random_state", "exp_n_jobs", "exp_progress")
)
docdict["exp_baseline"] = """baseline : bool, default=True
    Add model ``"Majority class"`` (:data:`MAJORITY`): a
    ``DummyClassifier(strategy="most_frequent")`` in the same pipeline,
    fitted and scored on the same splits; its accuracy is the test frames'
    rate of the training majority class."""
docdict["exp_returns_scores"] = """result : Bunch
    ``scores``: one row per model and split, with the columns ``model``,
    ``evaluation``, ``split``, ``n_train_worms``, ``train_worms``,
    ``test_worms``, ``n_test_frames``, ``accuracy``, ``fit_time``;
    ``preset``: the :class:`Preset` used."""
