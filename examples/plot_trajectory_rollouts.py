"""
Forecasting neural trajectories with rollouts
=============================================

Besides decoding behaviour, the paper forecasts every neuron's activity: from
the state of the network at frame :math:`t`, predict frames :math:`t+1` to
:math:`t+16`. The networks learn a *change* per step,

.. math:: X_{t+1} = X_t + \\tanh\\big(f(X_t)\\big),

and roll out by feeding their own predictions back. In training they roll out
8 steps with *scheduled sampling*: early on, the true frame is fed back with a
probability that decays to zero over ``teacher_forcing_epochs``.

Here we train the Markovian MLP and GNN and the recurrent GRU variant on three
simulated worms and measure the error at every step on a fourth.
"""

# %%
# Inputs and targets
# ------------------
# Scale each worm by itself first, so inputs and targets share one scale; then
# :func:`~wormsk.preprocessing.make_trajectory_targets` pairs every frame with
# the next 16 frames of the same worm, flattened frame-major.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from wormsk.datasets import make_worms
from wormsk.metrics import trajectory_error
from wormsk.models import GNNRegressor, GRURegressor, MLPRegressor
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets

n_worms, n_frames, max_epochs, teacher_forcing_epochs = 4, 800, 30, 15
# sphinx_gallery_start_ignore
import os

if os.environ.get("WORMSK_DOCS_FAST"):  # the test suite runs a smaller version
    n_worms, n_frames, max_epochs, teacher_forcing_epochs = 2, 200, 2, 1
# sphinx_gallery_end_ignore
horizon = 16

worms = make_worms(n_worms=n_worms, n_frames=n_frames, random_state=2)
scaled = PerWormScaler().fit_transform(worms.data)
X_t, Y = make_trajectory_targets(scaled, horizon=horizon)
print(f"X_t: {X_t.shape}, Y: {Y.shape} ({horizon} frames x {X_t.shape[1]} columns)")

test_worm = worms.groups[-1]
is_test = X_t.index.get_level_values("worm") == test_worm
X_train, Y_train = X_t[~is_test], Y[~is_test]
X_test, Y_test = X_t[is_test], Y[is_test]

# %%
# Three forecasters
# -----------------
# The regressors read ``Y``'s width: 16 times the width of ``X`` means "the next
# 16 frames", so they train on rollouts (of ``train_horizon=8`` steps) and
# ``predict`` rolls out all 16. The GRU reads ``burn_in=4`` true frames ending
# at :math:`t`, taken from the preceding rows of the same worm in ``X``.
settings = dict(max_epochs=max_epochs, teacher_forcing_epochs=teacher_forcing_epochs,
                random_state=0)
forecasters = {
    "MLP": MLPRegressor(hidden_size=64, lr=1e-3, **settings),
    "GNN": GNNRegressor(hidden_size=32, lr=1e-3, **settings),
    "GRU": GRURegressor(hidden_size=64, lr=1e-3, **settings),
}
predictions = {}
for name, model in forecasters.items():
    model.fit(X_train, Y_train)
    predictions[name] = np.asarray(model.predict(X_test))

# %%
# Error per prediction step
# -------------------------
# :func:`~wormsk.metrics.trajectory_error` averages the error of every step
# over rows and columns (mean absolute error, as in the authors' code). The
# baseline predicts "no change": the last true frame, repeated.
predictions["no change"] = np.tile(X_test.to_numpy(), horizon)
errors = pd.DataFrame(
    {
        name: trajectory_error(Y_test, Y_pred, n_features=X_test.shape[1])
        for name, Y_pred in predictions.items()
    },
    index=pd.RangeIndex(1, horizon + 1, name="step"),
)
errors.iloc[[0, 7, 15]].round(3)

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.5), layout="constrained")
for name in errors:
    style = "k--" if name == "no change" else "o-"
    ax.plot(errors.index, errors[name], style, ms=3, label=name)
ax.set_xlabel("prediction step")
ax.set_ylabel("mean absolute error")
ax.set_title(f"Unseen worm {test_worm}")
ax.legend()

# %%
# Rollouts against the true trace
# -------------------------------
# Each coloured segment is a 16-frame rollout of the GNN that starts from one
# true frame of the unseen worm and then runs on its own predictions.
column = "AVAR_trace"
j = list(X_test.columns).index(column)
n_features = X_test.shape[1]
frames = X_test.index.get_level_values("frame")
start, stop = 0, min(240, len(X_test) - horizon)
gnn_paths = predictions["GNN"].reshape(len(X_test), horizon, n_features)[:, :, j]

fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
ax.plot(frames[start:stop + horizon], X_test[column].iloc[start:stop + horizon],
        color="0.3", lw=1.5, label="true")
for row in range(start, stop, horizon):
    steps = frames[row] + np.arange(1, horizon + 1)
    ax.plot(steps, gnn_paths[row], color="tab:orange", lw=1.2)
ax.plot([], [], color="tab:orange", label="GNN rollout")
ax.set_xlabel("frame")
ax.set_ylabel(f"{column} (scaled)")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
