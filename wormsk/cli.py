"""The ``wormsk`` command: ``wormsk reproduce`` and ``wormsk info``.

``wormsk reproduce`` runs the experiments of Wang et al. (2021) with
:mod:`wormsk.experiments`, prints their tables and writes a report (Markdown, CSV,
PNG figures) to ``--out``. ``wormsk info`` prints versions, the data home and the
cached datasets.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import importlib.metadata
import numbers
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from wormsk import __version__

EXPERIMENTS = (
    "forward-reverse", "seven-states", "four-states", "trajectory", "graph",
    "missing-neurons",
)  # fmt: skip
_TITLES = {
    "forward-reverse": "Forward vs reverse, seen and unseen worms (Table 1)",
    "seven-states": "7 Kato states, seen worms",
    "four-states": "4 states, unseen worms, vs number of training worms",
    "trajectory": "Trajectory forecast error on unseen worms",
    "graph": "Inferred graph of an unseen worm beside the connectome",
    "missing-neurons": "Forward vs reverse on unseen worms that lose neurons",
}


# ------------------------------------------------------------------- checks
def _int_at_least(minimum: int, allow_minus_one: bool = False):
    """argparse type: an integer >= minimum (optionally also -1)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or (value < minimum and not (allow_minus_one and value == -1)):
            extra = " or -1 (all cores)" if allow_minus_one else ""
            raise argparse.ArgumentTypeError(
                f"{text!r} is not an integer >= {minimum}{extra}."
            )
        return value

    return parse


_jobs_type = _int_at_least(1, allow_minus_one=True)
_seed_type = _int_at_least(0)


def _kato_url() -> str | None:
    from wormsk.datasets import REMOTE_FILES

    return REMOTE_FILES["WT_NoStim.mat"]["url"]


def _data_home() -> Path:
    """The data home's path, without creating it."""
    from wormsk.datasets import get_data_home

    return get_data_home(create=False)


def _kato_hand_path() -> Path:
    from wormsk.datasets import REMOTE_FILES

    return _data_home() / REMOTE_FILES["WT_NoStim.mat"]["dataset"] / "WT_NoStim.mat"


def _connectome_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("wormneuroatlas") is not None


