import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from wormsk.experiments import summarize  # noqa: E402
from wormsk.plotting import (  # noqa: E402
    plot_accuracy_vs_training_worms,
    plot_confusion_matrix,
    plot_inferred_graph,
    plot_missing_neurons,
    plot_trajectory_error,
)


def _confusion():
    rows = []
    for model, k, counts in [
        ("GNN", 1, [[50, 10], [5, 35]]),
        ("GNN", 2, [[58, 2], [4, 36]]),
        ("MLP", 2, [[40, 20], [20, 20]]),
    ]:
        for i, true in enumerate(["forward", "reverse"]):
            for j, pred in enumerate(["forward", "reverse"]):
                rows.append(
                    {"model": model, "evaluation": "unseen", "n_train_worms": k,
                     "true": true, "predicted": pred, "count": counts[i][j]}
                )  # fmt: skip
    return pd.DataFrame(rows)


def _image(fig, k=0):
    return fig.axes[k].get_images()[0].get_array()


def test_confusion_matrix_picks_model_and_largest_training_set(tmp_path):
    fig = plot_confusion_matrix(_confusion())
    assert isinstance(fig, Figure)
    # GNN with 2 training worms, rows normalized to recall.
    np.testing.assert_allclose(_image(fig), [[58 / 60, 2 / 60], [4 / 40, 36 / 40]])
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "forward",
        "reverse",
    ]
    assert "GNN" in fig.axes[0].get_title()
    ax, colorbar = fig.axes
    assert [t.get_text() for t in ax.texts] == ["0.97", "0.03", "0.10", "0.90"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted state", "true state")
    assert colorbar.get_ylabel() == "fraction of true state"
    assert colorbar.get_ylim() == (0, 1)  # fractions on a fixed 0-1 scale
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000

    raw = plot_confusion_matrix(_confusion(), model="MLP", normalize=False)
    np.testing.assert_array_equal(_image(raw), [[40, 20], [20, 20]])
    summed = plot_confusion_matrix(_confusion(), model=None, n_train_worms=2,
                                   normalize=False)  # fmt: skip
    np.testing.assert_array_equal(_image(summed), [[98, 22], [24, 56]])
    assert [t.get_text() for t in summed.axes[0].texts][:2] == ["98", "22"]
    # A state that never occurs is a row of zeros, not of NaN.
    turn = plot_confusion_matrix(_confusion(), labels=["forward", "reverse", "turn"])
    np.testing.assert_allclose(_image(turn)[2], [0, 0, 0])


def test_confusion_matrix_bad_selection_names_the_choices():
    with pytest.raises(ValueError, match="model='SVM'.*'GNN', 'MLP'"):
        plot_confusion_matrix(_confusion(), model="SVM")
    with pytest.raises(ValueError, match="lacks the column"):
        plot_confusion_matrix(_confusion().drop(columns="count"))


def test_accuracy_vs_training_worms_means_and_spread():
    scores = pd.DataFrame(
        {
            "model": ["GNN", "GNN", "GNN", "SVM", "SVM", "SVM"],
            "evaluation": ["unseen"] * 6,
            "n_train_worms": [1, 1, 2, 1, 1, 2],
            "accuracy": [0.8, 0.9, 0.95, 0.6, 0.7, 0.72],
        }
    )
    ref = pd.DataFrame({"model": ["GNN"], "n_train_worms": [1], "accuracy": [0.833]})
    fig = plot_accuracy_vs_training_worms(scores, reference=ref)
    ax = fig.axes[0]
    handles = dict(zip(*ax.get_legend_handles_labels()[::-1]))
    assert sorted(handles) == ["GNN", "GNN (paper)", "SVM"]
    gnn = handles["GNN"].lines[0]  # the errorbar container's data line
    np.testing.assert_allclose(gnn.get_xdata(), [1, 2])
    np.testing.assert_allclose(gnn.get_ydata(), [0.85, 0.95])
    np.testing.assert_allclose(handles["SVM"].lines[0].get_ydata(), [0.65, 0.72])
    np.testing.assert_allclose(handles["GNN (paper)"].get_ydata(), [0.833])


def test_accuracy_axis_from_chance_with_majority_baseline_and_counts():
    scores = pd.DataFrame(
        {
            "model": ["GNN"] * 3 + ["Majority class"] * 3,
            "n_train_worms": [1, 1, 2] * 2,
            "accuracy": [0.8, 0.9, 0.95, 0.6, 0.62, 0.61],
        }
    )
    ax = plot_accuracy_vs_training_worms(scores, chance=0.25).axes[0]
    assert ax.get_ylim() == (0.25, 1.0)
    assert "starts at chance" in ax.get_ylabel()
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["chance (0.25)", "GNN", "Majority class (baseline)"]
    assert "SD over combinations" in ax.get_legend().get_title().get_text()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1\n(n=2)", "2\n(n=1)"]
    (line,) = [h for h, lab in zip(*ax.get_legend_handles_labels()) if "Maj" in lab]
    assert line.lines[0].get_linestyle() == "--"
    # A point below chance: the axis starts at 0 and says so.
    low = scores.assign(accuracy=scores["accuracy"] - 0.5)
    ax = plot_accuracy_vs_training_worms(low, chance=0.25).axes[0]
    assert ax.get_ylim() == (0.0, 1.0) and "starts at 0" in ax.get_ylabel()
    assert plot_accuracy_vs_training_worms(scores).axes[0].get_ylim() == (0.0, 1.0)


def _missing_scores():
    rows = []
    for model, accuracies in [
        ("GNN", [[0.9, 0.8], [0.85, 0.75], [0.8, 0.6]]),
        ("SVM+imputer", [[0.95, 0.85], [0.7, 0.7], [0.65, 0.55]]),
        ("Majority class", [[0.6, 0.7], [0.6, 0.7], [0.6, 0.7]]),
    ]:
        for fraction, pair in zip([0.0, 0.2, 0.4], accuracies):
            for worm, accuracy in zip(["w0", "w1"], pair):
                rows.append({"model": model, "evaluation": "unseen",
                             "test_worms": worm, "fraction": fraction,
                             "accuracy": accuracy})  # fmt: skip
    return pd.DataFrame(rows)


def test_missing_neurons_lines_spread_baselines_and_counts(tmp_path):
    scores = _missing_scores()
    before = scores.copy()
    fig = plot_missing_neurons(scores)
    pd.testing.assert_frame_equal(scores, before)  # the caller's table untouched
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    assert labels == ["chance (0.50)", "GNN", "SVM+imputer",
                      "Majority class (baseline)"]  # fmt: skip
    by_label = dict(zip(labels, handles))
    gnn = by_label["GNN"]
    # Three lines side by side at each share, 0.8 % apart.
    np.testing.assert_allclose(gnn.lines[0].get_xdata(), [-0.8, 19.2, 39.2])
    np.testing.assert_allclose(gnn.lines[0].get_ydata(), [0.85, 0.8, 0.7])
    # Error bars: ± the sample SD over the two held-out worms.
    (bars,) = gnn.lines[2]
    spans = [seg[1, 1] - seg[0, 1] for seg in bars.get_segments()]
    np.testing.assert_allclose(spans, 2 * np.array([0.0707107, 0.0707107, 0.1414214]),
                               rtol=1e-5)  # fmt: skip
    np.testing.assert_allclose(by_label["SVM+imputer"].lines[0].get_ydata(),
                               [0.9, 0.7, 0.6])  # fmt: skip
    majority = by_label["Majority class (baseline)"].lines[0]
    assert majority.get_linestyle() == "--" and majority.get_color() == "0.45"
    np.testing.assert_allclose(majority.get_ydata(), [0.65] * 3)
    chance = by_label["chance (0.50)"]
    assert chance.get_linestyle() == ":" and list(chance.get_ydata()) == [0.5, 0.5]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0 %\n(n=2)", "20 %\n(n=2)", "40 %\n(n=2)",
    ]  # fmt: skip
    assert "share of each test worm's identified neurons lost" in ax.get_xlabel()
    assert "unseen worms" in ax.get_title()
    assert "SD over held-out worms" in ax.get_legend().get_title().get_text()
    assert ax.get_ylim() == (0.5, 1.0) and "starts at chance" in ax.get_ylabel()
    fig.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 5000
    # An error bar below chance: the axis starts at 0; without chance, no line.
    low = plot_missing_neurons(scores, chance=0.6).axes[0]
    assert low.get_ylim() == (0.0, 1.0) and "starts at 0" in low.get_ylabel()
    bare = plot_missing_neurons(scores, chance=None).axes[0]
    assert "chance" not in " ".join(bare.get_legend_handles_labels()[1])
    assert bare.get_ylim() == (0.0, 1.0)


