"""The experiments of Wang et al. (2021), all through one evaluation runner.

Each experiment takes a dataset (a :class:`~sklearn.utils.Bunch` from
:mod:`wormsk.datasets`, or a recording table ``X`` with labels ``y``; see
:func:`wormsk.datasets.recording_table`), a dict of estimators (sensible
defaults are built when none is given), a ``preset`` of training settings
(:func:`get_preset`), ``random_state``, ``n_jobs`` and a ``progress`` callback.

**What every experiment returns**: a :class:`~sklearn.utils.Bunch`, like the
dataset functions. Its ``scores`` is the tidy DataFrame the evaluation runner
builds: one row per model and evaluated split (or per split and prediction
step, or per split and share of missing neurons), led by ``model`` and ending
in ``fit_time``; ``preset`` is the :class:`Preset` used. What an experiment
measures besides goes in further fields (``confusion`` of
:func:`four_states_unseen`; ``graph``, ``connectome``, ``worm``, ``unseen``,
``estimator`` of :func:`inferred_graph`).

The code is written with the library's own pieces only
(:class:`~wormsk.preprocessing.PerWormScaler` in a scikit-learn pipeline,
:class:`~wormsk.model_selection.LeaveWormsOut`,
:class:`~wormsk.model_selection.WormBlockKFold`, the :mod:`wormsk.models`
estimators), so it doubles as a worked example of the API.

- :func:`forward_reverse`: Table 1, forward vs reverse on seen and unseen worms;
- :func:`seven_states_seen`: the 7 Kato states on seen worms;
- :func:`four_states_unseen`: 4 states on unseen worms against the number of
  training worms, and the cross-study test on a second dataset;
- :func:`missing_neurons`: unseen-worm accuracy as test worms lose a growing
  share of their identified neurons;
- :func:`trajectory`: per-step forecast error (MAE, MSE) on unseen worms;
- :func:`inferred_graph`: the graph a GNN infers for an unseen worm, beside the
  connectome.

:data:`PAPER_RESULTS` holds the numbers the paper reports on the real recordings;
:func:`compare_with_paper` puts them beside measured ones. They are comparable only
on the real Kato and Nichols data, never on simulated worms.
"""

from ._classification import (
    forward_reverse,
    four_states_unseen,
    missing_neurons,
    seven_states_seen,
)
from ._estimators import (
    MAJORITY,
    NO_CHANGE,
    connectome_adjacency,
    default_classifiers,
    default_regressors,
)
from ._graph import inferred_graph
from ._paper import PAPER_RESULTS, compare_with_paper
from ._presets import PRESETS, Preset, get_preset
from ._runner import summarize
from ._trajectories import trajectory

__all__ = [
    "MAJORITY",
    "NO_CHANGE",
    "PAPER_RESULTS",
    "PRESETS",
    "Preset",
    "compare_with_paper",
    "connectome_adjacency",
    "default_classifiers",
    "default_regressors",
    "forward_reverse",
    "four_states_unseen",
    "get_preset",
    "inferred_graph",
    "missing_neurons",
    "seven_states_seen",
    "summarize",
    "trajectory",
]
