"""Figures of the paper's experiments (matplotlib, the optional ``plot`` extra).

Every function takes the tidy DataFrames returned by :mod:`wormsk.experiments` and
returns a :class:`matplotlib.figure.Figure` built without ``pyplot``, so nothing is
shown or kept alive behind the caller's back: save it with ``fig.savefig(path)``, or
display it in a notebook as the last expression of a cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import ConfusionMatrixDisplay

from wormsk._docs import docdict, fill_doc

__all__ = [
    "plot_confusion_matrix",
    "plot_accuracy_vs_training_worms",
    "plot_missing_neurons",
    "plot_trajectory_error",
    "plot_inferred_graph",
]


docdict["plot_returns"] = """Returns
-------
fig : matplotlib.figure.Figure
    The figure, not registered with ``pyplot``: save it with
    ``fig.savefig(path)`` or show it as the last expression of a notebook cell."""


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised only without matplotlib
        raise ImportError(
            "wormsk.plotting needs matplotlib, which is an optional dependency; "
            'install it with `pip install "wormsk[plot]"`.'
        ) from exc
    return Figure(figsize=figsize, layout="constrained")


def _require_columns(df: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame; got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} lacks the column(s) {missing}; expected at least {list(columns)} "
            f"(got {list(df.columns)})."
        )


def _pick(df: pd.DataFrame, column: str, value, what: str) -> pd.DataFrame:
    if value is None or column not in df.columns:
        return df
    out = df[df[column] == value]
    if out.empty:
        raise ValueError(
            f"{what} has no rows with {column}={value!r}; available: "
            f"{sorted(map(str, df[column].unique()))}."
        )
    return out


def _state_order(names) -> list:
    """Known vocabularies in their behavioural order, anything else sorted."""
    from wormsk.datasets import FOUR_STATES, KATO_STATES, NICHOLS_STATES

    for vocabulary in (FOUR_STATES, KATO_STATES, NICHOLS_STATES):
        if set(names) <= set(vocabulary):
            return [s for s in vocabulary if s in names]
    return sorted(names, key=str)


@fill_doc
def plot_confusion_matrix(
    confusion: pd.DataFrame,
    model: str | None = "GNN",
    n_train_worms: int | None = None,
    evaluation: str | None = "unseen",
    normalize: bool = True,
    labels=None,
    title: str | None = None,
):
    """Confusion matrix of predicted against true states.

    Parameters
    ----------
    confusion : DataFrame
        Tidy counts with columns ``true``, ``predicted``, ``count`` (and optionally
        ``model``, ``evaluation``, ``n_train_worms``), as returned by
        :func:`wormsk.experiments.four_states_unseen` (its ``confusion``).
    model : str or None, default="GNN"
        Model to show; ``None`` sums over every model in the table.
    n_train_worms : int, optional
        Number of training worms to show; by default the largest in the table.
    evaluation : str or None, default="unseen"
        Rows of this ``evaluation`` only (e.g. ``"cross-study"``); ``None`` keeps all.
    normalize : bool, default=True
        Show each true state's row as fractions (recall on the diagonal).
    labels : list of str, optional
        State order; by default the order of the known state vocabulary
        (e.g. forward, reverse, dorsal_turn, ventral_turn), else alphabetical.
    title : str, optional
        Axes title; a description of the selection by default.

    %(plot_returns)s

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.plotting import plot_confusion_matrix
    >>> counts = pd.DataFrame({"true": ["fwd", "fwd", "rev"],
    ...                        "predicted": ["fwd", "rev", "rev"],
    ...                        "count": [8, 2, 5]})
    >>> fig = plot_confusion_matrix(counts, model=None)
    """
    _require_columns(confusion, ("true", "predicted", "count"), "confusion")
    df = _pick(confusion, "model", model, "confusion")
    df = _pick(df, "evaluation", evaluation, "confusion")
    if "n_train_worms" in df.columns:
        if n_train_worms is None:
            n_train_worms = int(df["n_train_worms"].max())
        df = _pick(df, "n_train_worms", n_train_worms, "confusion")
    if labels is None:
        labels = _state_order(set(df["true"]) | set(df["predicted"]))
    fig = _figure((2.4 + 0.9 * len(labels), 1.2 + 0.8 * len(labels)))
    ax = fig.add_subplot()
    # The tidy counts are sample weights of their (true, predicted) pairs; rows of
    # a state that never occurs come out as zeros, not NaN.
    display = ConfusionMatrixDisplay.from_predictions(
        df["true"].to_numpy(),
        df["predicted"].to_numpy(),
        labels=labels,
        sample_weight=df["count"].to_numpy(),
        normalize="true" if normalize else None,
        values_format=".2f" if normalize else ".0f",
        cmap="Blues",
        xticks_rotation=45,
        ax=ax,
        im_kw={"vmin": 0, "vmax": 1 if normalize else None},
        text_kw={"fontsize": 9},
    )
    display.im_.colorbar.set_label("fraction of true state" if normalize else "frames")
    for tick in ax.get_xticklabels():
        tick.set_horizontalalignment("right")
    ax.set_xlabel("predicted state")
    ax.set_ylabel("true state")
    if title is None:
        parts = [model or "all models"]
        if evaluation:
            parts.append(f"{evaluation} worms")
        if n_train_worms is not None:
            parts.append(f"trained on {n_train_worms} worm(s)")
        title = ", ".join(parts)
    ax.set_title(title)
    return fig


#: Baseline rows of the experiments' tables, drawn grey and dashed, not as models.
_BASELINES = ("Majority class", "no change")


def plot_accuracy_vs_training_worms(
    scores: pd.DataFrame,
    evaluation: str | None = "unseen",
    reference: pd.DataFrame | None = None,
    title: str = "4 states on unseen worms vs number of training worms",
    chance: float | None = None,
):
    """Accuracy against the number of training worms, one line per model.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores with columns ``model``, ``n_train_worms``, ``accuracy`` (one row
        per train/test combination), as from
        :func:`wormsk.experiments.four_states_unseen`. A ``"Majority class"`` model
        is drawn as a grey dashed baseline.
    evaluation : str or None, default="unseen"
        Keep rows of this ``evaluation`` only; ``None`` keeps all.
    reference : DataFrame, optional
        Reported numbers to draw dashed (columns ``model``, ``n_train_worms``,
        ``accuracy``), e.g. the paper's on the real data.
    title : str
        Axes title.
    chance : float, optional
        Chance accuracy (1 / number of states), drawn as a dotted line. The y axis
        then starts at chance unless a point or error bar lies below it (then at
        0); without it the axis starts at 0. It always ends at 1.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Mean accuracy with the standard deviation over combinations as error bars;
        the number of combinations per point is written under each tick.

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.plotting import plot_accuracy_vs_training_worms
    >>> scores = pd.DataFrame({"model": ["GNN"] * 3, "n_train_worms": [1, 1, 2],
    ...                        "accuracy": [0.8, 0.9, 0.95]})
    >>> fig = plot_accuracy_vs_training_worms(scores, chance=0.25)
    """
    _require_columns(scores, ("model", "n_train_worms", "accuracy"), "scores")
    df = _pick(scores, "evaluation", evaluation, "scores")
    sizes = sorted(df["n_train_worms"].unique())
    return _accuracy_figure(
        df, "n_train_worms", sizes, [str(k) for k in sizes],
        xlabel="number of training worms (n: combinations evaluated)",
        title=title, chance=chance, spread="combinations", reference=reference,
    )  # fmt: skip


def _accuracy_figure(
    df, x, ticks, tick_labels, xlabel, title, chance, spread, reference=None, dodge=0.0
):
    """Mean accuracy ± SD of each model against column ``x``, baselines dashed,
    chance dotted, n under each tick (``ticks`` are values of ``x``); each
    model's points are shifted by ``dodge`` x units from the previous one's."""
    # Imported here: wormsk.experiments loads torch, which `import wormsk.plotting`
    # should not pay for.
    from wormsk.experiments import summarize

    fig = _figure((5.5, 4.2))
    ax = fig.add_subplot()
    summary = summarize(df, by=["model", x]).set_index(["model", x])
    lowest = np.inf
    models = list(dict.fromkeys(df["model"]))
    for k, model in enumerate(models):
        part = summary.loc[model].sort_index()
        shift = (k - (len(models) - 1) / 2) * dodge
        spread_sd = part["std"].fillna(0.0).to_numpy(dtype=float)
        lowest = min(lowest, float(np.min(part["mean"].to_numpy() - spread_sd)))
        baseline = str(model) in _BASELINES
        line = ax.errorbar(
            part.index.to_numpy(dtype=float) + shift,
            part["mean"].to_numpy(dtype=float),
            yerr=spread_sd,
            marker="s" if baseline else "o",
            capsize=3,
            label=f"{model} (baseline)" if baseline else str(model),
            **({"color": "0.45", "ls": "--"} if baseline else {}),
        )
        if reference is not None and model in set(reference["model"]):
            ref = reference[reference["model"] == model].sort_values(x)
            ax.plot(
                ref[x].to_numpy(dtype=float),
                ref["accuracy"].to_numpy(dtype=float),
                ls="--",
                marker="x",
                color=line.lines[0].get_color(),
                label=f"{model} (paper)",
            )
    bottom = 0.0
    if chance is not None:
        ax.axhline(chance, color="0.3", ls=":", lw=1.5, label=f"chance ({chance:.2f})")
        bottom = chance if lowest >= chance else 0.0
    ax.set_ylim(bottom, 1.0)
    counts = summary["n"].groupby(level=x).max()
    ax.set_xticks(
        ticks, [f"{label}\n(n={counts.loc[t]})" for t, label in zip(ticks, tick_labels)]
    )
    ax.set_xlabel(xlabel)
    start = "starts at chance" if bottom and bottom == chance else "starts at 0"
    ax.set_ylabel(f"accuracy (axis {start})")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(title=f"error bars: ± SD over {spread}", fontsize=8, title_fontsize=8)
    return fig


def plot_missing_neurons(
    scores: pd.DataFrame,
    chance: float | None = 0.5,
    title: str = "Forward vs reverse on unseen worms that lose neurons",
):
    """Unseen-worm accuracy against the share of neurons lost, one line per model.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores with columns ``model``, ``fraction`` (share of each test
        worm's identified neurons removed) and ``accuracy``, one row per model,
        held-out worm and fraction, as from
        :func:`wormsk.experiments.missing_neurons`. A ``"Majority class"`` model
        is drawn as a grey dashed baseline.
    chance : float or None, default=0.5
        Chance accuracy (1 / number of states; forward vs reverse: 0.5), drawn
        as a dotted line. The y axis starts at chance unless a point or error
        bar lies below it (then at 0); with ``None``, no line and the axis
        starts at 0. It always ends at 1.
    title : str
        Axes title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Mean accuracy with the standard deviation over held-out worms as error
        bars, each model's points shifted a little sideways so that the bars at
        one share stay apart; the number of held-out worms per point is written
        under each tick.

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.plotting import plot_missing_neurons
    >>> scores = pd.DataFrame({"model": ["GNN"] * 4,
    ...                        "fraction": [0.0, 0.0, 0.2, 0.2],
    ...                        "accuracy": [0.9, 0.8, 0.85, 0.7]})
    >>> fig = plot_missing_neurons(scores)
    """
    _require_columns(scores, ("model", "fraction", "accuracy"), "scores")
    df = scores.copy()
    bad = df["fraction"][~pd.to_numeric(df["fraction"], errors="coerce").between(0, 1)]
    if len(bad):
        raise ValueError(
            "scores' column 'fraction' must hold shares of neurons lost, in [0, 1]; "
            f"got {sorted(map(str, bad.unique()))}."
        )
    # In percent, so that the axis reads "20 %" and not "0.2".
    df["fraction"] = df["fraction"].astype(float) * 100
    shares = sorted(df["fraction"].unique())
    return _accuracy_figure(
        df, "fraction", shares, [f"{s:g} %" for s in shares],
        xlabel="share of each test worm's identified neurons lost "
        "(n: held-out worms)",
        title=title, chance=chance, spread="held-out worms",
        dodge=0.8,  # % of neurons: error bars at one share do not hide each other
    )  # fmt: skip


@fill_doc
def plot_trajectory_error(
    errors: pd.DataFrame,
    metric: str = "mae",
    title: str | None = None,
):
    """Forecast error against prediction step, one line per model and training set.

    Parameters
    ----------
    errors : DataFrame
        Tidy per-step errors with columns ``model``, ``step`` and the ``metric``
        column, optionally ``training`` (e.g. "1 worm", "all training worms"), as
        returned by :func:`wormsk.experiments.trajectory`. Several rows per
        (model, training, step) are averaged. A ``"no change"`` model is drawn as
        the baseline, and the legend says which models are no better than it (at
        every step, or at how many).
    metric : {"mae", "mse"}, default="mae"
        Column to plot.
    title : str, optional
        Axes title.

    %(plot_returns)s

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.plotting import plot_trajectory_error
    >>> errors = pd.DataFrame({"model": ["GNN"] * 2, "step": [1, 2],
    ...                        "mae": [0.1, 0.2], "mse": [0.01, 0.05]})
    >>> fig = plot_trajectory_error(errors)
    """
    _require_columns(errors, ("model", "step", metric), "errors")
    keys = ["model", "training"] if "training" in errors.columns else ["model"]
    fig = _figure((5.5, 5.6))
    ax = fig.add_subplot()
    styles = ["-", "--", ":", "-."]
    trainings = (
        list(dict.fromkeys(errors["training"])) if "training" in keys else [None]
    )
    colors = {}
    base = errors[errors["model"] == "no change"].groupby("step")[metric].mean()
    for key, part in errors.groupby(keys, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        model, training = key[0], (key[1] if len(key) > 1 else None)
        curve = part.groupby("step")[metric].mean().sort_index()
        label = str(model) if training is None else f"{model}, {training}"
        common = curve.index.intersection(base.index)
        if str(model) != "no change" and len(common):
            worse = int((curve.loc[common] >= base.loc[common]).sum())
            if worse == len(common):
                label += ": no better than no change"
            elif worse:
                label += f": no better than no change at {worse}/{len(common)} steps"
        if str(model) == "no change":
            ax.plot(
                curve.index.to_numpy(dtype=float),
                curve.to_numpy(dtype=float),
                color="0.4",
                ls=":",
                lw=2,
                label="no change (baseline)",
            )
            continue
        (line,) = ax.plot(
            curve.index.to_numpy(dtype=float),
            curve.to_numpy(dtype=float),
            marker=".",
            label=label,
            ls=styles[trainings.index(training) % len(styles)],
            color=colors.get(model),
        )
        colors.setdefault(model, line.get_color())
    ax.set_xlabel("prediction step (frames)")
    ax.xaxis.get_major_locator().set_params(integer=True)  # no step 1.5
    ax.set_ylabel(
        {"mae": "mean absolute error", "mse": "mean squared error"}.get(metric, metric)
    )
    ax.set_title(title or "Trajectory forecast error on unseen worms")
    ax.set_ylim(bottom=0)  # errors from 0: differences are not magnified
    ax.grid(alpha=0.3)
    # Below the axes: inside, the long labels would hide the curves.
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    return fig


def _heatmap(fig, ax, matrix: pd.DataFrame, title: str, label: str, vmax=None):
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="viridis", vmin=0, vmax=vmax)
    fig.colorbar(image, ax=ax, shrink=0.8, label=label)
    names = [str(n) for n in matrix.columns]
    small = 8 if len(names) <= 30 else 5
    if len(names) <= 60:
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=small)
        ax.set_yticks(range(len(names)), [str(n) for n in matrix.index], fontsize=small)
    ax.set_xlabel("source neuron j")
    ax.set_ylabel("target neuron i")
    ax.set_title(title)


@fill_doc
def plot_inferred_graph(
    graph: pd.DataFrame,
    connectome: pd.DataFrame | None = None,
    worm=None,
    title: str | None = None,
):
    """The inferred graph of one worm as a heatmap, beside the physical connectome.

    Parameters
    ----------
    graph : DataFrame of shape (n_neurons, n_neurons)
        Inferred adjacency in (0, 1) labelled by neuron, e.g. one value of
        :meth:`wormsk.models.GNNClassifier.inferred_graph`.
    connectome : DataFrame, optional
        Physical adjacency among (some of) the same neurons, e.g. from
        :func:`wormsk.datasets.load_connectome`; reordered to ``graph``'s neurons, with
        neurons it lacks shown as zero rows and columns.
    worm : str, optional
        Worm id for the title.
    title : str, optional
        Figure title.

    %(plot_returns)s

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from wormsk.plotting import plot_inferred_graph
    >>> names = ["AVAL", "AVAR", "AVBL"]
    >>> graph = pd.DataFrame(np.full((3, 3), 0.5), index=names, columns=names)
    >>> fig = plot_inferred_graph(graph, worm="sim0")
    """
    if not isinstance(graph, pd.DataFrame) or graph.shape[0] != graph.shape[1]:
        raise ValueError(
            "graph must be a square DataFrame labelled by neuron (n_neurons x "
            f"n_neurons); got {type(graph).__name__} of shape {np.shape(graph)}."
        )
    panels = 1 if connectome is None else 2
    fig = _figure((5.2 * panels, 4.6))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    _heatmap(fig, axes[0], graph, "inferred graph (GNN)", "edge weight A_ij", vmax=1)
    if connectome is not None:
        if not isinstance(connectome, pd.DataFrame):
            raise TypeError("connectome must be a DataFrame labelled by neuron.")
        aligned = connectome.reindex(
            index=graph.index, columns=graph.columns, fill_value=0.0
        ).fillna(0.0)
        _heatmap(
            fig, axes[1], aligned, "connectome (White et al. 1986)", "synaptic weight"
        )
    fig.suptitle(title or (f"worm {worm}" if worm is not None else "inferred graph"))
    return fig