def test_missing_neurons_plots_what_summarize_reports():
    # Unequal worms per point (3, 2 and 1) and a single-worm point, whose SD is
    # undefined: drawn without an error bar.
    scores = _missing_scores()
    scores = pd.concat(
        [scores, scores.iloc[[0]].assign(test_worms="w2", accuracy=0.5)],
        ignore_index=True,
    )
    gnn_40 = scores.index[(scores["model"] == "GNN") & (scores["fraction"] == 0.4)]
    scores = scores.drop(index=gnn_40[:1])
    summary = summarize(scores, by=["model", "fraction"]).set_index("model")
    ax = plot_missing_neurons(scores).axes[0]
    by_label = dict(zip(*ax.get_legend_handles_labels()[::-1]))
    for model, label in [("GNN", "GNN"), ("SVM+imputer", "SVM+imputer"),
                         ("Majority class", "Majority class (baseline)")]:  # fmt: skip
        expected = summary.loc[model].sort_values("fraction")
        line, _, (bars,) = by_label[label].lines
        np.testing.assert_allclose(line.get_ydata(), expected["mean"])
        # In percent, each model dodged sideways by less than 1 %.
        np.testing.assert_allclose(line.get_xdata(), expected["fraction"] * 100, atol=1)
        spans = [seg[1, 1] - seg[0, 1] for seg in bars.get_segments()]
        np.testing.assert_allclose(spans, 2 * expected["std"].fillna(0.0))
    gnn = summary.loc["GNN"].sort_values("fraction")
    assert gnn["n"].tolist() == [3, 2, 1] and np.isnan(gnn["std"].iloc[-1])
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0 %\n(n=3)", "20 %\n(n=2)", "40 %\n(n=2)",
    ]  # fmt: skip


