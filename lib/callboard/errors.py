"""The root of callboard's error hierarchy.

Every error callboard raises on purpose derives from ``CallboardError``, so one
``except callboard.CallboardError`` catches them all. Each layer defines its own
subclasses next to the code that raises them (``callboard.actors``, ``callboard.limits``,
...); ``callboard`` re-exports all of them.

Errors carry what a user needs to act (a status code, a provider, a retry delay, the id of
the Calling) and never a secret: messages are built from names and numbers only.
"""

from __future__ import annotations

__all__ = ["CallboardError", "ConfigError"]


class CallboardError(Exception):
    """Base class of every error raised by callboard."""


class ConfigError(CallboardError, ValueError):
    """A value given to a constructor or a config is invalid.

    The message names the offending field, what was wrong with it and how to fix it.
    ``field`` is that field's name (or ``None`` when the problem spans several).
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