def _check_out(out: Path) -> None:
    """Refuse an --out that is a file, not writable, or a folder of other things.

    The finished report replaces the whole folder, so a folder that does not hold
    an earlier report (or is not empty) is refused rather than replaced.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(
            f"--out {out} is a file, not a folder; give a folder for the report "
            "(it is created if missing)."
        )
    if out.is_dir() and any(out.iterdir()) and not (out / "report.md").is_file():
        raise ValueError(
            f"--out {out} is a folder that holds no wormsk report (no report.md); "
            "the report replaces the whole folder, so give a new or empty folder."
        )
    ancestor = out.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(
            f"--out {out}: cannot create files in {ancestor}; give a folder in a "
            "writable place."
        )


def _is_int(value) -> bool:
    # numpy integers are integers; bools are not (True as --jobs is a mistake).
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_reproduce_args(
    kato: str | None,
    nichols: list[str] | None,
    out: str | Path,
    n_jobs: int,
    random_state: int | None,
) -> None:
    """Every check of ``reproduce``'s arguments that needs no data, as ValueError.

    Run before anything is printed or written, so that a bad flag costs nothing.
    The messages name the command-line flag at fault and what would be valid.

    Parameters
    ----------
    kato : str or None
        Path of ``WT_NoStim.mat``, ``"fetch"``, or None for the simulated worms.
    nichols : list of str or None
        Paths of the Nichols files, ``["fetch"]``, or None.
    out : str or Path
        The report folder.
    n_jobs : int
        Parallel fits, >= 1 or -1.
    random_state : int or None
        Seed, >= 0.

    Raises
    ------
    ValueError
        If any argument is invalid.

    Examples
    --------
    >>> from wormsk.cli import check_reproduce_args
    >>> check_reproduce_args(None, None, "report", n_jobs=0, random_state=0)
    Traceback (most recent call last):
    ...
    ValueError: --jobs must be an integer >= 1 or -1; got 0.
    """
    if not _is_int(n_jobs) or (n_jobs < 1 and n_jobs != -1):
        raise ValueError(f"--jobs must be an integer >= 1 or -1; got {n_jobs!r}.")
    if random_state is not None and (not _is_int(random_state) or random_state < 0):
        raise ValueError(
            f"--random-state must be an integer >= 0; got {random_state!r}."
        )
    if nichols and not kato:
        raise ValueError("--nichols needs --kato (models are trained on Kato worms).")
    if kato == "fetch":
        path = _kato_hand_path()
        if _kato_url() is None and not path.is_file():
            raise ValueError(
                "--kato fetch: wormsk has no download link for WT_NoStim.mat yet, "
                "and it is not in the data home. Download WT_NoStim.mat by hand "
                f"from https://osf.io/2395t/ and put it at {path} (or pass "
                "--kato PATH)."
            )
    elif kato is not None and not Path(kato).is_file():
        raise ValueError(
            f"--kato {kato}: no such file; give the path of WT_NoStim.mat."
        )
    if nichols:
        if "fetch" in nichols and list(nichols) != ["fetch"]:
            raise ValueError(
                "--nichols takes either 'fetch' or file paths, not both; got "
                f"{list(nichols)}."
            )
        for path in nichols:
            if path != "fetch" and not Path(path).is_file():
                raise ValueError(
                    f"--nichols {path}: no such file; give the paths of "
                    "n2_prelet.mat and npr1_prelet.mat, or 'fetch'."
                )
    _check_out(Path(out))


# ------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The ``wormsk`` argument parser (subcommands ``reproduce`` and ``info``).

    Examples
    --------
    >>> from wormsk.cli import build_parser
    >>> build_parser().parse_args(["reproduce", "--quick"]).quick
    True
    """
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
    rep.set_defaults(subparser=rep)
    rep.add_argument(
        "--data",
        choices=["simulated"],
        default=None,
        help="simulated worms (the default when neither --kato nor --nichols is given)",
    )
    if _kato_url() is None:
        kato_help = (
            "Kato et al. 2015 WT_NoStim.mat. wormsk cannot download it yet: get it "
            "by hand from https://osf.io/2395t/ and give its path ('fetch' uses a "
            "copy already in the data home)"
        )
    else:  # pragma: no cover - no link is recorded yet
        kato_help = "Kato et al. 2015 WT_NoStim.mat, or 'fetch' to download it once"
    rep.add_argument("--kato", metavar="PATH", help=kato_help)
    rep.add_argument(
        "--nichols",
        metavar="PATH|fetch",
        nargs="+",
        help="Nichols et al. 2017 n2_prelet.mat npr1_prelet.mat, or 'fetch' to "
        "download them once (cross-study tests; needs --kato)",
    )
    rep.add_argument(
        "--quick",
        action="store_true",
        help="small settings: every table and figure in a few minutes on 2 CPU "
        "cores on the simulated worms (see the README for measured times); "
        "without it, the full settings take much longer",
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
        help="report folder (default: ./wormsk_report). The report is written "
        "beside it and swapped in when complete: an earlier report there is "
        "replaced only by a finished run",
    )
    rep.add_argument(
        "--random-state",
        type=_seed_type,
        default=0,
        metavar="N",
        help="seed (integer >= 0) of the simulated worms, the fold shuffling and "
        "every network (default: 0)",
    )
    rep.add_argument(
        "--jobs",
        type=_jobs_type,
        default=min(4, os.cpu_count() or 1),
        metavar="N",
        help="fits run in parallel in N joblib processes (default: the number of "
        "CPU cores, at most 4; -1: all cores)",
    )

    info = sub.add_parser(
        "info",
        help="versions, data home and cached datasets",
        description="Print versions, the data home and which datasets are cached.",
    )
    info.set_defaults(subparser=info)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``wormsk`` command; returns its exit status.

    Bad flags exit through argparse (status 2) before anything is printed or
    written; a failed run returns 1, an interrupted one 130.

    Examples
    --------
    >>> from wormsk.cli import main
    >>> main(["reproduce", "--quick", "--out", "report"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Said with the subcommand's usage line, as its other errors are.
        getattr(args, "subparser", parser).error(
            f"unrecognized arguments: {' '.join(unknown)}"
        )
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "info":
        return _info()
    if args.command == "reproduce":
        rep = args.subparser
        if args.data and (args.kato or args.nichols):
            rep.error("--data simulated cannot be combined with --kato/--nichols.")
        try:
            check_reproduce_args(
                args.kato, args.nichols, args.out, args.jobs, args.random_state
            )
        except ValueError as exc:
            rep.error(str(exc))
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
        except KeyboardInterrupt:
            print(
                f"wormsk reproduce: interrupted; nothing was written to {args.out} "
                "(an earlier report there is unchanged).",
                file=sys.stderr,
            )
            return 130
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
                 "h5py", "pooch", "tqdm", "tabulate", "matplotlib",
                 "wormneuroatlas"):  # fmt: skip
        print(f"  {name:<15}{_version(name)}")
    try:
        import torch

        print(
            f"  torch threads  {torch.get_num_threads()}; CPU cores {os.cpu_count()}"
            f"; CUDA {'available' if torch.cuda.is_available() else 'not available'}"
        )
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    change = f"set {datasets.DATA_HOME_ENV} to change it"
    try:
        home = _data_home()
    except ValueError as exc:  # the data home is a file
        print(f"wormsk info: error: {exc}", file=sys.stderr)
        return 1
    if not home.exists():
        # info only looks: the folder is created by the first fetch.
        print(f"data home: {home} (does not exist yet; {change})")
        print("cached datasets: none")
        return 0
    print(f"data home: {home} ({change})")
    print("cached datasets:")
    for row in datasets.list_cached(home).itertuples(index=False):
        state = f"cached, {row.size_mb} MB" if row.cached else "not cached"
        print(f"  {row.dataset:<12} {row.file:<16} {state}")
    return 0


# --------------------------------------------------------------- progress
class Progress:
    """Progress bars (tqdm) with elapsed and remaining time, one per label.

    A callable ``progress(done, total, label)`` as the experiments expect it:
    ``done=0`` starts the bar of ``label``. On a terminal the bar is redrawn in
    place; otherwise (logs, CI) a line is written at each tenth of the task.

    Parameters
    ----------
    stream : file-like, optional
        Where the bars go; standard error by default.
    width : int, default=28
        Characters of the bar itself.

    Examples
    --------
    >>> import io
    >>> from wormsk.cli import Progress
    >>> log = io.StringIO()  # not a terminal: a line per tenth
    >>> progress = Progress(log, width=10)
    >>> for done in range(3):
    ...     progress(done, 2, "demo")
    >>> print(log.getvalue().splitlines()[-1].split("  elapsed")[0])
    demo                               |##########| 2/2
    """

    def __init__(self, stream=None, width: int = 28):
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bars: dict = {}

    def __call__(self, done: int, total: int, label: str) -> None:
        from tqdm import tqdm

        bar = self._bars.get(label)
        if bar is None or done == 0:
            for other in self._bars.values():
                other.close()  # one bar at a time: no nested positions
            bar = self._bars[label] = tqdm(
                total=total,
                desc=label,
                file=self.stream,
                ascii="-#",
                bar_format=f"{{desc:<34}} |{{bar:{self.width}}}| {{n_fmt}}/"
                "{total_fmt}  elapsed {elapsed}  remaining {remaining}",
                mininterval=0,
                smoothing=0,  # remaining time from the average pace so far
                # Off a terminal tqdm never draws (redraws would fill a log with
                # carriage returns); the tenths are written below instead.
                delay=0 if self._tty else float("inf"),
            )
        previous = bar.n
        if done > previous:
            bar.update(done - previous)
        if (
            not self._tty
            and done
            and (done == total or 10 * done // total > 10 * previous // total)
        ):
            self.stream.write(f"{bar}\n")
            self.stream.flush()
        if done == total:
            bar.close()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


# ---------------------------------------------------------------- tables
def _cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}"
    return str(value)


def markdown_table(df: pd.DataFrame) -> str:
    """A DataFrame as a GitHub Markdown table (floats to 3 decimals, NaN empty).

    Parameters
    ----------
    df : DataFrame
        The table; its index is left out.

    Returns
    -------
    table : str
        One line per row, cells unpadded.

    Examples
    --------
    >>> import pandas as pd
    >>> from wormsk.cli import markdown_table
    >>> print(markdown_table(pd.DataFrame({"model": ["GNN"], "mean": [0.91234]})))
    | model | mean |
    |---------|--------|
    | GNN | 0.912 |
    """
    cells = df.apply(lambda column: column.map(_cell)) if len(df) else df
    # Cells are formatted above and left unaligned, so rows read the same
    # whatever the widths of the other rows.
    return cells.to_markdown(
        index=False, tablefmt="pipe", stralign=None, numalign=None,
        disable_numparse=True,
    )  # fmt: skip


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


# ---------------------------------------------------------------- baselines
#: The model name of the majority-class baseline rows in the experiments' tables.
MAJORITY = "Majority class"

#: Kato et al. (2015) state names, as the 7-state table and the Kato files write them.
_KATO_MEANINGS = {
    "fwd": "forward crawling",
    "slow": "slow forward crawling",
    "rev1": "reversal, phase 1",
    "rev2": "reversal, phase 2",
    "revsus": "sustained reversal",
    "dt": "dorsal turn",
    "vt": "ventral turn",
}


def _state_legend() -> str:
    """Markdown table mapping the Kato state names to the 4-state and fwd/rev ones."""
    from wormsk.datasets import map_states

    kato = list(_KATO_MEANINGS)
    rows = pd.DataFrame(
        {
            "Kato state (7-state table)": kato,
            "behaviour": list(_KATO_MEANINGS.values()),
            "4-state name (4-state table, confusion matrix)": map_states(kato, "four"),
            "forward/reverse (Table 1)": map_states(kato, "fwd_rev"),
        }
    ).fillna("left out")
    return markdown_table(rows)


def _state_shares(target, task: str) -> pd.Series:
    """Share of each state among the frames an experiment keeps, most frequent first."""
    from wormsk.datasets import map_states

    y = np.asarray(target, dtype=object).ravel()
    if task == "seven":
        mapped = np.where(y == "nostate", None, y)
    else:
        mapped = map_states(y, task)
    kept = pd.Series([m for m in mapped if m is not None], dtype=object)
    return kept.value_counts(normalize=True)


def _baseline_note(shares: pd.Series, scores: pd.DataFrame) -> str:
    k = len(shares)
    text = (
        f"Baselines: chance is 1/k = {1 / k:.3f} (k = {k} states: "
        f"{', '.join(map(str, shares.index))}). The most frequent state, "
        f"{shares.index[0]}, is {shares.iloc[0]:.3f} of the frames of all worms"
    )
    if MAJORITY in set(scores["model"]):
        return text + (
            f"; the `{MAJORITY}` row scores always predicting the training worms' "
            "most frequent state on the same test frames as the models."
        )
    return text + "."


def _with_chance(
    display: pd.DataFrame,
    k: int,
    scored: Sequence[str] = ("seen worms", "unseen worms", "accuracy"),
) -> pd.DataFrame:
    """The display table with a last row giving chance (1/k) in every score column."""
    row = {c: "" for c in display.columns}
    row["model"] = f"chance (1/{k})"
    for column in display.columns:
        if column in scored:
            row[column] = f"{1 / k:.3f}"
    return pd.concat([display, pd.DataFrame([row])], ignore_index=True)


def _spread_note(summary: pd.DataFrame, unit: str) -> str:
    counts = sorted(set(summary["n"]))
    ns = "/".join(map(str, counts))
    single = " (no ± where n = 1)" if 1 in counts else ""
    return f"mean ± standard deviation over n = {ns} {unit}{single}"


def _ranges(steps) -> str:
    """[1, 2, 3, 5] -> '1-3, 5'."""
    steps = sorted(int(s) for s in steps)
    out, first = [], None
    for i, step in enumerate(steps):
        first = step if first is None else first
        if i + 1 == len(steps) or steps[i + 1] != step + 1:
            out.append(str(first) if first == step else f"{first}-{step}")
            first = None
    return ", ".join(out)


def _no_change_steps(summary: pd.DataFrame, metric: str = "mae") -> dict:
    """{(model, training): steps where the model's error is not below no change}."""
    from wormsk.experiments import NO_CHANGE

    base = summary[summary["model"] == NO_CHANGE].groupby("step")[metric].mean()
    result = {}
    for key, part in summary[summary["model"] != NO_CHANGE].groupby(
        ["model", "training"], sort=False
    ):
        part = part[part["step"].isin(base.index)]
        worse = part[metric].to_numpy() >= base.loc[part["step"]].to_numpy()
        result[key] = (part["step"][worse].tolist(), len(part))
    return result


def _no_change_note(summary: pd.DataFrame) -> str:
    verdicts = _no_change_steps(summary)
    if not verdicts:
        return ""
    worse = [
        f"{m} ({t}) at step{'s' if len(s) > 1 else ''} {_ranges(s)}"
        + (" (every step)" if len(s) == n else "")
        for (m, t), (s, n) in verdicts.items()
        if s
    ]
    better = [f"{m} ({t})" for (m, t), (s, _) in verdicts.items() if not s]
    text = (
        "\nThe `no change` row repeats the last observed frame: a forecaster must "
        "beat it to have learnt anything about the dynamics. "
    )
    if worse:
        text += (
            "**No better than no change** (mean absolute error at or above it): "
            + "; ".join(worse)
            + ". "
        )
    if better:
        text += "Below no change at every step: " + ", ".join(better) + "."
    return text + "\n"


def _graph_similarity_section(res, random_state, real: bool) -> tuple[str, str]:
    """(markdown, short figure-title phrase) comparing the graph with the connectome."""
    from wormsk.metrics import graph_similarity

    conn = res.connectome
    # Neurons outside the connectome come back as zero rows and columns: scoring
    # them would count every pair of theirs as a true non-edge.
    linked = (conn.abs().sum(axis=0) + conn.abs().sum(axis=1)) > 0
    names = [n for n in res.graph.index if linked.get(n, False)]
    n_shuffles = 200
    try:
        sim = graph_similarity(
            res.graph.loc[names, names],
            conn.loc[names, names],
            n_shuffles=n_shuffles,
            random_state=random_state,
        )
    except ValueError as exc:
        return f"\nNo similarity score: {exc}\n", ""
    table = pd.DataFrame(
        {
            "score": sim.index,
            "inferred graph": sim["inferred"].to_numpy(),
            f"label-shuffled (mean ± SD, {n_shuffles} shuffles)": [
                _pm(m, s) for m, s in zip(sim["shuffled_mean"], sim["shuffled_sd"])
            ],
            "p (shuffles scoring at least as high)": sim["p_value"].to_numpy(),
        }
    )
    auroc = sim.loc["AUROC"]
    if auroc["p_value"] < 0.05:
        verdict = (
            "The inferred weights rank connectome edges above non-edges better "
            "than label-shuffled copies of the same graph do."
        )
    else:
        verdict = (
            "**The inferred graph does not resemble the connectome**: its scores "
            "lie within those of label-shuffled copies of itself."
        )
    why = (
        ""
        if real
        else " The simulated worms' activity is not generated from the connectome, "
        "so no resemblance is expected here."
    )
    text = (
        f"\nSimilarity to the connectome over the {int(auroc['n_pairs'])} ordered "
        f"pairs of the {len(names)} neurons that have a connectome edge: AUROC of "
        "the inferred weights for telling connectome edges (chemical or electrical "
        "synapse, either direction) from non-edges (0.5 = chance), and Spearman "
        "rank correlation with the synapse weights; beside them the same scores "
        "for the inferred graph with its neuron labels shuffled.\n\n"
        f"{markdown_table(table)}\n\n{verdict}{why}\n"
    )
    phrase = (
        f"AUROC vs connectome {auroc['inferred']:.2f} (shuffled "
        f"{auroc['shuffled_mean']:.2f} ± {auroc['shuffled_sd']:.2f})"
    )
    return text, phrase


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


# ------------------------------------------------------------ report folder
def _lock_message(lock: Path, out: Path) -> str:
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    alive = False
    if pid is not None:
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except PermissionError:  # pragma: no cover - another user's process
            alive = True
    state = (
        f"process {pid} is still running"
        if alive
        else "no process of that id is running, so the lock is probably stale"
        if pid is not None
        else "the lock names no process"
    )
    return (
        f"Another wormsk reproduce is writing the report {out}: its lock file "
        f"{lock} exists ({state}). Wait for that run, or, if no run is active, "
        f"delete {lock} and retry."
    )


def _clear_leftovers(out: Path) -> None:
    """Remove what a killed run left beside ``out`` (only called under the lock).

    A run killed between its two renames leaves the previous report in an
    ``.old-*`` folder and no ``out``: that report is put back first.
    """
    name = glob.escape(out.name)
    for old in sorted(out.parent.glob(f".{name}.old-*")):
        if not out.exists() and (old / "report").is_dir():
            os.replace(old / "report", out)
        shutil.rmtree(old, ignore_errors=True)
    for partial in out.parent.glob(f".{name}.partial-*"):
        shutil.rmtree(partial, ignore_errors=True)


@contextlib.contextmanager
def _report_folder(out: Path):
    """Yield a fresh sibling folder to write into; swap it in for ``out`` on success.

    A lock file beside ``out`` (created with O_EXCL) refuses a second run on the
    same folder. On any error or interrupt the partial folder is removed and an
    earlier report at ``out`` is left as it was.
    """
    out = Path(out).absolute()
    missing = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(
            f"--out {out}: cannot create the folder {out.parent} ({exc.strerror}); "
            "give a folder in a writable place."
        ) from None
    lock = out.parent / f".{out.name}.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        raise OSError(_lock_message(lock, out)) from None
    completed = False
    try:
        os.write(fd, f"{os.getpid()} wormsk reproduce\n".encode())
        os.close(fd)
        _clear_leftovers(out)
        partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        try:
            partial.chmod(0o755)
            yield partial
            old = None
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.replace(out, old / "report")
            try:
                os.replace(partial, out)
            except OSError:
                if old is not None:
                    os.replace(old / "report", out)
                raise
            completed = True
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
    finally:
        lock.unlink(missing_ok=True)
        if not completed:
            # Folders this run created for --out's parents go too.
            for folder in missing:
                with contextlib.suppress(OSError):
                    folder.rmdir()


class _InterruptGuard:
    """Turn Ctrl-C into KeyboardInterrupt even if a library swallowed it.

    The SIGINT handler records the interrupt before raising; ``check()`` (called
    after every fit and before the report is swapped in) raises again, so a fit
    that caught the first KeyboardInterrupt cannot let the run finish.
    """

    def __init__(self):
        self.interrupted = False
        self._previous = None

    def _handler(self, signum, frame):
        self.interrupted = True
        raise KeyboardInterrupt

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False

    def check(self):
        if self.interrupted:
            raise KeyboardInterrupt


# -------------------------------------------------------------- reproduce
def _load(kato, nichols, preset, random_state):
    """Datasets of the run: (main, cross-study train, cross-study test, real?)."""
    from sklearn.utils import Bunch

    from wormsk import datasets

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
    columns = [
        column
        for name in shared
        for column in data.data.columns
        if column.rsplit("_", 1)[0] == name
    ]
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
    experiments: Sequence[str] = EXPERIMENTS,
    out: str | Path = "wormsk_report",
    random_state: int = 0,
    n_jobs: int = 1,
    stream: TextIO | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, pd.DataFrame]:
    """Run the experiments, print the tables and write the report to ``out``.

    The library form of ``wormsk reproduce``.

    Parameters
    ----------
    kato : str, optional
        Path of ``WT_NoStim.mat``, or ``"fetch"`` for a copy in the data home;
        without it (and ``nichols``) the simulated worms are used.
    nichols : list of str, optional
        Paths of ``n2_prelet.mat`` and ``npr1_prelet.mat``, or ``["fetch"]``:
        the cross-study tests (needs ``kato``).
    preset : {"quick", "full", "tiny"}, default="quick"
        Settings of the experiments (:data:`wormsk.experiments.PRESETS`).
    experiments : sequence of str, default=EXPERIMENTS
        The report sections to run, among :data:`EXPERIMENTS`; they are run and
        reported in that order.
    out : str or Path, default="wormsk_report"
        The report folder.
    random_state : int, default=0
        Seed of the simulated worms, the fold shuffling and every network.
    n_jobs : int, default=1
        Fits run in parallel (joblib processes); -1 for every core.
    stream : file-like, optional
        Where the tables are printed; standard output by default.
    progress : callable, optional
        ``progress(done, total, label)`` after each fit; a :class:`Progress` on
        standard error by default.

    Returns
    -------
    tables : dict of str to DataFrame
        The tidy tables by name, also written as ``<name>.csv``.

    Notes
    -----
    The report is written into a temporary folder beside ``out`` and replaces
    ``out`` only when complete, so an error or Ctrl-C (``KeyboardInterrupt``)
    leaves an earlier report untouched; a lock file ``.<out>.lock`` beside it
    refuses a second run on the same folder. Without the ``wormneuroatlas``
    package (extra ``connectome``) the connectome GNN and the inferred-graph
    section are skipped and the report says so.

    Examples
    --------
    >>> from wormsk.cli import reproduce
    >>> tables = reproduce(preset="tiny", out="report")  # doctest: +SKIP
    """
    from wormsk import experiments as ex

    stream = stream if stream is not None else sys.stdout
    progress = progress if progress is not None else Progress()
    p = ex.get_preset(preset)
    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"Unknown experiment(s) {unknown}; choose from {EXPERIMENTS}.")
    check_reproduce_args(kato, nichols, out, n_jobs, random_state)
    with _InterruptGuard() as guard, _report_folder(Path(out)) as folder:

        def checked_progress(done, total, label):
            guard.check()
            progress(done, total, label)

        tables = _reproduce_into(
            folder, Path(out), kato, nichols, p, experiments, random_state, n_jobs,
            stream, checked_progress,
        )  # fmt: skip
        guard.check()
    return tables


