"""Errors raised while choosing a provider or building a request for it."""

from __future__ import annotations

from callboard.errors import CallboardError, ConfigError

__all__ = ["MissingApiKey", "PayloadError", "UnknownProvider", "UnsupportedModelType"]


class UnknownProvider(ConfigError):
    """No provider spec has this name; the message lists the known ones."""


class UnsupportedModelType(ConfigError):
    """The provider does not offer this model type; the message lists the ones it does."""


class MissingApiKey(ConfigError):
    """The provider needs an API key and none was given."""


class PayloadError(CallboardError, ValueError):
    """The payload cannot be turned into a request (e.g. speech to text without a file).

    ``field`` is the offending payload field's path when one is to blame
    (``"metadata"``, ``"messages[0].content"``), else ``None``.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
