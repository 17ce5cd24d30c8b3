import importlib.util
import io
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from _matfile import Cell, write_mat73

from wormsk import __version__, cli
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


@pytest.mark.parametrize(
    "args, flag, advice",
    [
        (["--jobs", "0"], "--jobs", "integer >= 1 or -1"),
        (["--jobs", "two"], "--jobs", "integer >= 1 or -1"),
        (["--random-state", "-1"], "--random-state", "integer >= 0"),
        (["--nichols", "fetch"], "--nichols needs --kato", "--kato"),
        (["--kato", "fetch"], "--kato fetch", "put it at"),
        (["--kato", "{tmp}/missing.mat"], "--kato", "no such file"),
        (["--kato", "{tmp}/k.mat", "--nichols", "fetch", "{tmp}/k.mat"], "--nichols",
         "not both"),
        (["--out", "{tmp}/afile"], "--out", "is a file, not a folder"),
        (["--out", "{tmp}/other"], "--out", "give a new or empty folder"),
        (["--data", "simulated", "--kato", "{tmp}/k.mat"], "--data", "cannot be"),
        (["--bogus"], "unrecognized arguments: --bogus", "--bogus"),
    ],
)
def test_bad_flags_fail_before_anything_is_printed_or_written(
    tmp_path, monkeypatch, capsys, args, flag, advice
):
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "home"))
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "k.mat").write_bytes(b"x")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("someone else's")
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--preset", "tiny", "--out", str(tmp_path / "r"), *args])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no header
    # argparse style: the subcommand's usage line, then "wormsk reproduce: error:"
    assert captured.err.startswith("usage: wormsk reproduce ")
    assert f"wormsk reproduce: error: {flag}" in captured.err.replace(
        "argument ", ""
    )
    assert advice in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing created
    assert (tmp_path / "other" / "notes.txt").read_text() == "someone else's"


def test_kato_fetch_is_not_offered_as_a_download():
    help_text = _run("reproduce", "--help").stdout
    assert "cannot download it yet" in " ".join(help_text.split())
    assert "'fetch' to download it once" not in help_text


def test_failed_run_leaves_no_out_folder(tmp_path, capsys):
    bad = tmp_path / "WT_NoStim.mat"
    bad.write_bytes(b"not a MAT-file")
    out = tmp_path / "new" / "report"
    code = main(["reproduce", "--kato", str(bad), "--preset", "tiny", "--out",
                 str(out), "--jobs", "1"])  # fmt: skip
    assert code == 1
    assert "wormsk reproduce: error:" in capsys.readouterr().err
    # Neither --out nor the parent this run created, nor a partial folder or lock.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["WT_NoStim.mat"]


def test_info_does_not_create_the_data_home(tmp_path, monkeypatch, capsys):
    home = tmp_path / "never"
    monkeypatch.setenv(DATA_HOME_ENV, str(home))
    assert main(["info"]) == 0
    assert "does not exist yet" in capsys.readouterr().out
    assert not home.exists()
    home.write_text("a file where the data home should be")
    assert main(["info"]) == 1
    err = capsys.readouterr().err
    assert f"data home {home} ({DATA_HOME_ENV}) exists and is not a directory" in err


def _old_report(folder):
    folder.mkdir()
    (folder / "report.md").write_text("# the previous run\n")
    (folder / "old.csv").write_text("a\n1\n")
    return {p.name: p.read_text() for p in folder.iterdir()}


def test_a_locked_report_folder_is_refused_and_left_alone(tmp_path, capsys):
    out = tmp_path / "rep"
    before = _old_report(out)
    lock = tmp_path / ".rep.lock"
    lock.write_text("999999999 wormsk reproduce\n")
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1"])
    assert code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert f"lock file {lock} exists" in err and f"delete {lock}" in err
    assert "stale" in err  # no process 999999999
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert lock.exists()  # somebody else's lock is not ours to remove


def test_interrupt_exits_130_and_keeps_the_previous_report(tmp_path):
    out = tmp_path / "rep"
    before = _old_report(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wormsk.cli", "reproduce", "--preset", "tiny",
         "--jobs", "1", "--out", str(out)],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The header is printed once the data are ready; the fits follow.
    assert "data: simulated" in proc.stdout.readline() + proc.stdout.readline()
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # main() returned 130 and the process then ended by SIGINT (status 130 in a
    # shell), so that a calling shell stops too.
    assert proc.returncode == -signal.SIGINT, err
    assert "interrupted; nothing was written" in err
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no partial, lock


