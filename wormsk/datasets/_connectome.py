"""Physical connectome among named neurons, from wormneuroatlas' shipped tables."""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ._constants import neuron_list

#: Source name -> table shipped in ``wormneuroatlas/data``.
CONNECTOME_SOURCES: dict[str, str] = {
    "white1986": "aconnectome_white_1986_whole.csv",
    "white1986_adult": "aconnectome_white_1986_A.csv",
    "white1986_l4": "aconnectome_white_1986_L4.csv",
    "witvliet2020_7": "aconnectome_witvliet_2020_7.csv",
    "witvliet2020_8": "aconnectome_witvliet_2020_8.csv",
}

_KINDS = ("both", "chemical", "electrical")
_NORMALIZE = (None, "max", "row", "binary")


def _canonical(name: str) -> str:
    # The tables write VB1, DA9; recordings write VB01, DA09.
    return re.sub(r"^([A-Z]+?)0+(\d+)$", r"\1\2", str(name).strip().upper())


def _table_path(source: str) -> Path:
    if source not in CONNECTOME_SOURCES:
        raise ValueError(
            f"Unknown connectome source {source!r}; "
            f"valid: {sorted(CONNECTOME_SOURCES)}."
        )
    spec = importlib.util.find_spec("wormneuroatlas")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_connectome needs the wormneuroatlas package, which ships the White "
            "1986 and Witvliet 2020 tables: pip install 'wormsk[connectome]'."
        )
    # Read the package data directly: wormneuroatlas.NeuroAtlas() contacts
    # WormBase over the network and fails offline.
    path = Path(list(spec.submodule_search_locations)[0]) / "data"
    path = path / CONNECTOME_SOURCES[source]
    if not path.is_file():
        raise FileNotFoundError(
            f"wormneuroatlas is installed but lacks its table {path.name}; reinstall "
            "wormneuroatlas."
        )
    return path


@lru_cache(maxsize=len(CONNECTOME_SOURCES))
def _edges(source: str) -> pd.DataFrame:
    """The source's edge table with canonical names, parsed once per process.

    Shared by every caller: filter it into a new frame, never modify it.
    """
    table = pd.read_csv(_table_path(source), sep="\t")
    table["pre"] = table["pre"].map(_canonical)
    table["post"] = table["post"].map(_canonical)
    return table


@lru_cache(maxsize=len(CONNECTOME_SOURCES))
def _known_names(source: str) -> frozenset[str]:
    table = _edges(source)
    return frozenset(table["pre"]) | frozenset(table["post"])


def _names_and_keys(neurons) -> tuple[list[str], list[str]]:
    names = neuron_list(neurons, key=_canonical)
    return names, [_canonical(n) for n in names]


def split_known_neurons(
    neurons, source: str = "white1986"
) -> tuple[list[str], list[str]]:
    """Split neuron names into those in a connectome's table and those absent.

    Parameters
    ----------
    neurons : list of str
        Neuron names, validated as :func:`load_connectome` does (so both refuse
        the same lists); ``VB01`` and ``VB1`` are the same neuron.
    source : str, default="white1986"
        One of :data:`CONNECTOME_SOURCES`.

    Returns
    -------
    known : list of str
        The names the source's table has, in the given order and spelling.
    absent : list of str
        The others (with ``load_connectome(..., missing="zero")`` they get no
        edges), in the given order.

    Examples
    --------
    >>> from wormsk.datasets import split_known_neurons
    >>> split_known_neurons(["AVAL", "VB01", "NOTANEURON"])
    (['AVAL', 'VB01'], ['NOTANEURON'])
    """
    _table_path(source)  # an unknown source is named before any name check
    names, keys = _names_and_keys(neurons)
    known = _known_names(source)
    return (
        [n for n, k in zip(names, keys) if k in known],
        [n for n, k in zip(names, keys) if k not in known],
    )