@dataclass(frozen=True)
class _Run:
    """What every report section reads: the data and the settings of the run."""

    data: Any
    cross_train: Any
    cross_test: Any
    real: bool
    connectome: bool
    p: Any  # the experiments' Preset
    random_state: int
    common: dict  # keyword arguments every experiment takes


@dataclass
class _Figure:
    """A figure of the report: ``draw()`` returns it, ``caption`` goes below it."""

    name: str
    caption: str
    draw: Callable[[], Any]


@dataclass
class _Section:
    """One section of the report: its Markdown text (also printed), its tables
    (written as ``<name>.csv``) and its figures (drawn below the text)."""

    text: str
    tables: dict[str, pd.DataFrame]
    figures: list[_Figure] = field(default_factory=list)


def _table_section(key: str, display: pd.DataFrame, extra: str) -> str:
    return f"## {_TITLES[key]}\n\n{markdown_table(display)}\n{extra}"


def _forward_reverse_section(run: _Run) -> _Section:
    from wormsk import experiments as ex

    data, common, p, random_state = run.data, run.common, run.p, run.random_state
    fr_kw = {}
    if not run.connectome:
        fr_kw["estimators"] = ex.default_classifiers(
            ["SVM", "MLP", "GNN"], preset=p, random_state=random_state
        )
    scores = ex.forward_reverse(data, **fr_kw, **common).scores
    summary, display = _accuracy_tables("forward-reverse", scores, run.real)
    seen = summary[summary["evaluation"] == "seen"]
    unseen = summary[summary["evaluation"] == "unseen"]
    text = _table_section(
        "forward-reverse", _with_chance(display, 2),
        f"\nAccuracy, seen worms: {_spread_note(seen, 'folds')} "
        "(WormBlockKFold of 8-frame blocks); unseen worms: "
        f"{_spread_note(unseen, 'held-out worms')} (LeaveWormsOut).\n\n"
        f"{_baseline_note(_state_shares(data.target, 'fwd_rev'), scores)}\n",
    )  # fmt: skip
    return _Section(
        text, {"forward_reverse_scores": scores, "forward_reverse_summary": summary}
    )


