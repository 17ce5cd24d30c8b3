"""Documentation shared by the estimators' docstrings."""

from __future__ import annotations

# Docs of the run parameters every estimator shares.
_RUN_DOC = """    device : {"cpu", "cuda"}, default="cpu"
        Torch device: ``"cpu"``, or ``"cuda"`` (``"cuda:<index>"``) when CUDA is
        available.
    verbose : int, default=0
        skorch's per-epoch log when > 0.
    interrupt : {"raise", "stop"}, default="raise"
        What Ctrl-C (``KeyboardInterrupt``) during ``fit`` does. ``"raise"``: it
        leaves ``fit`` as a ``KeyboardInterrupt``, so a cross-validation or grid
        search stops instead of scoring a half-trained model. ``"stop"``:
        training ends after the current batch and ``fit`` returns the partly
        trained model with a warning (skorch's own behaviour); ``warm_start=True``
        can continue it. A callback that raises ``KeyboardInterrupt`` to end
        training early, as skorch's ``EarlyStopping`` does, still does so.
"""

# Docs of skorch's routed parameters, shared by every estimator.
_ROUTED_DOC = """    **kwargs
        skorch's routed parameters, as for a skorch ``NeuralNet``:
        ``optimizer__<name>`` (e.g. ``optimizer__momentum=0.9`` with
        ``optimizer="sgd"``), ``criterion__<name>`` (e.g.
        ``criterion__label_smoothing``) and ``callbacks__<callback>__<name>``
        (e.g. ``callbacks__es__patience=3`` for ``callbacks=[("es",
        EarlyStopping())]``). They work in ``set_params``, ``clone`` and grid
        searches; names the optimizer, loss or callback does not take are refused
        in ``fit``. ``lr`` and ``weight_decay`` are set by their own parameters.
"""

# Notes paragraph on absent neurons shared by the estimators' docstrings.
_MISSING_DOC = """
    A neuron absent from a worm (NaN in every frame and channel of that worm, the
    union of neurons) is a missing node for the GNNs and for the MLPs with
    ``aggregation="sum"``: its values are never read, it sends and receives no
    message, batch statistics skip it, the "sum" readout is N times the mean
    over the present nodes, and the GNN's "concat" readout holds zeros in its
    slot. The MLPs with "concat" and the GRU refuse it, naming it. Forecasts are
    NaN for absent neurons and the loss skips their (NaN) targets. A neuron
    absent from every worm in ``fit`` (``unseen_neurons_``) is ignored at
    prediction with a warning. Any other NaN is refused. See the user guide,
    "Bring your own recordings".
"""