def test_leftovers_of_a_killed_run_are_cleared_and_its_old_report_restored(tmp_path):
    out = tmp_path / "rep"
    (tmp_path / ".rep.partial-abc").mkdir()  # killed while writing
    (tmp_path / ".rep.partial-abc" / "half.csv").write_text("x")
    old = tmp_path / ".rep.old-def" / "report"  # killed between the two renames
    old.mkdir(parents=True)
    (old / "report.md").write_text("# kept\n")
    with pytest.raises(RuntimeError), cli._report_folder(out) as folder:
        assert (out / "report.md").read_text() == "# kept\n"
        (folder / "new.csv").write_text("y")
        raise RuntimeError("this run fails too")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]


def test_rerun_replaces_the_report_whole(tmp_path, capsys):
    out = tmp_path / "rep"
    _old_report(out)
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--experiments", "seven-states"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "report.md", "seven_states_scores.csv", "seven_states_summary.csv",
    ]  # fmt: skip
    assert "# the previous run" not in (out / "report.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_reproduce_without_the_connectome_package_says_what_it_skipped(
    tmp_path, monkeypatch, capsys
):
    find_spec = importlib.util.find_spec

    def without_atlas(name, *args, **kwargs):
        return None if name == "wormneuroatlas" else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_atlas)
    out = tmp_path / "rep"
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--experiments", "forward-reverse", "graph"])  # fmt: skip
    assert code == 0
    report = (out / "report.md").read_text()
    assert "**Skipped:**" in report and 'pip install "wormsk[reproduce]"' in report
    summary = pd.read_csv(out / "forward_reverse_summary.csv")
    assert "Connectome GNN" not in set(summary["model"])
    assert not (out / "inferred_graph.csv").exists()
    assert "Skipped:" in capsys.readouterr().out


def test_report_tables_show_majority_rows_chance_and_spread():
    scores = pd.DataFrame(
        {
            "model": ["GNN", "GNN", cli.MAJORITY, cli.MAJORITY] * 2,
            "evaluation": ["unseen"] * 8,
            "n_train_worms": [1] * 4 + [2] * 4,
            "accuracy": [0.8, 0.7, 0.5, 0.6, 0.9, 0.85, 0.55, 0.55],
        }
    )
    summary, display = cli._accuracy_tables("four-states", scores, real=False)
    table = cli.markdown_table(cli._with_chance(display, 4))
    assert "| Majority class | unseen | 1 | 2 | 0.550 ± 0.071 |" in table
    assert table.splitlines()[-1] == "| chance (1/4) |  |  |  | 0.250 |"
    shares = cli._state_shares(["fwd", "fwd", "rev1", "dt", "vt", "nostate"], "four")
    assert shares.to_dict() == {"forward": 0.4, "reverse": 0.2, "dorsal_turn": 0.2,
                                "ventral_turn": 0.2}  # fmt: skip
    note = cli._baseline_note(shares, scores)
    assert "chance is 1/k = 0.250 (k = 4 states" in note
    assert "forward, is 0.400" in note and "`Majority class` row" in note
    assert "Majority class" not in cli._baseline_note(shares, scores[:2])
    assert cli._spread_note(summary, "combinations") == (
        "mean ± standard deviation over n = 2 combinations"
    )


def test_no_change_verdict_in_words():
    rows = []
    for step, base in [(1, 0.10), (2, 0.20), (3, 0.30)]:
        rows += [("no change", "none", step, base), ("GNN", "all", step, base - 0.05),
                 ("MLP", "all", step, base), ("GRU", "all", step, base + 0.01 * (
                     step == 3) - 0.01 * (step < 3))]  # fmt: skip
    summary = pd.DataFrame(rows, columns=["model", "training", "step", "mae"])
    text = cli._no_change_note(summary)
    assert "MLP (all) at steps 1-3 (every step)" in text
    assert "GRU (all) at step 3;" not in text and "GRU (all) at step 3" in text
    assert "Below no change at every step: GNN (all)" in text
    assert cli._ranges([5, 1, 2, 3, 7, 8]) == "1-3, 5, 7-8"


