"""The ``wormsk`` command."""

from __future__ import annotations

import argparse
import sys

from wormsk import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wormsk",
        description="Decode C. elegans behaviour from whole-brain calcium imaging "
        "with graph neural networks (Wang et al. 2021) as scikit-learn estimators.",
    )
    parser.add_argument("--version", action="version", version=f"wormsk {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
