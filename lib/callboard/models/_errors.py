"""Errors raised by the Model factory and the models it builds."""

from __future__ import annotations

from callboard.errors import CallboardError, ConfigError
from callboard.providers import UnknownProvider, UnsupportedModelType

__all__ = [
    "InvalidModelId",
    "ModelTypeNotOffered",
    "SyncCallInsideTrio",
    "UnknownModelProvider",
    "UnknownModelType",
]


class InvalidModelId(ConfigError):
    """A model id is not ``"provider/model"`` (e.g. ``"openai/gpt-4o"``)."""


class UnknownModelProvider(UnknownProvider):
    """The provider part of a model id names no provider; the message lists the
    providers that offer the model type asked for."""


class ModelTypeNotOffered(UnsupportedModelType):
    """The provider does not offer the model type asked for; the message lists what it
    offers and which providers offer that type."""


class UnknownModelType(ConfigError):
    """A model type name that is not one of ``model_types()``."""


class SyncCallInsideTrio(CallboardError, RuntimeError):
    """``call_sync`` was called from a thread running a trio loop.

    It would start a second loop in that thread (trio refuses) or block the running one;
    ``await model.acall(...)`` is the way from async code.
    """
