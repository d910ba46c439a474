"""The one error type the command line turns into a single line on stderr."""

from __future__ import annotations

from callboard.errors import CallboardError

__all__ = ["CliError"]


class CliError(CallboardError):
    """Something the user can fix (a flag, a key, a server that is not there).

    ``callboard`` prints ``callboard <command>: error: <message>`` and exits with
    ``exit_code`` (2 for usage mistakes, 1 for failures at run time), never a traceback.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
