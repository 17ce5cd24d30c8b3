"""
Loading the real recordings
===========================

The paper's data are MATLAB files published by the Zimmer lab: Kato et al.
(2015), ``WT_NoStim.mat`` (5 worms), and Nichols et al. (2017),
``n2_prelet.mat`` and ``npr1_prelet.mat`` (21 worms). wormsk reads them into the
same recording table as :func:`~wormsk.datasets.make_worms`, so everything
else in the library works on them unchanged.

This example needs no download: it writes a miniature ``WT_NoStim.mat`` in the
file's real layout (MATLAB v7.3, that is HDF5) and reads it back. With the real
file, skip straight to :ref:`reading <read-kato>`.
"""

# %%
# Where wormsk keeps the files
# ----------------------------
# :func:`~wormsk.datasets.fetch_kato2015` looks for ``WT_NoStim.mat`` in
# ``<data home>/kato2015/``, downloads it there if it can, checks its SHA-256
# and loads it. The data home is ``~/wormsk_data`` unless the ``WORMSK_DATA``
# environment variable or the ``data_home`` argument says otherwise. Here we
# use a temporary directory, so the example leaves nothing behind.
import itertools
import shutil
import tempfile
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wormsk.datasets import (
    KATO_STATES,
    fetch_kato2015,
    get_data_home,
    list_cached,
    load_kato2015,
    make_worms,
)

n_frames = 600
# sphinx_gallery_start_ignore
import os

if os.environ.get("WORMSK_DOCS_FAST"):  # the test suite runs a smaller version
    n_frames = 200
# sphinx_gallery_end_ignore

workdir = Path(tempfile.mkdtemp())
data_home = get_data_home(workdir / "wormsk_data")
list_cached(data_home)[["dataset", "file", "cached", "sha256"]]

# %%
# When the file is not there and cannot be downloaded (here:
# ``download_if_missing=False``; offline, the same), the fetcher fails at once
# and says where to put the file by hand.
try:
    fetch_kato2015(data_home=data_home, download_if_missing=False)
except OSError as error:
    print(error)

# %%
# A miniature ``WT_NoStim.mat``
# -----------------------------
# The real file holds a struct ``WT_NoStim`` whose fields are cell arrays with
# one entry per worm: ``NeuronNames`` (one name per ROI; unidentified ROIs are
# empty or numbered, uncertain ones hold several candidate names),
# ``deltaFOverF_bc`` (frames x ROIs), ``States`` (a struct of 0/1 vectors, one
# per state), ``fps``, ``tv`` and ``dataset``. In HDF5, MATLAB stores arrays
# transposed, text as uint16 codes and cell arrays as references into a
# ``#refs#`` group. The few lines below write that layout, from three simulated
# worms with their ROIs shuffled and some unidentified ROIs added.


ref_names = (f"r{i}" for i in itertools.count())  # unique names in #refs#


def write_matlab(parent, name, value, refs):
    """Write ``value`` as MATLAB v7.3 would: str -> char, list -> cell,
    dict -> struct, anything else -> double."""
    if isinstance(value, str):
        ds = parent.create_dataset(name, data=np.array([[ord(c)] for c in value],
                                                       dtype=np.uint16))
        ds.attrs["MATLAB_class"] = np.bytes_("char")
    elif isinstance(value, list):
        handles = []
        for item in value:
            key = next(ref_names)
            write_matlab(refs, key, item, refs)
            handles.append(refs[key].ref)
        ds = parent.create_dataset(
            name, data=np.array(handles, dtype=h5py.ref_dtype).reshape(-1, 1)
        )
        ds.attrs["MATLAB_class"] = np.bytes_("cell")
    elif isinstance(value, dict):
        group = parent.create_group(name)
        group.attrs["MATLAB_class"] = np.bytes_("struct")
        for field, item in value.items():
            write_matlab(group, field, item, refs)
    else:
        ds = parent.create_dataset(name, data=np.atleast_2d(np.asarray(value, float)).T)
        ds.attrs["MATLAB_class"] = np.bytes_("double")


sim = make_worms(n_worms=3, n_frames=n_frames, random_state=0)
rng = np.random.default_rng(0)
fields = {k: [] for k in ("NeuronNames", "deltaFOverF_bc", "States", "fps", "tv",
                          "dataset")}