def _seven_states_section(run: _Run) -> _Section:
    from wormsk import experiments as ex

    data, common = run.data, run.common
    scores = ex.seven_states_seen(data, **common).scores
    summary, display = _accuracy_tables("seven-states", scores, run.real)
    shares = _state_shares(data.target, "seven")
    text = _table_section(
        "seven-states", _with_chance(display, len(shares)),
        f"\nAccuracy, {_spread_note(summary, 'folds')} (WormBlockKFold "
        "of 8-frame blocks). State names: see the table at the end.\n\n"
        f"{_baseline_note(shares, scores)}\n",
    )  # fmt: skip
    return _Section(
        text, {"seven_states_scores": scores, "seven_states_summary": summary}
    )


def _four_states_section(run: _Run) -> _Section:
    from wormsk import experiments as ex
    from wormsk import plotting

    data, common, cross_train, cross_test = (
        run.data, run.common, run.cross_train, run.cross_test
    )  # fmt: skip
    res = ex.four_states_unseen(data, **common)
    scores, confusion = res.scores, res.confusion
    shares = _state_shares(data.target, "four")
    if cross_test is not None:
        cres = ex.four_states_unseen(
            cross_train, test_data=cross_test, train_sizes=[], **common
        )
        cscores, cconf = cres.scores, cres.confusion
        scores = pd.concat([scores, cscores], ignore_index=True)
        confusion = pd.concat([confusion, cconf], ignore_index=True)
    summary, display = _accuracy_tables("four-states", scores, run.real)
    text = _table_section(
        "four-states", _with_chance(display, len(shares)),
        "\nAccuracy on the held-out worms, mean ± standard deviation "
        "over the n training-worm combinations evaluated (for the "
        "cross-study rows: n Nichols test worms); no ± where n = 1.\n\n"
        f"{_baseline_note(shares, scores)}\n",
    )  # fmt: skip
    reference = None
    if run.real:
        ref = ex.PAPER_RESULTS["four_states_unseen"]
        reference = ref[ref["evaluation"] == "unseen"]
    figures = [
        _Figure(
            "accuracy_vs_training_worms",
            "4 states on unseen worms against the number of training worms: "
            "mean ± SD over training-worm combinations (n per point under each "
            f"tick); dotted line: chance 1/{len(shares)}",
            functools.partial(
                plotting.plot_accuracy_vs_training_worms,
                scores,
                reference=reference,
                chance=1 / len(shares),
            ),
        ),  # fmt: skip
        _Figure(
            "confusion_matrix_unseen",
            "Confusion matrix of the GNN on unseen worms (rows: true state, "
            "as fractions of its frames)",
            functools.partial(plotting.plot_confusion_matrix, confusion),
        ),
    ]
    tables = {
        "four_states_scores": scores,
        "four_states_confusion": confusion,
        "four_states_summary": summary,
    }
    return _Section(text, tables, figures)


