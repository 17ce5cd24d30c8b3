"""Parameter documentation shared by the dataset readers and fetchers.

Entries are added to :data:`wormsk._docs.docdict` at import; the readers'
docstrings name them as ``%(name)s`` and are filled by ``fill_doc``.
"""

from __future__ import annotations

from .._docs import docdict, fill_doc

__all__ = ["fill_doc"]  # with the entries below registered

_NEURONS = """
    Neurons to pick by name. An ROI counts as a neuron only if it carries
    exactly one name (ROIs without a name, with a number, with several
    candidate names or a name ending in '?' are not matches). A list picks
    those neurons; each must be named in at least ``min_worms`` worms (by
    default every worm: a missing one is a ``ValueError`` naming the neuron
    and the worm). ``"intersection"`` (or ``None``) picks every neuron named
    in all worms, ``"union"`` every neuron named in at least ``min_worms``
    worms (default 1). A neuron not identified in a worm is NaN in every
    frame of that worm (see :ref:`own_recordings`)."""

# Entry names start with "datasets_", as other packages' entries carry theirs.
_ENTRIES = {
    "neurons_kato": "neurons : list of str, str or None, "
    "default=KATO_SHARED_NEURONS" + _NEURONS,
    "neurons_nichols": "neurons : list of str, str or None, "
    "default=NICHOLS_SHARED_NEURONS" + _NEURONS,
    "min_worms": """min_worms : int, optional
    With a list or ``"union"``: the number of worms a neuron must be named
    in (default: every worm for a list, 1 for ``"union"``).""",
    "states_kato": """states : {"kato7", "four", "fwd_rev"}, default="kato7"
    Label vocabulary: the 7 Kato states, four states (forward, reverse,
    dorsal_turn, ventral_turn) or forward/reverse (turns excluded).""",
    "nostate": """nostate : {"drop", "label"}, default="drop"
    Frames without a state in the chosen vocabulary (``nostate`` frames, and
    the states the mapping leaves out, e.g. turns for ``"fwd_rev"``) are
    dropped, or kept with the label ``"nostate"`` (frame numbers in the index
    show any gaps either way).""",
    "return_X_y": """return_X_y : bool, default=False
    Return ``(data, target)`` instead of a Bunch.""",
    "data_home": """data_home : str or path-like, optional
    Cache directory (see :func:`get_data_home`: by default the ``WORMSK_DATA``
    environment variable, else ``~/wormsk_data``); each dataset's files go to
    ``<data_home>/<dataset>/``.""",
    "download_if_missing": """download_if_missing : bool, default=True
    Download a file that is not cached; otherwise raise ``OSError`` saying
    where to put it by hand.""",
}
docdict.update({f"datasets_{name}": text for name, text in _ENTRIES.items()})