def test_progress_line_reports_elapsed_and_remaining():
    stream = io.StringIO()
    progress = Progress(stream)
    for done in range(41):
        progress(done, 40, "demo")
    lines = stream.getvalue().splitlines()  # not a terminal: a line per tenth
    assert len(lines) == 10 and "| 4/40" in lines[0]
    assert lines[-1].startswith("demo") and "| 40/40" in lines[-1]
    assert "elapsed 00:00" in lines[-1] and "remaining 00:00" in lines[-1]
    assert "\r" not in stream.getvalue()  # a log gets lines, not redraws

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    progress = Progress(tty, width=4)
    progress(0, 2, "x")
    progress(1, 2, "x")
    assert tty.getvalue().count("\r") == 2 and "|##--| 1/2" in tty.getvalue()
    assert "remaining ?" in tty.getvalue() and "\n" not in tty.getvalue()
    # A new label ends the unfinished bar on its own line, and a finished bar
    # ends its line too: bars are never stacked or redrawn over each other.
    progress(0, 3, "y")
    assert tty.getvalue().split("\n")[1].startswith("\ry ")
    for done in (1, 2, 3):
        progress(done, 3, "y")
    assert tty.getvalue().endswith("\n") and "|####| 3/3" in tty.getvalue()


def test_markdown_table():
    df = pd.DataFrame({"model": ["GNN"], "mean": [0.91234], "std": [np.nan]})
    assert markdown_table(df).splitlines() == [
        "| model | mean | std |",
        "|---------|--------|-------|",
        "| GNN | 0.912 |  |",
    ]


def test_a_figure_without_matplotlib_is_skipped_with_a_message(tmp_path, capsys):
    def draw():
        raise ImportError("wormsk.plotting needs matplotlib")

    figure = cli._Figure("accuracy", "a caption", draw)
    assert cli._save_figure(tmp_path, figure) is False
    err = capsys.readouterr().err
    assert "figure accuracy.png skipped: wormsk.plotting needs" in err
    assert list(tmp_path.iterdir()) == []
    assert list(cli._SECTIONS) == list(cli.EXPERIMENTS)  # sections in report order


