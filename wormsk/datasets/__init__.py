"""Datasets: simulated worms, real recordings (MAT, NWB, arrays, CSV), the connectome.

Every recording function returns a :class:`sklearn.utils.Bunch` whose ``data`` is
a recording table (DataFrame indexed by ``worm``, ``frame``; neuron-major columns
``<NEURON>_trace``, ``<NEURON>_deriv``) and supports ``return_X_y=True``.
"""

from ._connectome import CONNECTOME_SOURCES, load_connectome, split_known_neurons
from ._constants import (
    FOUR_STATES,
    FWD_REV_STATES,
    KATO_SHARED_NEURONS,
    KATO_STATES,
    KATO_TO_FOUR,
    KATO_TO_FWD_REV,
    NICHOLS_SHARED_NEURONS,
    NICHOLS_STATES,
    NICHOLS_TO_FOUR,
    NICHOLS_TO_FWD_REV,
    NOSTATE,
    map_states,
)
from ._fetch import (
    DATA_HOME_ENV,
    REMOTE_FILES,
    fetch_kato2015,
    fetch_nichols2017,
    get_data_home,
    list_cached,
)
from ._kato import load_kato2015
from ._nichols import load_nichols2017
from ._nwb import NWB_LAYOUTS, load_nwb
from ._simulate import make_worms
from ._tables import recording_table, recordings_from_arrays, recordings_from_csv

__all__ = [
    "CONNECTOME_SOURCES",
    "DATA_HOME_ENV",
    "FOUR_STATES",
    "FWD_REV_STATES",
    "KATO_SHARED_NEURONS",
    "KATO_STATES",
    "KATO_TO_FOUR",
    "KATO_TO_FWD_REV",
    "NICHOLS_SHARED_NEURONS",
    "NICHOLS_STATES",
    "NICHOLS_TO_FOUR",
    "NICHOLS_TO_FWD_REV",
    "NOSTATE",
    "NWB_LAYOUTS",
    "REMOTE_FILES",
    "fetch_kato2015",
    "fetch_nichols2017",
    "get_data_home",
    "list_cached",
    "load_connectome",
    "load_kato2015",
    "load_nichols2017",
    "load_nwb",
    "make_worms",
    "map_states",
    "recording_table",
    "recordings_from_arrays",
    "recordings_from_csv",
    "split_known_neurons",
]
