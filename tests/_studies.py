"""Fake Kato and Nichols MAT-files written from simulated worms (real h5py/scipy
files, with the quirks of the published ones), shared by the dataset tests."""

import numpy as np
import pandas as pd
from _matfile import Cell, Empty, StructArray, write_mat73

from wormsk.datasets import KATO_STATES, make_worms

NAMED = ["AVAL", "AVAR", "AVBL", "RIML"]


def make_sim3():
    """Three simulated worms with the NAMED neurons and SMDVL."""
    return make_worms(
        n_worms=3, n_frames=150, neurons=NAMED + ["SMDVL"], random_state=3
    )


def kato_worm(bunch, worm, k, with_deriv=True, drop=None):
    """Kato-style fields of one simulated worm, with the quirks of real files."""
    X = bunch.data.xs(worm, level="worm")
    y = bunch.target[bunch.groups == worm]
    n = len(y)
    y = y.copy()
    y[:5] = "nostate"
    trace = X[[f"{m}_trace" for m in NAMED]].to_numpy()
    deriv = X[[f"{m}_deriv" for m in NAMED]].to_numpy()
    names = list(NAMED)
    if drop is not None:  # this worm's drop-neuron has two candidate names
        names[NAMED.index(drop)] = Cell([drop, "RIMR"])
    extras = [Empty("double"), 7.0, Cell(["AIBL", "AIBR"]), "---", Cell(["SMDVL"])]
    rois = names + extras
    rng = np.random.default_rng(k)
    extra_traces = rng.normal(size=(n, len(extras)))
    order = rng.permutation(len(rois))  # named ROIs sit anywhere
    all_trace = np.hstack([trace, extra_traces])[:, order]
    all_deriv = np.hstack([deriv, extra_traces])[:, order]
    states = {s: (y == s).astype(float) for s in KATO_STATES}
    states["nostate"] = (y == "nostate").astype(float)
    fields = {
        "NeuronNames": Cell([rois[i] for i in order]),
        "deltaFOverF": all_trace + 1.0,
        "deltaFOverF_bc": all_trace,
        "States": states,
        "tv": np.arange(n) / bunch.fps,
        "fps": bunch.fps,
        "dataset": f"recording_{k}",
    }
    if with_deriv:
        fields["deltaFOverF_deriv"] = all_deriv
    return fields, y


def write_kato(path, bunch, layout="cells", with_deriv=True, drop=None,
                writer=write_mat73):
    worms = [
        kato_worm(bunch, w, k, with_deriv, drop if k == 1 else None)
        for k, w in enumerate(pd.unique(bunch.groups))
    ]
    fields = [f for f, _ in worms]
    if layout == "cells":
        root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    else:
        root = StructArray(fields)
    writer(path, {"WT_NoStim": root})
    return np.concatenate([y for _, y in worms])


def write_nichols(path, bunch, codes_offset=0):
    fields = []
    ys = []
    code_of = {"rev1": 1, "rev2": 1, "revsus": 1, "fwd": 2, "slow": 3, "dt": 4, "vt": 4}
    for k, worm in enumerate(pd.unique(bunch.groups)):
        X = bunch.data.xs(worm, level="worm")
        y = bunch.target[bunch.groups == worm]
        trace = X[[f"{m}_trace" for m in ("AVAL", "AVBL")]].to_numpy()
        codes = np.array([code_of[s] for s in y], dtype=float)
        codes[-3:] = 0  # unannotated
        ids = [Cell(["AVAL"]), "AVBL", Empty("double"), Cell(["AVAR", "AVEL"])]
        extra = np.random.default_rng(k).normal(size=(len(y), 2))
        full = np.hstack([trace, extra])
        fields.append(
            {
                "IDs": Cell(ids),
                "traces": full,
                "tracesDif": np.diff(full, axis=0),
                "timeVectorSeconds": np.arange(len(y)) / 3.3,
                "fps": 3.3,
                "dataset": f"{path.stem}_{k}",
                "stimulus": np.zeros(len(y)),
                "States": codes,
            }
        )
        ys.append(codes)
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(path, {path.stem: root})
    return fields


def rewrite_nichols(path, fields):
    root = {name: Cell([f[name] for f in fields]) for name in fields[0]}
    write_mat73(path, {path.stem: root})


def write_kato_worms(path, worms):
    root = {name: Cell([f[name] for f in worms]) for name in worms[0]}
    write_mat73(path, {"WT_NoStim": root})


def kato_fields(sim3):
    return [kato_worm(sim3, w, k) for k, w in enumerate(pd.unique(sim3.groups))]