def _trajectory_section(run: _Run) -> _Section:
    from wormsk import experiments as ex
    from wormsk import plotting

    data, common, cross_train, cross_test = (
        run.data, run.common, run.cross_train, run.cross_test
    )  # fmt: skip
    if cross_test is not None:
        errors = ex.trajectory(cross_train, test_data=cross_test, **common).scores
    else:
        errors = ex.trajectory(data, **common).scores
    # The paper's forecast errors are for Nichols worms never seen in
    # training; a within-Kato run is not comparable with them.
    summary, display = _trajectory_tables(errors, cross_test is not None)
    text = _table_section(
        "trajectory", display,
        "\nMean absolute and mean squared error at selected steps, "
        f"channels scaled to [-1, 1] per worm; every step 1..{run.p.horizon}"
        " is in trajectory_summary.csv.\n"
        f"{_no_change_note(summary)}",
    )  # fmt: skip
    figure = _Figure(
        "trajectory_error",
        "Forecast error on unseen worms against the prediction step; the "
        "legend marks models no better than `no change`",
        functools.partial(plotting.plot_trajectory_error, errors),
    )
    return _Section(
        text,
        {"trajectory_errors": errors, "trajectory_summary": summary},
        [figure],
    )


def _graph_section(run: _Run) -> _Section | None:
    from wormsk import experiments as ex
    from wormsk import plotting

    if not run.connectome:
        return None  # said in the report's header
    data, common = run.data, run.common
    res = ex.inferred_graph(data, **common)
    graph = res.graph.rename_axis(index="target", columns="source")
    where = "unseen: not in training" if res.unseen else "the only worm, "
    where += "" if res.unseen else "trained on"
    text, phrase = f"\nWorm {res.worm} ({where}).\n", ""
    if res.connectome is None:
        text += "\nNo neuron of the data is in the connectome.\n"
    else:
        more, phrase = _graph_similarity_section(res, run.random_state, run.real)
        text += more
    title = f"Worm {res.worm} ({where})" + (f"; {phrase}" if phrase else "")
    figure = _Figure(
        "inferred_graph",
        f"Graph the GNN inferred for worm {res.worm} ({where}), beside the "
        "White et al. (1986) connectome",
        functools.partial(plotting.plot_inferred_graph, res.graph,
                connectome=res.connectome, worm=res.worm, title=title),
    )  # fmt: skip
    return _Section(
        f"## {_TITLES['graph']}\n{text}",
        {"inferred_graph": graph.reset_index()},
        [figure],
    )


