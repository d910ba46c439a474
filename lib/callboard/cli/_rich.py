"""rich is in the ``cli`` extra, not a core dependency: check for it before any output
that needs it, so a missing install is one clear line instead of an ImportError."""

from __future__ import annotations

import importlib

from ._errors import CliError

__all__ = ["require_rich"]


def require_rich() -> None:
    """Make sure rich can be imported (modules then import it where they use it).

    Raises:
        CliError: rich is not installed (says how to install it).
    """
    try:
        importlib.import_module("rich")
    except ImportError:
        raise CliError(
            "this command needs rich: pip install 'callboard[cli]' (or use --json)"
        ) from None
