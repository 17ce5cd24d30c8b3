import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _matfile import Cell, write_mat73

from wormsk import __version__
from wormsk.cli import Progress, main, markdown_table
from wormsk.datasets import DATA_HOME_ENV, KATO_STATES, make_worms

pytest.importorskip("matplotlib")


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "wormsk.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_and_help():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"wormsk {__version__}"
    out = _run("--help")
    assert out.returncode == 0
    assert "reproduce" in out.stdout and "info" in out.stdout
    out = _run("reproduce", "--help")
    assert out.returncode == 0
    for option in ("--kato", "--nichols", "--quick", "--experiments", "--out",
                   "--random-state", "--jobs"):  # fmt: skip
        assert option in out.stdout
    assert "--preset" not in out.stdout  # the test preset stays hidden


def test_info_lists_versions_data_home_and_cache(tmp_path, monkeypatch, capsys):
    home = tmp_path / "data"
    (home / "kato2015").mkdir(parents=True)
    (home / "kato2015" / "WT_NoStim.mat").write_bytes(b"x" * 2000)
    monkeypatch.setenv(DATA_HOME_ENV, str(home))
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert f"wormsk {__version__}" in text
    assert "scikit-learn" in text and "torch" in text and "skorch" in text
    assert f"data home: {home}" in text
    lines = {line.split()[1]: line for line in text.splitlines() if ".mat" in line}
    assert "cached" in lines["WT_NoStim.mat"]
    assert "not cached" in lines["n2_prelet.mat"]
    assert "not cached" not in lines["WT_NoStim.mat"]