def _lost_column(fraction: float) -> str:
    return f"{fraction * 100:g} % lost"


def _missing_tables(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(CSV summary, display table: a row per model, a column per share lost)."""
    from wormsk import experiments as ex

    summary = ex.summarize(scores, ["model", "fraction"])
    display = pd.DataFrame({"model": list(dict.fromkeys(summary["model"]))})
    for fraction in dict.fromkeys(summary["fraction"]):
        part = summary[summary["fraction"] == fraction].set_index("model")
        display[_lost_column(fraction)] = [
            f"{_pm(part.loc[m, 'mean'], part.loc[m, 'std'])} ({part.loc[m, 'n']})"
            if m in part.index
            else ""
            for m in display["model"]
        ]
    return summary, display


def _lost_counts(scores: pd.DataFrame) -> str:
    """Mean number of neurons each share removes, e.g. "0 at 0 %, 3 at 20 %"."""
    mean = scores.groupby("fraction", sort=False)["n_missing"].mean()
    return ", ".join(f"{n:.3g} at {f * 100:g} %" for f, n in mean.items())


def _missing_neurons_section(run: _Run) -> _Section:
    from wormsk import experiments as ex
    from wormsk import plotting

    scores = ex.missing_neurons(run.data, **run.common).scores
    summary, display = _missing_tables(scores)
    text = _table_section(
        "missing-neurons",
        _with_chance(display, 2, [c for c in display.columns if c != "model"]),
        "\nAccuracy on the held-out worm (LeaveWormsOut; the models are "
        "trained on the other worms as they are), mean ± standard deviation "
        "(n held-out worms). Each test worm loses a seeded random share of "
        "its identified neurons, which become absent: NaN in every frame. The "
        "GNN treats them as missing nodes, MLP-sum averages over the present "
        "neurons, the SVM runs after mean imputation. Neurons lost per test "
        f"worm (mean): {_lost_counts(scores)}.\n\n"
        f"{_baseline_note(_state_shares(run.data.target, 'fwd_rev'), scores)}\n",
    )  # fmt: skip
    figure = _Figure(
        "missing_neurons",
        "Forward vs reverse on unseen worms against the share of their "
        "neurons lost: mean ± SD over held-out worms (n per point under each "
        "tick); dashed grey: majority class; dotted line: chance 1/2",
        functools.partial(plotting.plot_missing_neurons, scores, chance=0.5),
    )
    tables = {"missing_neurons_scores": scores, "missing_neurons_summary": summary}
    return _Section(text, tables, [figure])


#: The report's sections in report order, by experiment name.
_SECTIONS: dict[str, Callable[[_Run], _Section | None]] = {
    "forward-reverse": _forward_reverse_section,
    "seven-states": _seven_states_section,
    "four-states": _four_states_section,
    "trajectory": _trajectory_section,
    "graph": _graph_section,
    "missing-neurons": _missing_neurons_section,
}


def _header(run: _Run, n_jobs) -> tuple[list[str], str, list[str]]:
    """(report header lines, the data note, what was skipped and why)."""
    p = run.p
    source = (
        "Kato et al. 2015" + (" and Nichols et al. 2017" if run.cross_test else "")
        if run.real
        else f"simulated worms (make_worms, {p.n_worms} worms x {p.n_frames} frames)"
    )
    note = (
        "Real recordings: the paper's reported numbers (Wang et al. 2021) are shown "
        "beside the measured ones."
        if run.real
        else "Simulated worms: these numbers are NOT comparable with the paper's, "
        "which were measured on the real Kato and Nichols recordings. For those, "
        "download WT_NoStim.mat by hand from https://osf.io/2395t/ and run "
        "`wormsk reproduce --kato WT_NoStim.mat --nichols fetch`."
    )
    skipped = []
    if not run.connectome:
        skipped.append(
            "The connectome GNN (forward/reverse table) and the inferred graph "
            "beside the connectome were skipped: they need the `wormneuroatlas` "
            'package. Add it with `pip install "wormsk[reproduce]"` (or '
            "`wormsk[connectome]`) and run again."
        )
    header = [
        "# wormsk reproduce",
        "",
        f"- data: {source}",
        f"- preset: {p.name}; random state: {run.random_state}; jobs: {n_jobs}",
        "- settings: "
        + ", ".join(f"{k}={v}" for k, v in p.settings().items() if k != "name"),
        f"- wormsk {__version__}, python {platform.python_version()}, "
        f"{os.cpu_count()} CPU core(s)",
        "",
        f"**{note}**",
        *[line for text in skipped for line in ("", f"**Skipped:** {text}")],
    ]
    return header, note, skipped


def _reproduce_into(
    folder, out, kato, nichols, p, experiments, random_state, n_jobs, stream, progress
) -> dict[str, pd.DataFrame]:
    start = time.perf_counter()
    data, cross_train, cross_test, real = _load(kato, nichols, p, random_state)
    common = dict(preset=p, random_state=random_state, n_jobs=n_jobs, progress=progress)
    run = _Run(
        data, cross_train, cross_test, real, _connectome_available(), p,
        random_state, common,
    )  # fmt: skip
    header, note, skipped = _header(run, n_jobs)
    print("\n".join(header[2:6]) + "\n" + note + "\n", file=stream)
    for text in skipped:
        print(f"Skipped: {text}\n", file=stream)
    tables: dict[str, pd.DataFrame] = {}
    sections: list[str] = []
    files: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        # Collected and listed once at the end: per-fit warnings would bury the
        # progress bars.
        warnings.simplefilter("always")
        for key, make_section in _SECTIONS.items():
            section = make_section(run) if key in experiments else None
            if section is None:
                continue
            for name, df in section.tables.items():
                tables[name] = df
                df.to_csv(folder / f"{name}.csv", index=False)
            print(section.text, file=stream)
            sections.append(section.text)
            for figure in section.figures:
                if _save_figure(folder, figure):
                    files.append(f"{figure.name}.png")
                    sections.append(
                        f"![{figure.caption}]({figure.name}.png)\n\n"
                        f"*{figure.caption}*\n"
                    )
                else:
                    sections.append(
                        f"**Skipped:** figure {figure.name}.png: it needs "
                        'matplotlib. Add it with `pip install "wormsk[reproduce]"` '
                        "(or `wormsk[plot]`) and run again.\n"
                    )

    notes = _own_warnings(caught)
    if notes:
        text = "## Notes\n\n" + "\n".join(f"- {n}" for n in notes[:10]) + "\n"
        print(text, file=stream)
        sections.append(text)
    sections.append(
        "## State names\n\nThe 7-state table uses the Kato et al. (2015) names; "
        "the 4-state table, the confusion matrix and Table 1 group them as "
        f"follows.\n\n{_state_legend()}\n"
    )
    elapsed = time.perf_counter() - start
    lines = [*header, "", f"Total run time: {_clock(elapsed)} (m:ss).", ""]
    lines += sections
    lines += ["## Files", ""] + [f"- `{name}.csv`" for name in tables]
    lines += [f"- `{fname}`" for fname in files]
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"Report written to {out / 'report.md'} in {_clock(elapsed)} (m:ss).",
          file=stream)  # fmt: skip
    return tables


def _own_warnings(caught) -> list[str]:
    """The distinct messages of wormsk's own warnings among ``caught``.

    They (e.g. neurons absent from the connectome) concern the results; those of
    joblib or torch internals do not.
    """
    package = Path(__file__).resolve().parent
    return list(
        dict.fromkeys(
            str(w.message)
            for w in caught
            if issubclass(w.category, UserWarning)
            and Path(w.filename).resolve().is_relative_to(package)
        )
    )


def _save_figure(folder: Path, figure: _Figure) -> bool:
    """Draw and save one figure; without matplotlib, say so and go on."""
    try:
        fig = figure.draw()
    except ImportError as exc:
        print(f"(figure {figure.name}.png skipped: {exc})", file=sys.stderr)
        return False
    fig.savefig(folder / f"{figure.name}.png", dpi=120)
    return True


def run() -> None:
    """The ``wormsk`` console command: :func:`main`, then exit with its status.

    After Ctrl-C (status 130) the process ends by SIGINT on POSIX, as CPython
    ends on an unhandled ``KeyboardInterrupt``: a calling shell or script then
    knows the user interrupted it and stops too (a shell loop would go on after
    a plain ``exit(130)``); the shell shows status 130 either way. It also makes
    the ending deterministic: CPython itself ends by SIGINT, whatever the exit
    status, when the interrupt happened to escape code that a library ran with
    ``exec`` or ``eval`` of a string (dataclasses and namedtuples are built that
    way), which made the status depend on where Ctrl-C landed.
    """
    code = main()
    if code == 130 and os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
