"""State vocabularies, shared-neuron lists and the mappings between them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

#: The 7 behavioural states annotated by Kato et al. (2015), in their usual order.
KATO_STATES: tuple[str, ...] = ("fwd", "slow", "rev1", "rev2", "revsus", "dt", "vt")

#: Kato frames that carry no state; excluded from training and scoring.
NOSTATE = "nostate"

#: The 15 neurons named in all 5 Kato worms.
KATO_SHARED_NEURONS: tuple[str, ...] = (
    "AIBL", "AIBR", "ALA", "AVAL", "AVAR", "AVBL", "AVER", "RID",
    "RIML", "RIMR", "RMED", "RMEL", "RMER", "VB01", "VB02",
)  # fmt: skip

#: Neurons named in every worm of both the Kato and the Nichols study.
NICHOLS_SHARED_NEURONS: tuple[str, ...] = ("AIBR", "AVAL", "VB02")

#: The states of the Nichols et al. (2017) files, in the order of their state codes.
NICHOLS_STATES: tuple[str, ...] = ("Reversal", "Forward", "Quiescence", "Turn")

#: The four-state vocabulary of Wang et al. (2021) for testing Kato-trained models.
FOUR_STATES: tuple[str, ...] = ("forward", "reverse", "dorsal_turn", "ventral_turn")

#: The two-state vocabulary (turns excluded).
FWD_REV_STATES: tuple[str, ...] = ("forward", "reverse")

# The ``states=`` choices for Kato-state recordings (the Kato reader, make_worms).
KATO_VOCABULARIES = {
    "kato7": KATO_STATES, "four": FOUR_STATES, "fwd_rev": FWD_REV_STATES,
}  # fmt: skip

#: Kato states -> four states (fwd, slow -> forward; rev1, rev2, revsus -> reverse;
#: dt -> dorsal turn; vt -> ventral turn), as in Wang et al. (2021).
KATO_TO_FOUR: dict[str, str] = {
    "fwd": "forward",
    "slow": "forward",
    "rev1": "reverse",
    "rev2": "reverse",
    "revsus": "reverse",
    "dt": "dorsal_turn",
    "vt": "ventral_turn",
}

#: Kato states -> forward / reverse; turns (and nostate) are excluded.
KATO_TO_FWD_REV: dict[str, str] = {
    "fwd": "forward",
    "slow": "forward",
    "rev1": "reverse",
    "rev2": "reverse",
    "revsus": "reverse",
}

#: Nichols states -> four states. The Nichols annotation has one "Turn" state
#: without dorsal/ventral and a "Quiescence" state Kato lacks; the authors' code
#: encodes the joint vocabulary as reverse, forward, dorsal turn, ventral turn and
#: "no state" without showing how those two were assigned, so both are excluded
#: here (like ``nostate``). Map them yourself with a dict if you need them, e.g.
#: ``map_states(y, {**NICHOLS_TO_FOUR, "Turn": "ventral_turn"})``.
NICHOLS_TO_FOUR: dict[str, str] = {"Forward": "forward", "Reversal": "reverse"}

#: Nichols states -> forward / reverse; turns and quiescence are excluded.
NICHOLS_TO_FWD_REV: dict[str, str] = {"Forward": "forward", "Reversal": "reverse"}

STATE_MAPPINGS: dict[str, dict[str, str]] = {
    "four": {**KATO_TO_FOUR, **NICHOLS_TO_FOUR, **{s: s for s in FOUR_STATES}},
    "fwd_rev": {
        **KATO_TO_FWD_REV,
        **NICHOLS_TO_FWD_REV,
        **{s: s for s in FWD_REV_STATES},
    },
}


def map_states(y, mapping: str | dict) -> np.ndarray:
    """Map behavioural state names to a coarser vocabulary.

    Parameters
    ----------
    y : array-like of str
        State names: Kato states (``KATO_STATES``), Nichols states
        (``NICHOLS_STATES``), or names already in the target vocabulary.
    mapping : {"four", "fwd_rev"} or dict
        ``"four"``: forward (fwd, slow, Forward), reverse (rev1, rev2, revsus,
        Reversal), dorsal_turn (dt), ventral_turn (vt); Nichols' Turn and
        Quiescence are excluded (see ``NICHOLS_TO_FOUR``).
        ``"fwd_rev"``: forward vs reverse; turns and quiescence are excluded.
        A dict maps names directly; names it lacks are excluded.

    Returns
    -------
    mapped : ndarray of object
        The mapped names, with ``None`` for excluded frames (``nostate``,
        turns in ``"fwd_rev"``, ...). Use ``mapped != None`` to select the
        frames to keep.

    Examples
    --------
    >>> from wormsk.datasets import map_states
    >>> map_states(["fwd", "rev2", "dt", "nostate"], "fwd_rev").tolist()
    ['forward', 'reverse', None, None]
    """
    if isinstance(mapping, str):
        if mapping not in STATE_MAPPINGS:
            raise ValueError(
                f"Unknown state mapping {mapping!r}; valid: "
                f"{sorted(STATE_MAPPINGS)} or a dict."
            )
        table = STATE_MAPPINGS[mapping]
    elif isinstance(mapping, dict):
        table = mapping
    else:
        raise TypeError(f"mapping must be a str or a dict; got {type(mapping)}.")
    y = np.asarray(y, dtype=object).ravel()
    known = set(table) | {NOSTATE, None}
    known |= set(KATO_STATES) | set(NICHOLS_STATES) | set(FOUR_STATES)
    if not isinstance(mapping, dict):
        unknown = sorted({str(v) for v in y} - {str(k) for k in known})
        if unknown:
            raise ValueError(
                f"Cannot map state(s) {unknown[:5]} with mapping {mapping!r}; known "
                f"states: {sorted(str(k) for k in known if k is not None)}."
            )
    return np.array([table.get(v) for v in y], dtype=object)


def neuron_list(
    neurons, allow_empty: bool = False, key: Callable[[str], str] | None = None
) -> list[str]:
    """The requested neuron names as str, shared by every reader and simulator.

    ``key`` gives a name's identity for the duplicate check (the connectome treats
    VB01 and VB1 as one neuron); the error lists the names as given.
    """
    if isinstance(neurons, str):
        # A string is iterable: without this, "AVAL" would mean A, V, A, L.
        raise ValueError(
            f"neurons must be a list of names; got the string {neurons!r}."
        )
    if neurons is None or not isinstance(neurons, Iterable):
        raise TypeError(f"neurons must be a list of names; got {neurons!r}.")
    if isinstance(neurons, (set, frozenset, dict)):
        # The order of the names is the order of the columns (and of the nodes).
        raise TypeError(
            f"neurons must be an ordered list of names; got a "
            f"{type(neurons).__name__}, whose order is arbitrary: pass a list, e.g. "
            "sorted(neurons)."
        )
    names = [str(n) for n in neurons]
    if not names and not allow_empty:
        raise ValueError("neurons must name at least one neuron.")
    keys = names if key is None else [key(n) for n in names]
    counts = Counter(keys)
    dup = sorted({n for n, k in zip(names, keys) if counts[k] > 1})
    if dup:
        raise ValueError(f"neurons contains duplicates: {dup}.")
    return names
