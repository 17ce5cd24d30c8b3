"""Reader of Kato et al. (2015) ``WT_NoStim.mat``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ._constants import KATO_SHARED_NEURONS, KATO_STATES, KATO_VOCABULARIES
from ._docs import fill_doc
from ._matlab import open_mat
from ._recordings import (
    StudyFields,
    WormRecording,
    check_vocabulary,
    read_worms,
    states_from_indicators,
)
from ._tables import table_from_worms

_DESCR = """Kato et al. (2015), Cell 163:656-669: whole-brain calcium imaging of 5
immobilized C. elegans (WT_NoStim.mat, OSF project 2395t), ~1080 s per worm at
~2.9 frames/s. Features: bleach-corrected dF/F (deltaFOverF_bc) per neuron and its
time derivative (deltaFOverF_deriv, or central differences per second when the
file has none). Labels: the 7 Kato motor states (fwd, slow, rev1, rev2, revsus,
dt, vt), optionally mapped to four states or forward/reverse.
"""

_FIELDS = StudyFields(
    names="NeuronNames", trace="deltaFOverF_bc", deriv="deltaFOverF_deriv", time="tv"
)


def _labels(value, n_frames: int, worm: str) -> np.ndarray:
    if not isinstance(value, dict):
        raise ValueError(
            f"Worm {worm}: States should be a struct of 0/1 vectors named "
            f"{list(KATO_STATES) + ['nostate']}."
        )
    return states_from_indicators(value, KATO_STATES, n_frames, f"Worm {worm}")


def _add_deriv(worm: WormRecording, deriv: np.ndarray) -> WormRecording:
    if deriv.size == 0:  # an empty field: differentiate the trace instead
        return worm
    if deriv.shape != worm.trace.shape:
        raise ValueError(
            f"Worm {worm.worm}: deltaFOverF_deriv has shape {deriv.shape}, "
            f"deltaFOverF_bc {worm.trace.shape}."
        )
    return replace(worm, deriv=deriv)


@fill_doc
def load_kato2015(
    path,
    neurons=KATO_SHARED_NEURONS,
    states: str = "kato7",
    nostate: str = "drop",
    return_X_y: bool = False,
    variable: str = "WT_NoStim",
    min_worms: int | None = None,
):
    """Load the Kato et al. (2015) recordings from ``WT_NoStim.mat``.

    The published file is MATLAB v7.3 (HDF5, read with h5py); a copy saved in
    an older MAT-file version (v5 to v7) is read with ``scipy.io.loadmat``.
    ``WT_NoStim`` may be a scalar struct whose fields are per-worm cell arrays
    or a 1 x n struct array; both are read.

    Parameters
    ----------
    path : str or path-like
        Path to ``WT_NoStim.mat``.
    %(datasets_neurons_kato)s
    %(datasets_states_kato)s
    %(datasets_nostate)s
    %(datasets_return_X_y)s
    variable : str, default="WT_NoStim"
        Name of the root struct in the file.
    %(datasets_min_worms)s

    Returns
    -------
    data : Bunch
        ``data`` (DataFrame indexed by ``worm`` = ``"kato0"``...``"kato4"`` and
        the original ``frame``; columns ``<NEURON>_trace``, ``<NEURON>_deriv``),
        ``target``, ``groups``, ``neuron_names``, ``target_names``, ``fps`` (dict
        worm -> frames per second), ``time`` (s), ``recordings`` (worm ->
        recording name in the file), ``frame``, ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from wormsk.datasets import load_kato2015
    >>> X, y = load_kato2015("WT_NoStim.mat", return_X_y=True)  # doctest: +SKIP
    >>> X.shape[1]  # doctest: +SKIP
    30
    """
    check_vocabulary(states, KATO_VOCABULARIES)
    source = f"{path}:{variable}"
    with open_mat(path) as mat:
        if variable not in mat.variables:
            raise ValueError(
                f"{path} has no variable {variable!r}; it holds {mat.variables}."
            )
        present = mat.fields(variable, source)
        fields = mat.read_fields(variable, [k for k in _FIELDS.all if k in present])
    worms = read_worms(fields, _FIELDS, source, "kato{}".format, _labels, _add_deriv)
    mapping = "raw" if states == "kato7" else states
    return table_from_worms(
        worms,
        "intersection" if neurons is None else neurons,
        min_worms=min_worms,
        states=mapping,
        vocabulary=KATO_VOCABULARIES[states],
        nostate=nostate,
        return_X_y=return_X_y,
        descr=_DESCR,
        source=source,
    )
