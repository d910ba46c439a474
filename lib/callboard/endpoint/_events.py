"""Lifecycle events an Endpoint publishes: circuit transitions, retries, client changes."""

from __future__ import annotations

import attrs

from callboard.actors import LifecycleEvent

__all__ = ["CallingRetrying", "CircuitChanged", "EndpointClientOpened"]


@attrs.frozen(kw_only=True)
class CircuitChanged(LifecycleEvent):
    """The Endpoint's circuit breaker changed state (``"closed"``, ``"open"``,
    ``"half_open"``) after ``consecutive_failures`` failures in a row."""

    endpoint: str
    old: str
    new: str
    consecutive_failures: int


@attrs.frozen(kw_only=True)
class CallingRetrying(LifecycleEvent):
    """Attempt ``attempt`` of a Calling failed with ``error`` (its repr, no secret); the
    next attempt starts after ``delay`` seconds and passes the rate limiter again."""

    endpoint: str
    calling_id: str
    attempt: int
    delay: float
    error: str


@attrs.frozen(kw_only=True)
class EndpointClientOpened(LifecycleEvent):
    """The Endpoint actor (re)started with a fresh client; ``generation`` counts runs;
    ``max_connections`` is its pool's cap (``None``: no cap)."""

    endpoint: str
    generation: int
    max_connections: int | None