def test_import_stays_light():
    # The figures import wormsk.experiments (summarize) when drawn, not at import:
    # it loads torch.
    code = (
        "import sys, wormsk.plotting; "
        "print(sorted({'torch', 'wormsk.experiments'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_missing_neurons_bad_scores_name_the_column():
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['fraction'\]"):
        plot_missing_neurons(_missing_scores().drop(columns="fraction"))
    with pytest.raises(ValueError, match="'fraction'.*in \\[0, 1\\]; got \\['40.0'\\]"):
        plot_missing_neurons(_missing_scores().replace({"fraction": {0.4: 40}}))
    with pytest.raises(TypeError, match="pandas DataFrame"):
        plot_missing_neurons(_missing_scores().to_dict())


def test_trajectory_error_curves():
    errors = pd.DataFrame(
        {
            "model": ["GNN"] * 4 + ["MLP"] * 2 + ["no change"] * 2,
            "training": [
                "1 worm",
                "1 worm",
                "all",
                "all",
                "all",
                "all",
                "none",
                "none",
            ],
            "step": [1, 2, 1, 2, 1, 2, 1, 2],
            "mae": [0.2, 0.4, 0.1, 0.2, 0.3, 0.6, 0.3, 0.5],
            "mse": [0.04, 0.16, 0.01, 0.04, 0.09, 0.36, 0.1, 0.3],
        }
    )
    fig = plot_trajectory_error(errors, metric="mse")
    ax = fig.axes[0]
    assert ax.get_legend_handles_labels()[1] == [
        "GNN, 1 worm", "GNN, all",
        "MLP, all: no better than no change at 1/2 steps", "no change (baseline)",
    ]  # fmt: skip
    labels = plot_trajectory_error(errors, metric="mae").axes[0].get_legend()
    texts = [t.get_text() for t in labels.get_texts()]
    assert "MLP, all: no better than no change" in texts  # 0.3, 0.6 vs 0.3, 0.5
    np.testing.assert_allclose(ax.lines[3].get_ydata(), [0.1, 0.3])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.01, 0.04])
    assert ax.lines[0].get_color() == ax.lines[1].get_color()  # one colour per model
    assert ax.lines[0].get_linestyle() != ax.lines[1].get_linestyle()
    assert ax.get_ylabel() == "mean squared error"
    assert ax.get_ylim()[0] == 0
    assert all(float(tick).is_integer() for tick in ax.get_xticks())  # whole steps


def test_inferred_graph_beside_aligned_connectome(tmp_path):
    names = ["AVAL", "AVAR", "SIM1"]
    graph = pd.DataFrame(
        np.array([[0.1, 0.9, 0.5], [0.2, 0.3, 0.4], [0.6, 0.7, 0.8]]),
        index=names,
        columns=names,
    )
    # Connectome in another order and without the simulated neuron.
    conn = pd.DataFrame([[0.0, 2.0], [1.0, 0.0]], index=["AVAR", "AVAL"],
                        columns=["AVAR", "AVAL"])  # fmt: skip
    fig = plot_inferred_graph(graph, conn, worm="sim0")
    assert len(fig.axes) == 4  # two heatmaps, two colorbars
    np.testing.assert_allclose(_image(fig, 0), graph.to_numpy())
    images = [im for ax in fig.axes for im in ax.get_images()]
    np.testing.assert_allclose(images[1].get_array(), [[0, 1, 0], [2, 0, 0], [0, 0, 0]])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
    assert fig._suptitle.get_text() == "worm sim0"
    fig.savefig(tmp_path / "g.png")
    alone = plot_inferred_graph(graph)
    assert len([ax for ax in alone.axes if ax.get_images()]) == 1
    with pytest.raises(ValueError, match="square DataFrame"):
        plot_inferred_graph(graph.iloc[:2])
