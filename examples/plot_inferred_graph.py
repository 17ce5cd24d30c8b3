"""
Inspecting the inferred graph
=============================

The paper's GNN does not assume a wiring diagram: an edge encoder looks at the
activity of every pair of neurons and infers a weighted graph
:math:`A_{ij} \\in (0, 1)`, along which messages pass. With ``edges="static"``
the graph is averaged over the frames of a worm, one graph per worm. The paper
argues that this graph carries what differs between individuals, which is why
the GNN transfers to worms it never saw.

Here we train a GNN classifier, read the graphs it infers for training worms and
for an unseen worm, and set them beside the physical connectome, which a second
GNN uses as a fixed graph instead.
"""

# %%
# Train a GNN on three worms
# --------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from wormsk.datasets import load_connectome, make_worms
from wormsk.models import GNNClassifier
from wormsk.plotting import plot_inferred_graph
from wormsk.preprocessing import PerWormScaler

n_worms, n_frames, max_epochs = 4, 1200, 30
# sphinx_gallery_start_ignore
import os

if os.environ.get("WORMSK_DOCS_FAST"):  # the test suite runs a smaller version
    n_worms, n_frames, max_epochs = 2, 300, 2
# sphinx_gallery_end_ignore

X, y = make_worms(n_worms=n_worms, n_frames=n_frames, random_state=3,
                  states="four", return_X_y=True)
unseen = f"sim{n_worms - 1}"  # worms are sim0, sim1, ...: the last is never seen
train = X.index.get_level_values("worm") != unseen

gnn = make_pipeline(
    PerWormScaler(),
    GNNClassifier(edges="static", max_epochs=max_epochs, random_state=0),
)
gnn.fit(X[train], y[train])
print(f"accuracy on unseen worm {unseen}: {gnn.score(X[~train], y[~train]):.3f}")

# %%
# One graph per worm
# ------------------
# :meth:`~wormsk.models.GNNClassifier.inferred_graph` returns a labelled
# neuron x neuron DataFrame per worm: row ``i``, column ``j`` is the weight of
# the edge along which neuron ``j`` sends its message to neuron ``i``. It takes
# the same input as ``predict``, so we pass the scaled table.
scaled = gnn[0].transform(X)
graphs = gnn[-1].inferred_graph(scaled)
graphs[unseen].round(2).iloc[:6, :6]

# %%
fig, axes = plt.subplots(1, len(graphs), figsize=(3.3 * len(graphs), 3.4),
                         layout="constrained", squeeze=False)
for ax, (name, graph) in zip(axes[0], graphs.items()):
    image = ax.imshow(graph.to_numpy(), vmin=0, vmax=1, cmap="viridis")
    ax.set_title(f"{name}" + (" (unseen)" if name == unseen else ""))
    ax.set_xticks(range(len(graph)), graph.columns, rotation=90, fontsize=6)
    ax.set_yticks(range(len(graph)), graph.index, fontsize=6)
fig.colorbar(image, ax=axes[0, -1], label="edge weight")

# %%
# How similar are the worms' graphs? The correlation of their edge weights
# shows how much of the graph is shared and how much is individual.
names = list(graphs)
flat = np.array([graphs[n].to_numpy().ravel() for n in names])
pd.DataFrame(np.corrcoef(flat), index=names, columns=names).round(2)

# %%
# Beside the connectome
# ---------------------
# :func:`~wormsk.datasets.load_connectome` returns the physical wiring of
# White et al. (1986) among the same neurons (chemical and electrical
# synapses), and :func:`~wormsk.plotting.plot_inferred_graph` draws both.
# The inferred graph is a functional one: it need not resemble the anatomy.
connectome = load_connectome(gnn[-1].neuron_names_)
fig = plot_inferred_graph(graphs[unseen], connectome=connectome, worm=unseen)
plt.figure(fig)  # wormsk.plotting builds figures without pyplot; hand it over

# %%
# The connectome GNN
# ------------------
# Passing the connectome as ``adjacency`` gives the paper's "GNN on the
# connectome": the same network, with the graph fixed instead of inferred.
fixed = make_pipeline(
    PerWormScaler(),
    GNNClassifier(adjacency=connectome, max_epochs=max_epochs, random_state=0),
)
fixed.fit(X[train], y[train])
score = fixed.score(X[~train], y[~train])
print(f"connectome GNN on unseen worm {unseen}: {score:.3f}")
