"""Documentation of the estimators' parameters, each written once.

The entries go into :data:`wormsk._docs.docdict` under names that start with
``models_``; the estimators' docstrings name them as ``%(models_<name>)s`` and are
filled by :func:`fill_doc`, imported from here so that the entries are in place.
"""

from __future__ import annotations

from .._docs import docdict, fill_doc

__all__ = ["fill_doc"]

_ENTRIES = {
    # -- shared by every estimator -------------------------------------------------
    "max_epochs": """max_epochs : int, default=10
    Training epochs (passes over all frames).""",
    "batch_size": """batch_size : int, default=256
    Frames per training batch, every batch drawn from one worm (the paper used
    600 for classification). Prediction runs each worm as one batch regardless.
    -1: whole worms.""",
    "optimizer": """optimizer : torch optimizer class or str, default=torch.optim.Adam
    A name selects that optimizer of ``torch.optim`` (case-insensitive, e.g.
    ``"adam"``, ``"adamw"``, ``"sgd"``).""",
    "weight_decay": """weight_decay : float, default=0.0
    L2 penalty passed to the optimizer.""",
    "n_channels": """n_channels : int or "auto", default="auto"
    Columns per neuron. ``"auto"``: read from ``<NEURON>_<channel>`` column
    names (the number of channels of every neuron, e.g. 2 for ``AVAL_trace,
    AVAL_deriv, ...``); one channel per column, every column a node, for
    numpy input or other names. An integer fixes it (the width of X must
    be a multiple).""",
    "norm": """norm : bool, default=True
    Normalize every block by the statistics of the current batch, i.e. of one
    worm, in training and prediction alike (the authors' batch norm without
    running statistics).""",
    "train_split": """train_split : callable or None, default=None
    Internal validation split. ``None`` (default) trains on everything.
    ``ValidSplit(5)`` or ``ValidSplit(0.2)`` hold out whole worms
    (``GroupKFold(5)``, ``GroupShuffleSplit(test_size=0.2)`` on the worms);
    a ValidSplit of a group splitter (``ValidSplit(GroupKFold(5))``)
    receives the worm of every row as ``groups``; ``ValidSplit(KFold(5))``
    splits frames within worms. This enables ``valid_loss`` (and, for the
    classifiers, ``valid_acc``) for callbacks such as
    :class:`skorch.callbacks.EarlyStopping` or ``Checkpoint``.""",
    "callbacks": """\
callbacks : list of skorch callbacks or (name, callback) tuples, default=None
    Added to the private skorch net (copies; the objects passed stay unchanged).
    A ``Checkpoint`` (or ``TrainEndCheckpoint``) writes into
    ``<dirname>/<checkpoint_folder_>``, a folder of each fit's own, so fits run
    in parallel (``GridSearchCV(n_jobs=...)``, a Dask cluster) never share
    files; ``load_params(checkpoint=...)`` with that Checkpoint reads them.""",
    "warm_start": """warm_start : bool, default=False
    If True and already fitted, ``fit`` continues training the same network
    for ``max_epochs`` more epochs (same columns, and same classes or target
    width, required).""",
    "random_state": """random_state : int, RandomState instance or None, default=None
    Seeds weight initialization, batch shuffling and (regressors) scheduled
    sampling, the latter two from generators of their own: the same value gives
    the same predictions, also in another process (with the same
    ``WORMSK_NUM_THREADS``: other thread counts round differently).""",
    "device": """device : {"cpu", "cuda"}, default="cpu"
    Torch device: ``"cpu"``, or ``"cuda"`` (``"cuda:<index>"``) when CUDA is
    available.""",
    "verbose": """verbose : int, default=0
    skorch's per-epoch log when > 0.""",
    "interrupt": """interrupt : {"raise", "stop"}, default="raise"
    What Ctrl-C (``KeyboardInterrupt``) during ``fit`` does. ``"raise"``: it
    leaves ``fit`` as a ``KeyboardInterrupt``, so a cross-validation or grid
    search stops instead of scoring a half-trained model. ``"stop"``:
    training ends after the current batch and ``fit`` returns the partly
    trained model with a warning (skorch's own behaviour); ``warm_start=True``
    can continue it. A callback that raises ``KeyboardInterrupt`` to end
    training early, as skorch's ``EarlyStopping`` does, still does so.""",
    "routed": """**kwargs
    skorch's routed parameters, as for a skorch ``NeuralNet``:
    ``optimizer__<name>`` (e.g. ``optimizer__momentum=0.9`` with
    ``optimizer="sgd"``), ``criterion__<name>`` (e.g.
    ``criterion__label_smoothing``) and ``callbacks__<callback>__<name>``
    (e.g. ``callbacks__es__patience=3`` for ``callbacks=[("es",
    EarlyStopping())]``). They work in ``set_params``, ``clone`` and grid
    searches; names the optimizer, loss or callback does not take are refused
    in ``fit``. ``lr`` and ``weight_decay`` are set by their own parameters.""",
    "adjacency": """\
adjacency : array-like of shape (n_neurons, n_neurons) or DataFrame, default=None
    A fixed graph instead of an inferred one; ``adjacency[i, j]`` weighs the
    message from neuron j to neuron i. A DataFrame labelled by neuron names
    (e.g. from :func:`wormsk.datasets.load_connectome`) is aligned to the
    neurons of ``X`` by name when ``X`` has named columns; an array is taken
    in column order.""",
    # -- the classifiers -----------------------------------------------------------
    "hidden_size_classifier": """hidden_size : int, default=16
    Width of every hidden layer (the paper used 12-16 for classification).""",
    "aggregation_classifier": """aggregation : {"concat", "sum"}, default="concat"
    How the readout combines neurons: concatenation keeps neuron identity.""",
    "lr_classifier": """lr : float, default=1e-2
    Adam learning rate. The paper used 1e-3 for 800 epochs (keeping the best
    checkpoint); with the larger rate, 10 epochs reach the accuracy of 30 on
    unseen simulated worms (leave-one-worm-out), at a fraction of the time.""",
    "class_weight": """class_weight : dict, "balanced" or None, default=None
    Weights of the classes in the loss: ``{label: weight}`` (other classes
    weigh 1), or ``"balanced"``, ``n_samples / (n_classes * count)`` from the
    labels of ``fit``. Multiplies ``sample_weight``.""",
    # -- the regressors ------------------------------------------------------------
    "hidden_size_regressor": """hidden_size : int, default=16
    Width of every hidden layer (the paper used 256 for trajectories).""",
    "lr_regressor": """lr : float, default=3e-3
    Adam learning rate (the paper: 1e-3 for the MLP, 5e-4 for the GNN, 600
    epochs).""",
    "train_horizon": """train_horizon : int, default=8
    Steps rolled out in training (at most the target's k frames), as in the
    paper.""",
    "teacher_forcing_epochs": """teacher_forcing_epochs : float, default=275
    Scheduled sampling: at epoch e (from 0) each training step feeds the true
    next frame with probability ``max(0, 1 - e / teacher_forcing_epochs)``,
    else the prediction (the paper's 275; with it, short runs train mostly on
    true inputs, i.e. one-step prediction). 0: always self-fed. The draws come
    from a generator of their own: this parameter never changes the batches.""",
    "target": """target : {"auto", "forecast", "direct"}, default="auto"
    ``"auto"``: a 2-D ``y`` whose width is a whole multiple k of
    ``n_features_in_`` is read as the next k frames and forecast; other ``y``
    (1-D, or other widths, e.g. a behavioural variable) is regressed directly
    through a graph-level readout, standardized internally.""",
    # -- methods -------------------------------------------------------------------
    "X": """X : DataFrame or array-like of shape (n_samples, n_features)
    One row per frame, neuron-major columns with ``n_channels`` channels per
    neuron. A DataFrame's index level ``worm`` gives worm identity.""",
    "groups": """groups : array-like of shape (n_samples,), optional
    Worm of every row, for numpy input (routed by sklearn's metadata
    routing); overrides the index. Without either, X is one worm (with a
    ``WormIdentityWarning`` when it has more than one row).""",
    "sample_weight_fit": """sample_weight : array-like of shape (n_samples,), optional
    Weight of every row in the loss (multiplied by the classifiers'
    ``class_weight``); routed like ``groups``. The weights do not enter the
    per-worm batch statistics.""",
    "sample_weight_score": """sample_weight : array-like of shape (n_samples,), optional
    Weights of the rows in the score.""",
    # -- sections ------------------------------------------------------------------
    "attributes": """n_features_in_ : int
    Number of columns of ``X``.
feature_names_in_ : ndarray of str
    Column names, when ``X`` was a DataFrame with string column names.
n_channels_ : int
    Columns per neuron used (``n_channels``, or what ``"auto"`` read).
n_neurons_ : int
    Number of neurons (nodes), ``n_features_in_ / n_channels_``.
neuron_names_ : list of str
    Neuron names from the column names (``"AVAL_trace"`` -> ``"AVAL"``), else
    ``"n0", "n1", ...``.
unseen_neurons_ : list of str
    Neurons absent from every worm in ``fit``; ignored at prediction.
net_ : skorch net
    The private skorch net that trains the module.
module_ : torch.nn.Module
    The trained network.
history_ : skorch.History
    Training history (``train_loss`` per epoch, ...).
checkpoint_folder_ : str
    Name of this fit's subfolder of every checkpoint's ``dirname``.""",
    "notes": """Training batches hold frames of one worm; prediction runs each worm as
one batch, so results do not depend on ``batch_size`` or on the other worms
in the call, but a worm's prediction uses all of its frames passed. Each
worm needs at least 2 frames in ``fit``. DataFrame columns at prediction must
have the names and order seen in ``fit`` (else a ``ValueError`` names them).
Rows of a DataFrame indexed by (``worm``, ``frame``) must not repeat a frame
or go back in time within a worm.

Worm identity comes from the DataFrame index level ``worm``, else from
``groups``. Without either, every call (``fit``, ``predict``, ``score``, ...)
takes all its rows as ONE worm, batched and normalized together, and says so
with one :class:`~wormsk.exceptions.WormIdentityWarning` per call when it has
more than one row. For numpy input inside ``Pipeline``/``GridSearchCV`` with
metadata routing enabled, request ``groups`` where it is needed, e.g.
``est.set_fit_request(groups=True).set_score_request(groups=True)`` (and
``set_predict_request``); without routing, sklearn passes ``groups`` only to
the splitter and the estimator sees one worm per call. torch runs with
``WORMSK_NUM_THREADS`` intra-op threads (default 1) during ``fit`` and
prediction (see the threads note in :mod:`wormsk.models`).

A neuron absent from a worm (NaN in every frame and channel of that worm, the
union of neurons) is a missing node for the GNNs and for the MLPs with
``aggregation="sum"``: its values are never read, it sends and receives no
message, batch statistics skip it, the "sum" readout is N times the mean
over the present nodes, and the GNN's "concat" readout holds zeros in its
slot. The MLPs with "concat" and the GRU refuse it, naming it. Forecasts are
NaN for absent neurons and the loss skips their (NaN) targets. A neuron
absent from every worm in ``fit`` (``unseen_neurons_``) is ignored at
prediction with a warning. Any other NaN is refused. See the user guide,
"Bring your own recordings".""",
}



