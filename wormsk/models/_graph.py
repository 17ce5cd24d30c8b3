"""``inferred_graph`` and the fixed ``adjacency`` of the GNN estimators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import StrOptions

from ._threads import torch_threads


class GraphMixin:
    """``inferred_graph`` for the GNN estimators."""

    _parameter_constraints: dict = {
        "edges": [StrOptions({"static", "dynamic"})],
        # Its shape and labels depend on X: checked in _adjacency_tensor.
        "adjacency": ["array-like", None],
    }

    def inferred_graph(self, X, groups=None):
        """The adjacency the network uses for each worm of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Recordings, as for ``predict``.
        groups : array-like of shape (n_samples,), optional
            Worm of every row (numpy input); by default the DataFrame index level
            ``worm``, else the whole input is one worm.

        Returns
        -------
        graphs : dict
            ``{worm: DataFrame}``, each N x N and labelled by ``neuron_names_``; entry
            ``[i, j]`` weighs the message from neuron ``j`` (column) to neuron ``i``
            (row). Inferred weights lie in (0, 1); with dynamic edges (one graph per
            frame) the value is the mean over the worm's frames. With a fixed
            ``adjacency`` it is that matrix, for every worm. Rows and columns of the
            neurons absent from a worm (NaN in all its frames) are NaN in its graph.
        """
        X3, worms = self._predict_input(X, groups, "inferred_graph",
                                        what="graph inference")
        gnn = self.module_.step_module
        self.module_.eval()
        graphs = {}
        device = torch.device(self.device)
        with torch.no_grad(), torch_threads():
            for label, pos in worms:
                frames = X3[torch.as_tensor(pos)]
                adj = gnn.mean_adjacency(frames.to(device))
                # Absent neurons' rows and columns are NaN by design.
                present = ~torch.isnan(frames[0, :, 0]).to(device)
                if not bool(torch.isfinite(adj[present][:, present]).all()):
                    flags = torch.zeros(worms.n_samples)  # NaN marks this worm
                    flags[torch.as_tensor(pos)] = math.nan
                    self._check_finite_output(flags, X3, worms)
                adj = adj.cpu().numpy().astype(np.float64)
                graphs[label] = pd.DataFrame(
                    adj, index=pd.Index(self.neuron_names_, name="receiver"),
                    columns=pd.Index(self.neuron_names_, name="sender"),
                )
        return graphs

    def _adjacency_tensor(self):
        """The ``adjacency`` parameter as an (N, N) array aligned to the neurons."""
        adjacency = self.adjacency
        if adjacency is None:
            return None
        n = self.n_neurons_
        if isinstance(adjacency, pd.DataFrame):
            if not hasattr(self, "feature_names_in_"):
                raise ValueError(
                    "adjacency is a DataFrame labelled by neuron names, but X has no "
                    "column names, so its neurons cannot be matched to the labels "
                    "(its order would be taken on trust). Pass X as a DataFrame with "
                    "<NEURON>_<channel> columns to align by name, or pass "
                    "adjacency.to_numpy() after ordering it as X's columns."
                )
            wanted = self.neuron_names_
            labels = set(adjacency.index) & set(adjacency.columns)
            missing = [name for name in wanted if name not in labels]
            if missing:
                raise ValueError(
                    "adjacency is a labelled DataFrame but lacks the neuron(s) "
                    f"{missing} of X; it must have rows and columns for all of "
                    f"{wanted}."
                )
            adjacency = adjacency.loc[wanted, wanted]
            adjacency = adjacency.to_numpy(dtype=np.float64)
        try:
            adjacency = np.asarray(adjacency, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"adjacency must be a numeric N x N array; {exc}"
            ) from None
        if adjacency.shape != (n, n):
            raise ValueError(
                f"adjacency has shape {adjacency.shape} but X has {n} neurons; give an "
                f"({n}, {n}) array or a DataFrame labelled by neuron names."
            )
        if not np.isfinite(adjacency).all():
            raise ValueError("adjacency contains NaN or infinite values.")
        return torch.tensor(adjacency, dtype=torch.float32)