def test_bad_arguments_are_reported(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--nichols", "fetch", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "--nichols needs --kato" in capsys.readouterr().err
    code = main(["reproduce", "--kato", str(tmp_path / "missing.mat"), "--preset",
                 "tiny", "--out", str(tmp_path / "r")])  # fmt: skip
    assert code == 1
    assert "wormsk reproduce: error:" in capsys.readouterr().err


def test_progress_line_reports_elapsed_and_remaining():
    stream = io.StringIO()
    progress = Progress(stream)
    for done in range(41):
        progress(done, 40, "demo")
    lines = stream.getvalue().splitlines()  # not a terminal: a line per tenth
    assert len(lines) == 10 and "| 4/40" in lines[0]
    assert lines[-1].startswith("demo") and "| 40/40" in lines[-1]
    assert "elapsed 0:00" in lines[-1] and "remaining 0:00" in lines[-1]

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    progress = Progress(tty, width=4)
    progress(0, 2, "x")
    progress(1, 2, "x")
    assert tty.getvalue().count("\r") == 2 and "|##--| 1/2" in tty.getvalue()
    assert "remaining ?" in tty.getvalue()


def test_markdown_table():
    df = pd.DataFrame({"model": ["GNN"], "mean": [0.91234], "std": [np.nan]})
    assert markdown_table(df).splitlines() == [
        "| model | mean | std |",
        "|---|---|---|",
        "| GNN | 0.912 |  |",
    ]


def test_reproduce_simulated_writes_every_table_and_figure(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--random-state", "1"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "NOT comparable" in printed
    assert "| Connectome GNN |" in printed
    for png in ("confusion_matrix_unseen", "accuracy_vs_training_worms",
                "trajectory_error", "inferred_graph"):  # fmt: skip
        assert (out / f"{png}.png").stat().st_size > 5000
    tables = {p.stem: pd.read_csv(p) for p in out.glob("*.csv")}
    assert set(tables) == {
        "forward_reverse_scores", "forward_reverse_summary", "seven_states_scores",
        "seven_states_summary", "four_states_scores", "four_states_confusion",
        "four_states_summary", "trajectory_errors", "trajectory_summary",
        "inferred_graph",
    }  # fmt: skip
    fr = tables["forward_reverse_summary"]
    assert set(fr["evaluation"]) == {"seen", "unseen"}
    assert fr["mean"].between(0, 1).all()
    assert sorted(tables["trajectory_summary"]["step"].unique()) == [1, 2, 3, 4]
    assert tables["inferred_graph"].shape == (15, 16)  # target column + 15 sources
    report = (out / "report.md").read_text()
    assert "NOT comparable" in report and "preset: tiny" in report
    assert "![" in report and "(confusion_matrix_unseen.png)" in report
    assert report.count("\n## ") >= 6
    assert "paper" not in tables["four_states_summary"].columns


# --- the real-data path, on small MAT-files in the real v7.3 layout ----------


def _write_kato(path, bunch):
    cells = {name: [] for name in ("NeuronNames", "deltaFOverF_bc",
                                   "deltaFOverF_deriv", "States", "tv", "fps",
                                   "dataset")}  # fmt: skip
    for k, worm in enumerate(pd.unique(bunch.groups)):
        X = bunch.data.xs(worm, level="worm")
        y = bunch.target[bunch.groups == worm]
        cells["NeuronNames"].append(Cell(list(bunch.neuron_names)))
        cells["deltaFOverF_bc"].append(X.filter(like="_trace").to_numpy())
        cells["deltaFOverF_deriv"].append(X.filter(like="_deriv").to_numpy())
        states = {s: (y == s).astype(float) for s in KATO_STATES}
        states["nostate"] = np.zeros(len(y))
        cells["States"].append(states)
        cells["tv"].append(np.arange(len(y)) / 2.9)
        cells["fps"].append(2.9)
        cells["dataset"].append(f"rec{k}")
    write_mat73(path, {"WT_NoStim": {k: Cell(v) for k, v in cells.items()}})


def _write_nichols(path, bunch):
    code = {"rev1": 1, "rev2": 1, "revsus": 1, "fwd": 2, "slow": 2, "dt": 4, "vt": 4}
    fields = []
    for k, worm in enumerate(pd.unique(bunch.groups)):
        X = bunch.data.xs(worm, level="worm")
        y = bunch.target[bunch.groups == worm]
        traces = X.filter(like="_trace").to_numpy()
        fields.append(
            {
                "IDs": Cell(list(bunch.neuron_names)),
                "traces": traces,
                "tracesDif": np.diff(traces, axis=0),
                "timeVectorSeconds": np.arange(len(y)) / 3.0,
                "fps": 3.0,
                "dataset": f"{path.stem}_{k}",
                "States": np.array([code[s] for s in y], dtype=float),
            }
        )
    write_mat73(path, {path.stem: {n: Cell([f[n] for f in fields]) for n in fields[0]}})


def test_reproduce_real_files_shows_the_paper_beside_measured(tmp_path, capsys):
    kato = tmp_path / "WT_NoStim.mat"
    _write_kato(kato, make_worms(n_worms=3, n_frames=300, random_state=2))
    nichols = tmp_path / "n2_prelet.mat"
    _write_nichols(nichols, make_worms(n_worms=2, n_frames=200, neurons=["AIBR",
                   "AVAL", "VB02"], random_state=4))  # fmt: skip
    out = tmp_path / "real"
    code = main(["reproduce", "--kato", str(kato), "--nichols", str(nichols),
                 "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--experiments", "four-states", "trajectory"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "Kato et al. 2015 and Nichols et al. 2017" in printed
    assert "NOT comparable" not in printed
    summary = pd.read_csv(out / "four_states_summary.csv")
    cross = summary[summary["evaluation"] == "cross-study"]
    assert list(cross["model"]) == ["SVM", "MLP", "GNN"]
    assert (cross["n_train_worms"] == 3).all() and (cross["n"] == 2).all()
    # The paper's reported numbers sit beside the measured ones.
    assert "| GNN | unseen | 1 | 1 |" in printed and "| 0.833 |" in printed
    assert "0.70-0.73" in printed and "MAE 0.140" in printed
    errors = pd.read_csv(out / "trajectory_errors.csv")
    assert set(errors["test_worms"]) == {"n2_prelet_0,n2_prelet_1"}
    assert (out / "report.md").read_text().count("paper") >= 2
