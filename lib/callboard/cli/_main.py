"""Entry point of the ``callboard`` console script."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from callboard._version import __version__

from . import _bench, _call, _fake_provider


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``callboard: error: ...`` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="callboard",
        description="A Trio-native actor runtime for calling AI model APIs and tools at scale.",
    )
    parser.add_argument("--version", action="version", version=f"callboard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _bench.add_parser(commands)
    _call.add_parser(commands)
    _fake_provider.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
