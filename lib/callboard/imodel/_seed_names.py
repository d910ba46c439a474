"""The names a model answers to: its own, and for an Endpoint its two spellings.

A model built on an Endpoint whose config kept its default name (``anthropic:chat``) is
named the way lionpride names it (``anthropic_messages``, ``openai_chat``,
``groq_chat``); the registry finds it under either spelling.
"""

from __future__ import annotations

from callboard.endpoint import Endpoint

__all__ = ["default_name", "other_names"]


def _default_named(backend: object) -> Endpoint | None:
    if not isinstance(backend, Endpoint):
        return None
    config = backend.config
    return backend if config.name == f"{config.provider}:{config.endpoint}" else None


def default_name(backend: object) -> str | None:
    """lionpride's name for a default-named Endpoint backend, else ``None``."""
    endpoint = _default_named(backend)
    return endpoint.seed_name if endpoint is not None else None


def other_names(name: str, backend: object) -> frozenset[str]:
    """The spellings besides ``name`` a model answers to in a registry: the Endpoint's
    config name (``anthropic:chat``) when the model carries lionpride's default name."""
    endpoint = _default_named(backend)
    if endpoint is None or name != endpoint.seed_name:
        return frozenset()
    return frozenset({endpoint.config.name})
