"""The ``wormsk`` command: ``wormsk reproduce`` and ``wormsk info``.

``wormsk reproduce`` runs the experiments of Wang et al. (2021) with
:mod:`wormsk.experiments`, prints their tables and writes a report (Markdown, CSV,
PNG figures) to ``--out``. ``wormsk info`` prints versions, the data home and the
cached datasets.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from wormsk import __version__

EXPERIMENTS = ("forward-reverse", "seven-states", "four-states", "trajectory", "graph")
_TITLES = {
    "forward-reverse": "Forward vs reverse, seen and unseen worms (Table 1)",
    "seven-states": "7 Kato states, seen worms",
    "four-states": "4 states, unseen worms, vs number of training worms",
    "trajectory": "Trajectory forecast error on unseen worms",
    "graph": "Inferred graph of an unseen worm beside the connectome",
}


# ------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wormsk",
        description="Decode C. elegans behaviour from whole-brain calcium imaging "
        "with graph neural networks (Wang et al. 2021) as scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=f"wormsk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rep = sub.add_parser(
        "reproduce",
        help="run the paper's experiments and write a report",
        description="Run the experiments of Wang et al. (2021) on the simulated "
        "worms or on the real Kato 2015 / Nichols 2017 recordings, print the "
        "tables and write report.md, CSV tables and PNG figures to --out.",
    )
    rep.add_argument(
        "--data",
        choices=["simulated"],
        default=None,
        help="simulated worms (the default when neither --kato nor --nichols is given)",
    )
    rep.add_argument(
        "--kato",
        metavar="PATH|fetch",
        help="Kato et al. 2015 WT_NoStim.mat, or 'fetch' to download it once",
    )
    rep.add_argument(
        "--nichols",
        metavar="PATH|fetch",
        nargs="+",
        help="Nichols et al. 2017 n2_prelet.mat npr1_prelet.mat, or 'fetch' "
        "(cross-study tests; needs --kato)",
    )
    rep.add_argument(
        "--quick",
        action="store_true",
        help="small settings: every table and figure in under 3 minutes on 2 CPU "
        "cores on the simulated worms (the real recordings are longer: a few "
        "minutes more); without it, the full settings take about 45 minutes "
        "(43-45 measured on 2 idle cores)",
    )
    # A hidden, smaller preset for the test suite.
    rep.add_argument(
        "--preset", choices=["tiny", "quick", "full"], help=argparse.SUPPRESS
    )
    rep.add_argument(
        "--experiments",
        nargs="+",
        choices=EXPERIMENTS,
        default=list(EXPERIMENTS),
        metavar="NAME",
        help=f"experiments to run (default: all of {', '.join(EXPERIMENTS)})",
    )
    rep.add_argument(
        "--out",
        default="wormsk_report",
        type=Path,
        metavar="DIR",
        help="output directory (default: ./wormsk_report)",
    )
    rep.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the simulated worms, the fold shuffling and every network "
        "(default: 0)",
    )
    rep.add_argument(
        "--jobs",
        type=int,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="fits run in parallel in N joblib processes (default: the number of "
        "CPU cores, at most 4; -1: all cores)",
    )

    sub.add_parser(
        "info",
        help="versions, data home and cached datasets",
        description="Print versions, the data home and which datasets are cached.",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "info":
        return _info()
    if args.command == "reproduce":
        if args.data and (args.kato or args.nichols):
            parser.error("--data simulated cannot be combined with --kato/--nichols.")
        if args.nichols and not args.kato:
            parser.error("--nichols needs --kato (models are trained on Kato worms).")
        try:
            reproduce(
                kato=args.kato,
                nichols=args.nichols,
                preset=args.preset or ("quick" if args.quick else "full"),
                experiments=args.experiments,
                out=args.out,
                random_state=args.random_state,
                n_jobs=args.jobs,
            )
        except (ValueError, OSError, ImportError) as exc:
            print(f"wormsk reproduce: error: {exc}", file=sys.stderr)
            return 1
        return 0
    return 0  # pragma: no cover - argparse rejects unknown commands


# --------------------------------------------------------------------- info
def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _info() -> int:
    from wormsk import datasets

    print(f"wormsk {__version__}")
    print(f"python {platform.python_version()} ({platform.platform()})")
    for name in ("numpy", "scipy", "pandas", "scikit-learn", "skorch", "torch",
                 "h5py", "pooch", "matplotlib", "wormneuroatlas"):  # fmt: skip
        print(f"  {name:<15}{_version(name)}")
    try:
        import torch

        print(
            f"  torch threads  {torch.get_num_threads()}; CPU cores {os.cpu_count()}"
            f"; CUDA {'available' if torch.cuda.is_available() else 'not available'}"
        )
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    print(f"data home: {datasets.get_data_home()} (set {datasets.DATA_HOME_ENV} "
          "to change it)")  # fmt: skip
    print("cached datasets:")
    for row in datasets.list_cached().itertuples(index=False):
        state = f"cached, {row.size_mb} MB" if row.cached else "not cached"
        print(f"  {row.dataset:<12} {row.file:<16} {state}")
    return 0


# --------------------------------------------------------------- progress
class Progress:
    """A one-line progress bar with elapsed and remaining time (no dependency).

    On a terminal the line is redrawn in place; otherwise (logs, CI) a line is
    written at each tenth of the task.
    """

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._start: dict[str, float] = {}
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.perf_counter()
        start = self._start.setdefault(label, now)
        if done == 0:
            self._start[label] = start = now
        elapsed = now - start
        remaining = elapsed / done * (total - done) if done else None
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        rest = "?" if remaining is None else _clock(remaining)
        line = (
            f"{label:<34} |{bar}| {done}/{total}  elapsed {_clock(elapsed)}"
            f"  remaining {rest}"
        )
        if self._tty:
            end = "\n" if done == total else ""
            self.stream.write("\r" + line + end)
        elif done and (done == total or 10 * done // total > 10 * (done - 1) // total):
            # Logs get a line per tenth of the work, not a redraw per fit.
            self.stream.write(line + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# ---------------------------------------------------------------- tables
def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (floats to 3 decimals)."""
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(_cell(v) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def _pm(mean, std) -> str:
    if np.isnan(std):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {std:.3f}"


def _accuracy_tables(name: str, scores: pd.DataFrame, real: bool):
    """(CSV summary, display table) of a classification experiment."""
    from wormsk import experiments as ex

    if name == "forward-reverse":
        summary = ex.summarize(scores, ["model", "evaluation"])
        display = pd.DataFrame({"model": list(dict.fromkeys(summary["model"]))})
        for evaluation in ("seen", "unseen"):
            part = summary[summary["evaluation"] == evaluation].set_index("model")
            display[f"{evaluation} worms"] = [
                _pm(part.loc[m, "mean"], part.loc[m, "std"]) if m in part.index else ""
                for m in display["model"]
            ]
        if real:
            display = ex.compare_with_paper(display, "forward_reverse")
        return summary, display
    if name == "seven-states":
        summary = ex.summarize(scores, ["model", "evaluation"])
        key = "seven_states_seen"
    else:
        summary = ex.summarize(scores, ["model", "evaluation", "n_train_worms"])
        key = "four_states_unseen"
    display = summary.copy()
    display["accuracy"] = [_pm(m, s) for m, s in zip(summary["mean"], summary["std"])]
    display = display.drop(columns=["mean", "std"])
    if real:
        display = ex.compare_with_paper(display, key)
    return summary, display


def _trajectory_tables(errors: pd.DataFrame, real: bool, steps=(1, 8, 16)):
    from wormsk import experiments as ex

    summary = (
        errors.groupby(["model", "training", "step"], sort=False)[["mae", "mse"]]
        .mean()
        .reset_index()
    )
    shown = [s for s in steps if s in set(summary["step"])] or sorted(
        {int(summary["step"].min()), int(summary["step"].max())}
    )
    display = summary[summary["step"].isin(shown)].reset_index(drop=True)
    if real:
        display = ex.compare_with_paper(display, "trajectory")
    return summary, display


# -------------------------------------------------------------- reproduce
def _load(kato, nichols, preset, random_state):
    """Datasets of the run: (main, cross-study train, cross-study test, real?)."""
    from sklearn.utils import Bunch

    from wormsk import datasets
    from wormsk._utils import CHANNELS

    if kato is None:
        data = datasets.make_worms(
            n_worms=preset.n_worms, n_frames=preset.n_frames, random_state=random_state
        )
        return data, None, None, False

    def kato_data(**kw):
        if kato == "fetch":
            return datasets.fetch_kato2015(**kw)
        return datasets.load_kato2015(kato, **kw)

    data = kato_data()
    if not nichols:
        return data, None, None, True
    # Across studies only the neurons named in every worm of both are usable. They
    # are among the Kato table's neurons and every Kato state has one of the four
    # states, so the table already read serves (the file is not parsed twice).
    shared = list(datasets.NICHOLS_SHARED_NEURONS)
    columns = [f"{name}_{channel}" for name in shared for channel in CHANNELS]
    train = Bunch(
        data=data.data[columns],
        target=datasets.map_states(data.target, "four").astype(str),
        groups=data.groups,
    )
    if nichols == ["fetch"]:
        test = datasets.fetch_nichols2017(neurons=shared, states="four")
    else:
        test = datasets.load_nichols2017(nichols, neurons=shared, states="four")
    return data, train, test, True


def reproduce(
    kato: str | None = None,
    nichols: list[str] | None = None,
    preset: str = "quick",
    experiments=EXPERIMENTS,
    out: str | Path = "wormsk_report",
    random_state: int = 0,
    n_jobs: int | None = 1,
    stream=None,
    progress=None,
) -> dict[str, pd.DataFrame]:
    """Run the experiments, print the tables and write the report to ``out``.

    The library form of ``wormsk reproduce``: ``kato``/``nichols`` are paths (or
    ``"fetch"``); without them the simulated worms are used. Returns the tidy
    tables by name (also written as ``<name>.csv``).

    Examples
    --------
    >>> from wormsk.cli import reproduce
    >>> tables = reproduce(preset="tiny", out="report")  # doctest: +SKIP
    """
    from wormsk import experiments as ex

    stream = stream if stream is not None else sys.stdout
    progress = progress if progress is not None else Progress()
    p = ex._preset(preset)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"Unknown experiment(s) {unknown}; choose from {EXPERIMENTS}.")
    start = time.perf_counter()
    data, cross_train, cross_test, real = _load(kato, nichols, p, random_state)
    source = (
        "Kato et al. 2015" + (" and Nichols et al. 2017" if cross_test else "")
        if real
        else f"simulated worms (make_worms, {p.n_worms} worms x {p.n_frames} frames)"
    )
    note = (
        "Real recordings: the paper's reported numbers (Wang et al. 2021) are shown "
        "beside the measured ones."
        if real
        else "Simulated worms: these numbers are NOT comparable with the paper's, "
        "which were measured on the real Kato and Nichols recordings. Run "
        "`wormsk reproduce --kato fetch --nichols fetch` for those."
    )
    header = [
        "# wormsk reproduce",
        "",
        f"- data: {source}",
        f"- preset: {p.name}; random state: {random_state}; jobs: {n_jobs}",
        "- settings: "
        + ", ".join(f"{k}={v}" for k, v in p.settings().items() if k != "name"),
        f"- wormsk {__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPU core(s)",
        "",
        f"**{note}**",
    ]
    print("\n".join(header[2:6]) + "\n" + note + "\n", file=stream)
    common = dict(preset=p, random_state=random_state, n_jobs=n_jobs, progress=progress)
    tables: dict[str, pd.DataFrame] = {}
    sections: list[str] = []
    figures: list[tuple[str, str]] = []

    def emit(text):
        print(text, file=stream)
        sections.append(text)

    def section(key, display, extra=""):
        emit(f"## {_TITLES[key]}\n\n{markdown_table(display)}\n{extra}")

    def save(name, df):
        tables[name] = df
        df.to_csv(out / f"{name}.csv", index=False)

    with warnings.catch_warnings(record=True) as caught:
        # Collected and listed once at the end: per-fit warnings would bury the
        # progress bars.
        warnings.simplefilter("always")
        if "forward-reverse" in experiments:
            scores = ex.forward_reverse(data, **common)
            save("forward_reverse_scores", scores)
            summary, display = _accuracy_tables("forward-reverse", scores, real)
            save("forward_reverse_summary", summary)
            section("forward-reverse", display,
                    "\nAccuracy, mean ± standard deviation over folds (seen: "
                    "WormBlockKFold of 8-frame blocks) or held-out worms (unseen: "
                    "LeaveWormsOut).\n")  # fmt: skip
        if "seven-states" in experiments:
            scores = ex.seven_states_seen(data, **common)
            save("seven_states_scores", scores)
            summary, display = _accuracy_tables("seven-states", scores, real)
            save("seven_states_summary", summary)
            section("seven-states", display)
        if "four-states" in experiments:
            scores, confusion = ex.four_states_unseen(
                data, return_confusion=True, **common
            )
            if cross_test is not None:
                cscores, cconf = ex.four_states_unseen(
                    cross_train, test_data=cross_test, train_sizes=[],
                    return_confusion=True, **common,
                )  # fmt: skip
                scores = pd.concat([scores, cscores], ignore_index=True)
                confusion = pd.concat([confusion, cconf], ignore_index=True)
            save("four_states_scores", scores)
            save("four_states_confusion", confusion)
            summary, display = _accuracy_tables("four-states", scores, real)
            save("four_states_summary", summary)
            section("four-states", display,
                    "\nn: number of training-worm combinations evaluated (for the "
                    "cross-study rows: Nichols test worms).\n")  # fmt: skip
            reference = None
            if real:
                ref = ex.PAPER_RESULTS["four_states_unseen"]
                reference = ref[ref["evaluation"] == "unseen"]
            figures += _figure(
                out, "accuracy_vs_training_worms",
                "plot_accuracy_vs_training_worms", scores, reference=reference,
            )  # fmt: skip
            figures += _figure(
                out, "confusion_matrix_unseen", "plot_confusion_matrix", confusion
            )
        if "trajectory" in experiments:
            if cross_test is not None:
                errors = ex.trajectory(cross_train, test_data=cross_test, **common)
            else:
                errors = ex.trajectory(data, **common)
            save("trajectory_errors", errors)
            # The paper's forecast errors are for Nichols worms never seen in
            # training; a within-Kato run is not comparable with them.
            summary, display = _trajectory_tables(errors, cross_test is not None)
            save("trajectory_summary", summary)
            section("trajectory", display,
                    f"\nMean absolute and mean squared error at selected steps, "
                    f"channels scaled to [-1, 1] per worm; every step 1..{p.horizon}"
                    " is in trajectory_summary.csv.\n")  # fmt: skip
            figures += _figure(out, "trajectory_error", "plot_trajectory_error", errors)
        if "graph" in experiments:
            res = ex.inferred_graph(data, **common)
            graph = res.graph.rename_axis(index="target", columns="source")
            save("inferred_graph", graph.reset_index())
            figures += _figure(
                out, "inferred_graph", "plot_inferred_graph", res.graph,
                connectome=res.connectome, worm=res.worm,
            )  # fmt: skip
            conn = (
                "beside the White et al. (1986) connectome"
                if (res.connectome is not None)
                else "(no neuron is in the connectome)"
            )
            emit(
                f"## {_TITLES['graph']}\n\nWorm {res.worm} "
                f"({'not in training' if res.unseen else 'the only worm, trained on'}"
                f"), {conn}: inferred_graph.png, inferred_graph.csv.\n"
            )

    # wormsk's own warnings (e.g. neurons absent from the connectome) concern the
    # results; those of joblib or torch internals do not.
    package = Path(__file__).resolve().parent
    notes = list(
        dict.fromkeys(
            str(w.message)
            for w in caught
            if issubclass(w.category, UserWarning)
            and Path(w.filename).resolve().is_relative_to(package)
        )
    )
    if notes:
        emit("## Notes\n\n" + "\n".join(f"- {n}" for n in notes[:10]) + "\n")
    elapsed = time.perf_counter() - start
    lines = [*header, "", f"Total run time: {_clock(elapsed)} (m:ss).", ""]
    lines += sections
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{title}]({fname})\n" for fname, title in figures]
    lines += ["## Files", ""] + [f"- `{name}.csv`" for name in tables]
    lines += [f"- `{fname}`" for fname, _ in figures]
    (out / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Report written to {out / 'report.md'} in {_clock(elapsed)} (m:ss).",
          file=stream)  # fmt: skip
    return tables


def _figure(out: Path, name: str, func: str, *args, **kwargs):
    """Save one figure; without matplotlib, say so and go on."""
    from wormsk import plotting

    try:
        fig = getattr(plotting, func)(*args, **kwargs)
    except ImportError as exc:
        print(f"(figure {name}.png skipped: {exc})", file=sys.stderr)
        return []
    fig.savefig(out / f"{name}.png", dpi=120)
    title = fig.axes[0].get_title() if fig.axes else name
    return [(f"{name}.png", title or name)]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
