"""
Pipelines and grid search, next to SVC
======================================

wormsk's networks are scikit-learn estimators, so they go wherever an ``SVC``
goes: into a :class:`~sklearn.pipeline.Pipeline`, through
:func:`~sklearn.model_selection.cross_val_score`, and into
:class:`~sklearn.model_selection.GridSearchCV`.

Here we decode forward vs reverse locomotion, frame by frame, on worms the
models never saw in training, and compare four decoders side by side: an SVC on
the raw traces, an SVC on per-worm scaled traces, and the paper's MLP and GNN.
"""

# %%
# Simulated worms
# ---------------
# :func:`~wormsk.datasets.make_worms` simulates whole-brain recordings of the
# 15 neurons named in every worm of Kato et al. (2015). Each worm has its own
# gains, offsets, calcium kinetics and noise, as real worms do. We map the 7
# Kato states to forward/reverse (``states="fwd_rev"``), which drops the turns.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.svm import SVC

from wormsk.datasets import make_worms
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import GNNClassifier, MLPClassifier
from wormsk.preprocessing import PerWormScaler

n_worms, n_frames, max_epochs = 4, 800, 20
# sphinx_gallery_start_ignore
import os

if os.environ.get("WORMSK_DOCS_FAST"):  # the test suite runs a smaller version
    n_worms, n_frames, max_epochs = 2, 300, 2
# sphinx_gallery_end_ignore

X, y = make_worms(n_worms=n_worms, n_frames=n_frames, random_state=0,
                  states="fwd_rev", return_X_y=True)
groups = X.index.get_level_values("worm")
print(X.shape, pd.Series(y).value_counts().to_dict())
X.iloc[:3, :6]

# %%
# Four decoders, one loop
# -----------------------
# :class:`~wormsk.model_selection.LeaveWormsOut` trains on all worms but one and
# tests on the one left out, for every worm in turn. The worm of every row
# travels with ``X`` as the index level ``worm``, so
# :class:`~wormsk.preprocessing.PerWormScaler` scales each test worm by its own
# statistics, even inside ``cross_val_score`` where scikit-learn passes no
# groups to ``predict``. The scaler returns a DataFrame with the same index, so
# the worm of every row also reaches the network, which trains on batches of
# one worm at a time and predicts each worm as one batch.
decoders = {
    "SVC, raw traces": SVC(),
    "SVC, per-worm scaling": make_pipeline(PerWormScaler(), SVC()),
    "MLP": make_pipeline(
        PerWormScaler(),
        MLPClassifier(max_epochs=max_epochs, random_state=0),
    ),
    "GNN": make_pipeline(
        PerWormScaler(),
        GNNClassifier(max_epochs=max_epochs, random_state=0),
    ),
}
cv = LeaveWormsOut()
scores = pd.DataFrame(
    {
        name: cross_val_score(model, X, y, groups=groups, cv=cv)
        for name, model in decoders.items()
    },
    index=pd.Index(pd.unique(groups), name="test worm"),
)
scores.round(3)

# %%
# Scaling each worm by itself is what lets even a plain SVC
# transfer to a new worm; the networks add their own per-worm normalization
# inside (batch statistics of one worm at a time).
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.boxplot(scores.to_numpy(), tick_labels=scores.columns, orientation="horizontal")
for i, name in enumerate(scores.columns, start=1):
    ax.plot(scores[name], [i] * len(scores), "o", color="k", alpha=0.6)
ax.set_xlabel("accuracy on the held-out worm")
ax.set_title("Forward vs reverse, leave one worm out")

# %%
# Grid search
# -----------
# Hyper-parameters of the networks are ordinary constructor parameters, so
# ``GridSearchCV`` tunes them exactly as it tunes ``C`` of an SVC, here with
# whole worms held out in every split.
search = GridSearchCV(
    make_pipeline(
        PerWormScaler(),
        GNNClassifier(max_epochs=max_epochs, random_state=0),
    ),
    {"gnnclassifier__hidden_size": [8, 16], "gnnclassifier__lr": [3e-3, 1e-2]},
    cv=LeaveWormsOut(),
)
search.fit(X, y, groups=groups)
print("best parameters:", search.best_params_)
pd.DataFrame(search.cv_results_)[
    ["param_gnnclassifier__hidden_size", "param_gnnclassifier__lr",
     "mean_test_score", "std_test_score", "rank_test_score"]
].round(3)

# %%
# The refitted best model is a fitted pipeline like any other; its training
# history is skorch's, one row per epoch.
gnn = search.best_estimator_[-1]
print(f"{gnn.n_neurons_} neurons, classes {gnn.classes_.tolist()}")
print("final training loss:", round(gnn.history_[-1, "train_loss"], 4))
