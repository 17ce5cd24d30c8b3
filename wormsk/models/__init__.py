"""scikit-learn estimators on skorch: the paper's MLP and GNN classifiers and
trajectory regressors.

Every estimator trains on mini-batches drawn from one worm at a time and predicts
each worm as one batch, so that its batch-statistics normalization treats every
worm, seen or unseen, by its own statistics. Worm identity comes from the
DataFrame index level ``worm``, else from a ``groups`` argument, else the input is
one worm, which every call with more than one row announces with one
:class:`~wormsk.exceptions.WormIdentityWarning`. In a ``Pipeline``, keep the
index by asking the transformers for pandas output
(``PerWormScaler().set_output(transform="pandas")``), or route ``groups``.

Conventions: parameters are checked (sklearn's ``_parameter_constraints``) at the
start of ``fit``, before the data. ``n_channels="auto"`` reads the channels per
neuron from ``<NEURON>_<channel>`` column names and makes every column a node
otherwise (numpy input), so sklearn steps such as ``SelectKBest`` can sit in front
of a network. skorch's routed parameters (``optimizer__momentum``,
``criterion__label_smoothing``, ``callbacks__<name>__<param>``) work in
``set_params``, ``clone`` and grid searches. The classifiers take
``class_weight``; every estimator takes ``sample_weight`` in ``fit`` and has
``partial_fit`` (one epoch per call). ``train_split=ValidSplit(5)`` or
``ValidSplit(0.2)`` validates on held-out worms.

Threads: during ``fit`` and prediction torch runs with ``WORMSK_NUM_THREADS``
intra-op threads, default 1 (the previous setting is restored afterwards). The
batches are small, so extra threads gained little on an idle 2-core machine and
made training 10 to 100 times slower when other processes competed for the cores;
use more cores by running fits in parallel (``n_jobs`` of ``GridSearchCV`` or
``cross_val_score``), or raise ``WORMSK_NUM_THREADS`` (at most the number of
cores the process may use) for one large fit on an otherwise idle machine.
Results are reproducible for a given ``random_state`` and thread count: other
thread counts round float32 sums differently, which training amplifies.

Interrupts: Ctrl-C during ``fit`` raises ``KeyboardInterrupt`` (so a grid search
stops); ``interrupt="stop"`` opts into skorch's early end with a partly trained
model. A diverging fit (NaN, infinite, or runaway loss) raises a
``FloatingPointError`` naming the epoch; outputs are never NaN.

Persistence: pickling a fitted estimator keeps everything (trust a pickle as you
trust its source, as with any sklearn model). ``save_params``/``load_params``
store and load the network's tensors only, with ``torch.load(weights_only=True)``,
which never runs code from the file.
"""

from ._classifiers import GNNClassifier, MLPClassifier
from ._regressors import GNNRegressor, GRURegressor, MLPRegressor

__all__ = [
    "GNNClassifier",
    "GNNRegressor",
    "GRURegressor",
    "MLPClassifier",
    "MLPRegressor",
]