def _join(*names: str) -> str:
    return "\n".join(_ENTRIES[name] for name in names)


_TRAINING = ("max_epochs", "batch_size", "optimizer", "weight_decay", "n_channels",
             "norm")  # fmt: skip
_RUN = ("train_split", "callbacks", "warm_start", "random_state", "device",
        "verbose", "interrupt", "routed")  # fmt: skip
_NOTES = "\nNotes\n-----\n" + _ENTRIES["notes"]

# What follows each estimator's own parameters: the shared ones, then the
# Attributes and Notes sections.
_ENTRIES.update(
    classifier_parameters=_join("lr_classifier", *_TRAINING, "class_weight", *_RUN),
    regressor_parameters=_join("lr_regressor", *_TRAINING, "train_horizon",
                               "teacher_forcing_epochs", "target", *_RUN),
    classifier_sections="""Attributes
----------
classes_ : ndarray of shape (n_classes,)
    The labels seen in ``fit``.
""" + _ENTRIES["attributes"] + "\n" + _NOTES,
    regressor_sections="""Attributes
----------
horizon_ : int or None
    k, the number of frames forecast per row; None in direct mode.
n_outputs_ : int
    Width of ``y`` (1 for 1-D ``y``).
target_mean_, target_scale_ : ndarray or None
    Standardization of direct targets (None when forecasting).
""" + _ENTRIES["attributes"] + "\n" + _NOTES,
)

docdict.update({f"models_{name}": text for name, text in _ENTRIES.items()})