def test_reproduce_simulated_writes_every_table_and_figure(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--random-state", "1"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "NOT comparable" in printed
    assert "| Connectome GNN |" in printed
    for png in ("confusion_matrix_unseen", "accuracy_vs_training_worms",
                "trajectory_error", "inferred_graph", "missing_neurons"):  # fmt: skip
        assert (out / f"{png}.png").stat().st_size > 5000
    tables = {p.stem: pd.read_csv(p) for p in out.glob("*.csv")}
    assert set(tables) == {
        "forward_reverse_scores", "forward_reverse_summary", "seven_states_scores",
        "seven_states_summary", "four_states_scores", "four_states_confusion",
        "four_states_summary", "trajectory_errors", "trajectory_summary",
        "inferred_graph", "missing_neurons_scores", "missing_neurons_summary",
    }  # fmt: skip
    fr = tables["forward_reverse_summary"]
    assert set(fr["evaluation"]) == {"seen", "unseen"}
    assert fr["mean"].between(0, 1).all()
    assert sorted(tables["trajectory_summary"]["step"].unique()) == [1, 2, 3, 4]
    assert tables["inferred_graph"].shape == (15, 16)  # target column + 15 sources
    report = (out / "report.md").read_text()
    assert "NOT comparable" in report and "preset: tiny" in report
    assert "![" in report and "(confusion_matrix_unseen.png)" in report
    assert report.count("\n## ") >= 7
    assert "## Forward vs reverse on unseen worms that lose neurons" in report
    assert "| chance (1/2) | 0.500 | 0.500 |" in report
    assert "| chance (1/4) |" in report and "chance is 1/k = 0.143" in report
    assert "mean ± standard deviation over n = 3 held-out worms" in report
    assert "The `no change` row repeats the last observed frame" in report
    assert "| AUROC |" in report and "label-shuffled" in report
    assert "(unseen: not in training)" in report
    assert "| rev1 | reversal, phase 1 | reverse | reverse |" in report
    assert "paper" not in tables["four_states_summary"].columns


def test_missing_neurons_table_gives_spread_and_n_per_share_lost():
    scores = pd.DataFrame(
        {
            "model": ["GNN"] * 4 + [cli.MAJORITY] * 4,
            "fraction": [0.0, 0.0, 0.2, 0.2] * 2,
            "n_missing": [0, 0, 3, 4] * 2,
            "accuracy": [0.9, 0.8, 0.7, 0.7, 0.6, 0.5, 0.6, 0.5],
        }
    )
    summary, display = cli._missing_tables(scores)
    assert summary[["model", "fraction", "n"]].values.tolist() == [
        ["GNN", 0.0, 2], ["GNN", 0.2, 2], [cli.MAJORITY, 0.0, 2],
        [cli.MAJORITY, 0.2, 2],
    ]  # fmt: skip
    columns = [c for c in display.columns if c != "model"]
    table = cli.markdown_table(cli._with_chance(display, 2, columns))
    assert table.splitlines()[0] == "| model | 0 % lost | 20 % lost |"
    assert "| GNN | 0.850 ± 0.071 (2) | 0.700 ± 0.000 (2) |" in table
    assert "| Majority class | 0.550 ± 0.071 (2) | 0.550 ± 0.071 (2) |" in table
    assert table.splitlines()[-1] == "| chance (1/2) | 0.500 | 0.500 |"
    assert cli._lost_counts(scores) == "0 at 0 %, 3.5 at 20 %"


def test_reproduce_missing_neurons_alone(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["reproduce", "--preset", "tiny", "--out", str(out), "--jobs", "1",
                 "--experiments", "missing-neurons"])  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "missing_neurons.png", "missing_neurons_scores.csv",
        "missing_neurons_summary.csv", "report.md",
    ]  # fmt: skip
    assert (out / "missing_neurons.png").stat().st_size > 5000
    scores = pd.read_csv(out / "missing_neurons_scores.csv")
    summary = pd.read_csv(out / "missing_neurons_summary.csv")
    # tiny: 2 held-out worms x 3 shares x (3 models + majority class)
    assert len(scores) == 24 and set(scores["evaluation"]) == {"unseen"}
    assert list(dict.fromkeys(summary["model"])) == [
        "GNN", "MLP-sum", "SVM+imputer", cli.MAJORITY,
    ]  # fmt: skip
    expected = scores.groupby(["model", "fraction"], sort=False)["accuracy"].mean()
    np.testing.assert_allclose(summary["mean"], expected.to_numpy())
    assert (summary["n"] == 2).all()
    assert (scores.loc[scores["fraction"] == 0, "n_missing"] == 0).all()
    assert (scores.loc[scores["fraction"] == 0.4, "n_missing"] == 6).all()  # of 15
    report = (out / "report.md").read_text()
    section = report.split("## Forward vs reverse on unseen worms that lose neurons")[1]
    assert "| model | 0 % lost | 20 % lost | 40 % lost |" in section
    assert "| chance (1/2) | 0.500 | 0.500 | 0.500 |" in section
    gnn = summary[(summary["model"] == "GNN") & (summary["fraction"] == 0.2)].iloc[0]
    assert f"{gnn['mean']:.3f} ± {gnn['std']:.3f} (2)" in section
    assert "NaN in every frame" in section and "mean imputation" in section
    assert "lost per test worm (mean): 0 at 0 %, 3 at 20 %, 6 at 40 %" in section
    assert "`Majority class` row" in section and "(missing_neurons.png)" in section
    assert "## Forward vs reverse, seen and unseen" not in report
    assert "Forward vs reverse on unseen worms" in capsys.readouterr().out


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
                 "--experiments", "four-states", "trajectory",
                 "missing-neurons"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "Kato et al. 2015 and Nichols et al. 2017" in printed
    assert "NOT comparable" not in printed
    summary = pd.read_csv(out / "four_states_summary.csv")
    cross = summary[summary["evaluation"] == "cross-study"]
    assert list(cross["model"]) == ["SVM", "MLP", "GNN", "Majority class"]
    assert (cross["n_train_worms"] == 3).all() and (cross["n"] == 2).all()
    # The paper's reported numbers sit beside the measured ones.
    assert "| GNN | unseen | 1 | 1 |" in printed and "| 0.833 |" in printed
    assert "0.70-0.73" in printed and "MAE 0.140" in printed
    errors = pd.read_csv(out / "trajectory_errors.csv")
    assert set(errors["test_worms"]) == {"n2_prelet_0,n2_prelet_1"}
    assert (out / "report.md").read_text().count("paper") >= 2
    # The Kato worms lose neurons too; no paper numbers exist for this table.
    missing = pd.read_csv(out / "missing_neurons_summary.csv")
    assert set(missing["fraction"]) == {0.0, 0.2, 0.4}
    assert "paper" not in missing.columns and (out / "missing_neurons.png").exists()