def load_connectome(
    neurons,
    source: str = "white1986",
    kind: str = "both",
    symmetrize: bool = False,
    normalize: str | None = None,
    orientation: str = "post_pre",
    missing: str = "raise",
) -> pd.DataFrame:
    """Synapse counts among the given neurons, as a labelled N x N DataFrame.

    Parameters
    ----------
    neurons : list of str
        Neuron names (e.g. ``KATO_SHARED_NEURONS``); ``VB01`` and ``VB1`` are the
        same neuron. The result keeps the names and the order given.
    source : str, default="white1986"
        ``"white1986"`` (White et al. 1986, whole animal), ``"white1986_adult"``,
        ``"white1986_l4"``, ``"witvliet2020_7"``, ``"witvliet2020_8"``
        (Witvliet et al. 2021, adult datasets 7 and 8).
    kind : {"both", "chemical", "electrical"}, default="both"
        Chemical synapse counts, electrical synapse (gap junction) counts, or
        their sum. Gap junctions count in both directions.
    symmetrize : bool, default=False
        Replace A by (A + A.T) / 2 (chemical synapses lose their direction).
    normalize : {None, "max", "row", "binary"}, default=None
        Divide by the largest entry, make each row sum to one (rows without
        input stay zero), or set every connection to 1.
    orientation : {"post_pre", "pre_post"}, default="post_pre"
        ``"post_pre"``: ``A.loc[i, j]`` counts synapses from j onto i, so a
        message-passing step ``m_i = sum_j A_ij v_j`` follows the wiring.
        ``"pre_post"``: rows are presynaptic.
    missing : {"raise", "zero"}, default="raise"
        Neurons absent from the table raise a ``ValueError``, or get zero rows
        and columns.

    Returns
    -------
    adjacency : DataFrame of shape (n_neurons, n_neurons)
        Indexed and columned by ``neurons``; zero diagonal.

    Examples
    --------
    >>> from wormsk.datasets import load_connectome
    >>> A = load_connectome(["AVAL", "AVAR", "AVBL"])
    >>> A.shape
    (3, 3)
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}; got {kind!r}.")
    if normalize not in _NORMALIZE:
        raise ValueError(f"normalize must be one of {_NORMALIZE}; got {normalize!r}.")
    if orientation not in ("post_pre", "pre_post"):
        raise ValueError(
            f"orientation must be 'post_pre' or 'pre_post'; got {orientation!r}."
        )
    if not isinstance(symmetrize, (bool, np.bool_)):
        raise ValueError(f"symmetrize must be True or False; got {symmetrize!r}.")
    if missing not in ("raise", "zero"):
        raise ValueError(f"missing must be 'raise' or 'zero'; got {missing!r}.")
    names, keys = _names_and_keys(neurons)
    table = _edges(source)
    known = _known_names(source)
    absent = [n for n, k in zip(names, keys) if k not in known]
    if absent and missing == "raise":
        raise ValueError(
            f"Neuron(s) {absent} are not in the {source} connectome; check the names "
            "or pass missing='zero'."
        )
    pos = {k: i for i, k in enumerate(keys)}
    table = table[table["pre"].isin(pos) & table["post"].isin(pos)]
    n = len(names)
    chem = np.zeros((n, n))
    elec = np.zeros((n, n))
    for pre, post, typ, count in table[["pre", "post", "type", "synapses"]].itertuples(
        index=False
    ):
        i, j = pos[post], pos[pre]
        if typ == "chemical":
            chem[i, j] += count
        elif typ == "electrical":
            elec[i, j] += count
    # Gap junctions are listed once per pair (a few twice): undirected, so take
    # the larger listing for both directions.
    elec = np.maximum(elec, elec.T)
    A = {"chemical": chem, "electrical": elec, "both": chem + elec}[kind]
    np.fill_diagonal(A, 0.0)
    if symmetrize:
        A = (A + A.T) / 2.0
    if orientation == "pre_post":
        A = A.T
    if normalize == "max" and A.max() > 0:
        A = A / A.max()
    elif normalize == "row":
        sums = A.sum(axis=1, keepdims=True)
        A = np.divide(A, sums, out=np.zeros_like(A), where=sums > 0)
    elif normalize == "binary":
        A = (A > 0).astype(float)
    return pd.DataFrame(A, index=pd.Index(names), columns=pd.Index(names))