for k, worm in enumerate(pd.unique(sim.groups)):
    traces = sim.data.loc[worm].filter(like="_trace").to_numpy()
    names = list(sim.neuron_names)
    # Add unidentified ROIs: one empty, one numbered, one with two candidate names.
    traces = np.column_stack([traces, rng.normal(size=(len(traces), 3))])
    names += ["", 17, ["SMDVL", "SMDVR"]]
    order = rng.permutation(len(names))
    labels = sim.target[sim.groups == worm]
    fields["NeuronNames"].append([names[i] for i in order])
    fields["deltaFOverF_bc"].append(traces[:, order])
    fields["States"].append(
        {s: (labels == s).astype(float) for s in KATO_STATES}
        | {"nostate": np.zeros(len(labels))}
    )
    fields["fps"].append(sim.fps)
    fields["tv"].append(np.arange(len(labels)) / sim.fps)
    fields["dataset"].append(f"miniature_{k}")

path = workdir / "WT_NoStim.mat"
with h5py.File(path, "w", userblock_size=512) as f:
    write_matlab(f, "WT_NoStim", fields, f.create_group("#refs#"))
print(f"wrote {path.name}: {path.stat().st_size / 1e3:.0f} kB")

# %%
# Checksums
# ---------
# Put in the data home, our miniature file is *not* the published
# ``WT_NoStim.mat``: its SHA-256 differs from the digest wormsk knows, so the
# fetcher moves it aside (to ``WT_NoStim.mat.mismatch-<8 hex digits>``) and refuses
# to load it. A truncated or tampered download meets the same fate.
cached = data_home / "kato2015" / "WT_NoStim.mat"
shutil.copy(path, cached)
try:
    fetch_kato2015(data_home=data_home, download_if_missing=False)
except OSError as error:
    print(error)
print("still cached:", cached.exists())

# %%
# .. _read-kato:
#
# Reading the file
# ----------------
# :func:`~wormsk.datasets.load_kato2015` reads any file in this layout, checksum
# or not. It picks the requested neurons by name in every worm (by default the
# 15 named in all five real worms), ignores ROIs with no name or several
# candidate names, differentiates the traces when the file has no
# ``deltaFOverF_deriv`` field, and drops ``nostate`` frames.
kato = load_kato2015(path)
print(kato.DESCR.splitlines()[0])
print("worms:", list(pd.unique(kato.groups)), "| fps:", kato.fps)
kato.data.iloc[:4, :6]

# %%
# The labels can be mapped to the paper's coarser tasks as they are read, and
# ``neurons=None`` keeps every neuron named in all worms:
X, y = load_kato2015(path, neurons=None, states="fwd_rev", return_X_y=True)
print(X.shape, pd.Series(y).value_counts().to_dict())

# %%
# A neuron missing from some worm is an error that names the worm. (The
# shuffled, partly unnamed ROIs above were all matched by name.)
try:
    load_kato2015(path, neurons=["AVAL", "SMDVL"])
except ValueError as error:
    print(error)

# %%
# The table is ready for everything else in wormsk, here a look at one worm.
worm = kato.groups[0]
one = kato.data.loc[worm]
state = pd.Series(kato.target[kato.groups == worm], index=one.index)
reversing = state.isin(["rev1", "rev2", "revsus"])
neurons = ["AVAL", "RIML", "VB02", "RMED"]
fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
for i, neuron in enumerate(neurons):
    trace = one[f"{neuron}_trace"]
    shown = (trace - trace.min()) / (trace.max() - trace.min())
    ax.plot(one.index, shown + 1.2 * i, lw=1, label=neuron)
ax.fill_between(one.index, 0, 1.2 * len(neurons), where=reversing, color="0.9",
                label="reversal")
ax.set_xlabel("frame")
ax.set_yticks([])
ax.set_title(f"worm {worm}: four traces (each min-max scaled), reversals shaded")
ax.legend(loc="upper right", fontsize=8, ncols=5)

# %%
# The Nichols files work the same way with
# :func:`~wormsk.datasets.load_nichols2017` (several files at once, worm ids
# prefixed by the file, so unique across strains) and
# :func:`~wormsk.datasets.fetch_nichols2017`.
shutil.rmtree(workdir)
