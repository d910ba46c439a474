"""Entry point of the ``callboard`` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callboard",
        description="A Trio-native actor runtime for calling AI model APIs and tools at scale.",
    )
    parser.add_argument("--version", action="version", version=f"callboard {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0  # pragma: no cover - every subcommand returns on its own


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
