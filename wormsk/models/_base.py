"""Machinery shared by the wormsk estimators.

Every public estimator is a plain scikit-learn estimator whose ``__init__`` only
stores parameters. ``fit`` validates the input here (one place for all five
estimators), infers the dimensions, builds the torch module and trains it through a
private skorch net (``net_``) whose batches are in-memory float32 tensors, each
holding frames of one worm only. Prediction runs every worm as one whole batch, so
the networks' batch-statistics normalization sees one worm at a time, as in the
paper; predictions therefore never depend on ``batch_size``, on the order of the
worms or on which other worms share the call.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import os
import uuid

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import Callback, Checkpoint, TrainEndCheckpoint
from torch.utils.data import Subset

from .._utils import (
    check_column_order,
    check_recording_index,
    frame_labels,
    get_worms,
    is_integer,
    n_neurons_from_width,
    neuron_names,
    plain,
    worm_indices,
)

# ----------------------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------------------


#: Environment variable that sets the torch threads of one fit or predict (default 1).
THREADS_ENV = "WORMSK_NUM_THREADS"


def _n_threads() -> int:
    value = os.environ.get(THREADS_ENV, "1")
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(
            f"The environment variable {THREADS_ENV} must be a positive integer (the "
            f"torch threads of one fit); got {value!r}."
        )
    return n


@contextlib.contextmanager
def _torch_threads():
    """Run the enclosed torch work with ``WORMSK_NUM_THREADS`` (default one) intra-op
    threads, then restore the caller's setting.

    wormsk's batches are small (one worm's frames, tens to hundreds of neurons):
    measured on a 2-core machine, two threads made a step about 1.6x faster when the
    machine was idle but 10 to 100 times slower when other processes competed for
    the cores (OpenMP threads waiting on each other). So the default is one thread;
    use more cores by running fits in parallel (``n_jobs`` of ``GridSearchCV`` or
    ``cross_val_score``; joblib gives each worker one thread), or set
    ``WORMSK_NUM_THREADS`` for one large fit on an otherwise idle machine.
    """
    previous = torch.get_num_threads()
    wanted = _n_threads()
    if previous != wanted:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if previous != wanted:
            torch.set_num_threads(previous)


# ----------------------------------------------------------------------------------
# data held once, as tensors, with the worm of every row
# ----------------------------------------------------------------------------------


class _WormDataset(torch.utils.data.Dataset):
    """Frames of several worms as tensors, with per-worm row positions.

    ``X`` is (n_samples, N, C) float32; ``y`` the encoded targets (or None);
    ``worms`` one integer code per row; ``history`` optionally (n_samples, L) row
    positions of the L frames that end at each row (for recurrent burn-in). Indexing
    one row is supported for skorch compatibility, but training and prediction go
    through :class:`_WormBatches`, which gathers whole batches at once.
    """

    def __init__(self, X, y=None, worms=None, history=None, split_y=None):
        self.X = X
        self.y = y
        n = X.shape[0]
        self.worms = np.zeros(n, dtype=np.int64) if worms is None else worms
        self.history = history
        # Targets handed to a ``train_split`` (stratification needs class labels).
        self.split_y = split_y

    def __len__(self):
        return self.X.shape[0]

    def __getitem__(self, i):
        xb, yb = self.batch(torch.as_tensor([i]))
        return xb[0], None if yb is None else yb[0]

    def batch(self, rows):
        """The (X, y) batch of the row positions ``rows`` (a long tensor)."""
        if self.history is None:
            xb = self.X[rows]
        else:
            xb = self.X[self.history[rows]]
        yb = None if self.y is None else self.y[rows]
        return xb, yb


def _rows_by_worm(dataset):
    """[(worm code, row positions into the base dataset)] of a dataset or Subset."""
    if isinstance(dataset, Subset):
        base = dataset.dataset
        if not isinstance(base, _WormDataset):
            raise TypeError(
                "train_split must return subsets of the dataset it is given (as "
                "skorch's ValidSplit does); got a subset of "
                f"{type(base).__name__}."
            )
        rows = np.asarray(dataset.indices, dtype=np.int64)
        codes = base.worms[rows]
        return base, [(w, rows[pos]) for w, pos in worm_indices(codes)]
    if not isinstance(dataset, _WormDataset):
        raise TypeError(
            "wormsk nets iterate over wormsk datasets only; a train_split must "
            f"return subsets of the dataset it is given, got {type(dataset).__name__}."
        )
    return dataset, worm_indices(dataset.worms)


class _WormBatches:
    """Per-worm mini-batches of in-memory tensors (iterable; one pass per epoch).

    Training (``shuffle=True``): each worm's frames are shuffled with ``generator``
    and cut into chunks of ``batch_size`` (a remainder of a single frame joins the
    previous chunk, because batch statistics of one frame are degenerate); the
    order of all chunks is then shuffled across worms. Otherwise: every worm is
    one batch, in time order, worms in order of first appearance.
    """

    def __init__(self, dataset, batch_size, shuffle, generator=None):
        self.base, groups = _rows_by_worm(dataset)
        self.positions = [torch.as_tensor(pos) for _, pos in groups]
        # torch.split refuses numpy integers, which a parameter grid hands out.
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.generator = generator

    def _chunks(self):
        if not self.shuffle:
            return self.positions
        chunks = []
        for pos in self.positions:
            n = len(pos)
            size = n if self.batch_size in (None, -1) else self.batch_size
            pos = pos[torch.randperm(n, generator=self.generator)]
            parts = list(torch.split(pos, size))
            if len(parts) > 1 and len(parts[-1]) == 1:
                parts[-2:] = [torch.cat(parts[-2:])]
            chunks.extend(parts)
        order = torch.randperm(len(chunks), generator=self.generator)
        return [chunks[i] for i in order.tolist()]

    def __iter__(self):
        for rows in self._chunks():
            yield self.base.batch(rows)


class _StopOnNonFiniteLoss(Callback):
    """Stop training with a clear error as soon as a training loss is NaN or inf."""

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        # skorch records the batch's loss as a float before this hook runs; reading
        # it back spares a second device-to-host copy of the loss tensor.
        value = net.history[-1]["batches"][-1]["train_loss"]
        if not math.isfinite(value):
            epoch = len(net.history)
            n_batch = len(net.history[-1, "batches"])
            raise FloatingPointError(
                f"The training loss became {value} at epoch {epoch} (batch "
                f"{n_batch}); the model would predict garbage, so training stopped. "
                "Lower lr, scale the inputs (PerWormScaler) or check them for "
                "extreme values."
            )


class _WormNetMixin:
    """Overrides that make a skorch net train on per-worm in-memory batches.

    ``X`` passed to ``fit`` / ``forward`` is always a :class:`_WormDataset`. The
    internal validation split (``train_split``) receives the worm codes as
    ``groups``, so ``ValidSplit(GroupKFold(...))`` holds out whole worms.
    """

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("finite_loss", _StopOnNonFiniteLoss())]

    def check_data(self, X, y=None):
        pass

    def _set_training(self, training=True):
        # skorch switches every submodule's mode before every batch; skip it when
        # the mode is already right (a measurable share of a small batch's time).
        if self.module_.training is not training or (
            self.criterion_.training is not training
        ):
            super()._set_training(training)

    def get_split_datasets(self, X, y=None, **fit_params):
        dataset = self.get_dataset(X, y)
        if not self.train_split:
            return dataset, None
        return self.train_split(dataset, dataset.split_y, groups=dataset.worms)

    def get_iterator(self, dataset, training=False):
        return _WormBatches(
            dataset, self.batch_size, shuffle=training, generator=self.generator_
        )


# ----------------------------------------------------------------------------------
# the public base class
# ----------------------------------------------------------------------------------


class _WormEstimator(BaseEstimator):
    """Validation, seeding, the private net and persistence for wormsk estimators.

    Subclasses implement ``_build_module(X, y)``, ``_make_net(module)``,
    ``_encode_y(y, n_samples, reset)`` and the prediction methods.
    """

    # Subclasses that read a worm's preceding rows (recurrent burn-in) set this.
    _burn_in_rows = 0

    # -- validation ------------------------------------------------------------------

    def _validate_X(self, X, *, reset, groups=None):
        """Validate X and find the worm of every row.

        Returns ``(X3, codes, labels)``: X3 a float32 tensor (n, N, C) that never
        aliases the caller's data, ``codes`` the worm of every row as an integer
        (order of first appearance) and ``labels[code]`` that worm's label.
        """
        check_recording_index(X)
        if not reset:
            check_column_order(self, X)
        Xa = validate_data(
            self,
            X,
            reset=reset,
            dtype=np.float32,
            ensure_all_finite=False,
            order="C",
            ensure_min_samples=1,
        )
        worms = get_worms(X if hasattr(X, "index") else Xa, groups)
        n_channels = self.n_channels
        if reset:
            n_channels = _check_int(n_channels, "n_channels")
            n_neurons = n_neurons_from_width(Xa.shape[1], n_channels)
        else:
            n_neurons = Xa.shape[1] // n_channels
        _check_finite(Xa, worms, X)
        # The tensor must not share memory with the caller's array (nothing the
        # caller passed is ever modified); a float64 input was converted, hence
        # already a private copy.
        private = Xa.flags.owndata and Xa.flags.writeable and Xa is not X
        Xt = torch.from_numpy(Xa) if private else torch.tensor(Xa)
        Xt = Xt.view(Xa.shape[0], n_neurons, n_channels)
        labels, codes = _worm_codes(worms)
        return Xt, codes, labels

    def _check_common_params(self):
        _check_int(self.max_epochs, "max_epochs", minimum=0)
        if self.batch_size != -1:
            _check_int(self.batch_size, "batch_size", minimum=2)
        if not isinstance(self.lr, numbers.Real) or not self.lr > 0:
            raise ValueError(f"lr must be a positive number; got {self.lr!r}.")
        if not isinstance(self.weight_decay, numbers.Real) or self.weight_decay < 0:
            raise ValueError(
                "weight_decay must be a non-negative number; got "
                f"{self.weight_decay!r}."
            )
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} but CUDA is not available on this machine; "
                "use device='cpu'."
            )

    # -- fitting ---------------------------------------------------------------------

    def _fit(self, X, y, groups, *, train=True):
        """Shared body of ``fit`` (``train=False``: build a fresh model, no epochs,
        whatever ``warm_start`` says)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None."
            )
        self._check_common_params()
        continuing = train and bool(self.warm_start) and hasattr(self, "net_")
        X3, codes, labels = self._validate_X(X, reset=not continuing, groups=groups)
        if not continuing:
            self.n_neurons_ = X3.shape[1]
            columns = getattr(self, "feature_names_in_", None)
            if columns is None:
                columns = [None] * self.n_features_in_
            self.neuron_names_ = neuron_names(list(columns), self.n_channels)
        y_enc, split_y = self._encode_y(y, X3.shape[0], reset=not continuing)
        short = [code for code, pos in worm_indices(codes) if len(pos) < 2]
        if short:
            raise ValueError(
                f"Worm {labels[short[0]]!r} has only 1 sample (frame); training "
                "normalizes every batch by the statistics of its worm's frames, "
                "which needs at least 2 frames per worm."
            )
        device = torch.device(self.device)
        dataset = _WormDataset(
            X3.to(device),
            y_enc.to(device),
            worms=codes,
            history=self._history_positions(codes, device),
            split_y=split_y,
        )
        if not continuing:
            # Not drawn from random_state: two fits with the same seed, running
            # side by side, must still get different folders.
            self.checkpoint_folder_ = f"{type(self).__name__}-{uuid.uuid4().hex[:12]}"
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            # Module initialization draws from torch's global generator: seed it in
            # a forked state so the caller's global random state is left untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                module = self._build_module(X3, y_enc)
            net = self._make_net(module)
            net.initialize()
            net.generator_ = torch.Generator().manual_seed(seed + 1)
            self.net_ = net
        else:
            self._update_net()
        if train:
            with _torch_threads():
                self.net_.partial_fit(dataset, None)
        return self

    def _history_positions(self, codes, device):
        """Row positions of the ``_burn_in_rows`` frames ending at each row."""
        length = self._burn_in_rows
        if not length:
            return None
        history = np.empty((len(codes), length), dtype=np.int64)
        offsets = np.arange(-length + 1, 1)
        for _, pos in worm_indices(codes):
            steps = np.arange(len(pos))[:, None] + offsets[None, :]
            # A worm's first rows have no predecessors: repeat its first frame.
            history[pos] = pos[np.clip(steps, 0, None)]
        return torch.from_numpy(history).to(device)

    def _net_kwargs(self):
        return dict(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            optimizer__weight_decay=self.weight_decay,
            train_split=self.train_split,
            callbacks=self._fit_callbacks(),
            device=self.device,
            verbose=self.verbose,
            warm_start=True,
        )

    def _update_net(self):
        """Apply the current training parameters to the net that warm_start continues.

        The network itself (its architecture) is kept as first built.
        """
        self.net_.set_params(
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            optimizer__weight_decay=self.weight_decay,
            train_split=self.train_split,
            callbacks=self._fit_callbacks(),
            verbose=self.verbose,
        )

    def _fit_callbacks(self):
        """Private copies of ``callbacks``; checkpoints write into this fit's folder.

        Clones fitted in parallel (``GridSearchCV(n_jobs=...)``, a Dask cluster)
        hold copies of the same Checkpoint, hence the same ``dirname``: each fit
        writes into its own subfolder ``<dirname>/<checkpoint_folder_>``, so no two
        fits share files and ``load_best`` never reads another fit's weights.
        """
        callbacks = copy.deepcopy(self.callbacks)
        for item in callbacks or []:
            callback = item[1] if isinstance(item, tuple) else item
            if isinstance(callback, (Checkpoint, TrainEndCheckpoint)):
                callback.dirname = os.path.join(
                    callback.dirname, self.checkpoint_folder_
                )
        return callbacks

    def _fit_checkpoint(self, checkpoint):
        """This fit's copy of a Checkpoint given in ``callbacks`` (else unchanged)."""
        if not isinstance(checkpoint, Checkpoint):
            return checkpoint

        def unwrap(item):
            return item[1] if isinstance(item, tuple) else item

        for given, used in zip(self.callbacks or [], self.net_.callbacks or []):
            given, used = unwrap(given), unwrap(used)
            if given is checkpoint or (
                type(given) is type(checkpoint) and given.dirname == checkpoint.dirname
            ):
                return used
        return checkpoint

    def initialize(self, X, y, groups=None):
        """Validate data and build the model with the dimensions of ``X``, ``y``,
        without training it (e.g. before :meth:`load_params`).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data of the shape the saved model was trained on.
        y : array-like
            Targets of that shape (classifiers: all classes of the saved model).
        groups : array-like of shape (n_samples,), optional
            Worm of every row, for numpy input.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups, train=False)

    # -- prediction ------------------------------------------------------------------

    def _forward(self, X, groups=None):
        """Run every worm of X as one batch; return the output in row order."""
        check_is_fitted(self, "net_")
        X3, codes, _ = self._validate_X(X, reset=False, groups=groups)
        device = torch.device(self.device)
        dataset = _WormDataset(
            X3.to(device), worms=codes, history=self._history_positions(codes, device)
        )
        with _torch_threads():
            out = self.net_.forward(dataset, training=False)
        order = torch.as_tensor(
            np.concatenate([pos for _, pos in worm_indices(codes)])
        )
        result = torch.empty_like(out)
        result[order] = out
        return result

    # -- skorch surface ---------------------------------------------------------------

    @property
    def history_(self):
        """skorch ``History`` of the training run (per epoch and per batch)."""
        return self.net_.history

    @property
    def module_(self):
        """The trained torch module."""
        return self.net_.module_

    def save_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, **kwargs):
        """Save the module's weights (and optionally optimizer, history) with skorch.

        Only tensors and the history are written; the fitted attributes (classes,
        feature names) are not, so to restore, call :meth:`initialize` (or ``fit``)
        with data of the same shape, then :meth:`load_params`. To keep the whole
        estimator, pickle it (and, as with any pickle, only load files you trust).

        Parameters
        ----------
        f_params, f_optimizer, f_criterion, f_history : str, path or file, optional
            Where to save each part; ``None`` skips it.
        **kwargs
            Passed to :meth:`skorch.net.NeuralNet.save_params`.
        """
        check_is_fitted(self, "net_")
        self.net_.save_params(f_params=f_params, f_optimizer=f_optimizer,
                              f_criterion=f_criterion, f_history=f_history, **kwargs)

    def load_params(self, f_params=None, f_optimizer=None, f_criterion=None,
                    f_history=None, checkpoint=None, **kwargs):
        """Load weights saved by :meth:`save_params` or a skorch ``Checkpoint``.

        Loading is weights-only (``torch.load(weights_only=True)``): it never runs
        code from the file. The estimator must be fitted or initialized
        (:meth:`initialize`) with data of the same dimensions.

        Parameters
        ----------
        f_params, f_optimizer, f_criterion, f_history : str, path or file, optional
            What to load; ``None`` skips it.
        checkpoint : skorch.callbacks.Checkpoint, optional
            Load the files this checkpoint wrote (e.g. the best epoch). A
            Checkpoint given in ``callbacks`` (or one with its ``dirname``) loads
            this fit's files, from ``<dirname>/<checkpoint_folder_>``.
        **kwargs
            Passed to :meth:`skorch.net.NeuralNet.load_params`.
        """
        check_is_fitted(self, "net_")
        self.net_.load_params(f_params=f_params, f_optimizer=f_optimizer,
                              f_criterion=f_criterion, f_history=f_history,
                              checkpoint=self._fit_checkpoint(checkpoint), **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _GraphMixin:
    """``inferred_graph`` for the GNN estimators."""

    def _gnn(self):
        module = self.module_
        return getattr(module, "step", module)

    def inferred_graph(self, X, groups=None):
        """The adjacency the network uses for each worm of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Recordings, as for ``predict``.
        groups : array-like of shape (n_samples,), optional
            Worm of every row (numpy input); by default the DataFrame index level
            ``worm``, else the whole input is one worm.

        Returns
        -------
        graphs : dict
            ``{worm: DataFrame}``, each N x N and labelled by ``neuron_names_``; entry
            ``[i, j]`` weighs the message from neuron ``j`` (column) to neuron ``i``
            (row). Inferred weights lie in (0, 1); with dynamic edges (one graph per
            frame) the value is the mean over the worm's frames. With a fixed
            ``adjacency`` it is that matrix, for every worm.
        """
        check_is_fitted(self, "net_")
        X3, codes, labels = self._validate_X(X, reset=False, groups=groups)
        gnn = self._gnn()
        self.module_.eval()
        graphs = {}
        device = torch.device(self.device)
        with torch.no_grad(), _torch_threads():
            for code, pos in worm_indices(codes):
                adj = gnn.mean_adjacency(X3[torch.as_tensor(pos)].to(device))
                adj = adj.cpu().numpy().astype(np.float64)
                graphs[labels[code]] = pd.DataFrame(
                    adj, index=pd.Index(self.neuron_names_, name="receiver"),
                    columns=pd.Index(self.neuron_names_, name="sender"),
                )
        return graphs

    def _adjacency_tensor(self):
        """The ``adjacency`` parameter as an (N, N) array aligned to the neurons."""
        adjacency = self.adjacency
        if adjacency is None:
            return None
        n = self.n_neurons_
        if isinstance(adjacency, pd.DataFrame):
            if hasattr(self, "feature_names_in_"):
                wanted = self.neuron_names_
                labels = set(adjacency.index) & set(adjacency.columns)
                missing = [name for name in wanted if name not in labels]
                if missing:
                    raise ValueError(
                        "adjacency is a labelled DataFrame but lacks the neuron(s) "
                        f"{missing} of X; it must have rows and columns for all of "
                        f"{wanted}."
                    )
                adjacency = adjacency.loc[wanted, wanted]
            adjacency = adjacency.to_numpy(dtype=np.float64)
        try:
            adjacency = np.asarray(adjacency, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"adjacency must be a numeric N x N array; {exc}"
            ) from None
        if adjacency.shape != (n, n):
            raise ValueError(
                f"adjacency has shape {adjacency.shape} but X has {n} neurons; give an "
                f"({n}, {n}) array or a DataFrame labelled by neuron names."
            )
        if not np.isfinite(adjacency).all():
            raise ValueError("adjacency contains NaN or infinite values.")
        return torch.tensor(adjacency, dtype=torch.float32)


# ----------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------


def _check_int(value, name, minimum=1):
    # Same integers as _utils.check_positive_int, but with a minimum (and the
    # message that names it).
    if not is_integer(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _column_labels(X):
    columns = getattr(X, "columns", None)
    return None if columns is None else [str(c) for c in columns]


def _worm_codes(worms):
    """Worm labels in order of first appearance and the integer code of every row."""
    groups = worm_indices(worms)
    codes = np.empty(len(worms), dtype=np.int64)
    for k, (_, pos) in enumerate(groups):
        codes[pos] = k
    labels = [plain(w) for w, _ in groups]
    return labels, codes


def _check_finite(Xa, worms, X):
    """Refuse NaN or inf in ``Xa``, naming the worm, frames and columns.

    The labels come from ``X`` (the caller's object) only on failure: building
    them costs a pass over the index and columns on every fit and predict.
    """
    finite = np.isfinite(Xa)
    if finite.all():
        return
    frames = frame_labels(X)
    columns = _column_labels(X)
    bad_rows = np.flatnonzero(~finite.all(axis=1))
    worm = worms[bad_rows[0]]
    in_worm = np.flatnonzero(worms == worm)
    bad_in_worm = bad_rows[worms[bad_rows] == worm]
    if frames is not None:
        labels = frames[bad_in_worm]
        where = f"frames {labels.min()}-{labels.max()}"
    else:
        first = np.searchsorted(in_worm, bad_in_worm)
        where = f"frames (row positions within the worm) {first.min()}-{first.max()}"
    bad_cols = np.flatnonzero(~finite[bad_in_worm].all(axis=0))
    names = [columns[c] if columns is not None else f"column {c}" for c in bad_cols]
    shown = ", ".join(map(str, names[:5])) + (" ..." if len(names) > 5 else "")
    worm = plain(worm)
    raise ValueError(
        f"X contains NaN or infinity: worm {worm!r}, {where} ({len(bad_in_worm)} "
        f"rows), column(s) {shown}; {int((~finite).sum())} non-finite values in all. "
        "Interpolate or drop those frames, or drop the neuron, before fitting or "
        "predicting."
    )
