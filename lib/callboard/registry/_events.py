"""Lifecycle events a Router publishes: where each attempt went, and each deployment's
health changing."""

from __future__ import annotations

import attrs

from callboard.actors import LifecycleEvent

__all__ = ["CallingRouted", "DeploymentCooling", "DeploymentRecovered", "RouterEvent"]


@attrs.frozen(kw_only=True)
class RouterEvent(LifecycleEvent):
    """Base of a Router's events: which router."""

    router: str


@attrs.frozen(kw_only=True)
class CallingRouted(RouterEvent):
    """An attempt of ``calling_id`` went to ``deployment``; ``attempt`` counts from 1.

    ``fallback`` is true when the deployment is one of the Router's fallbacks.
    """

    calling_id: str
    deployment: str
    attempt: int
    fallback: bool = False


@attrs.frozen(kw_only=True)
class DeploymentCooling(RouterEvent):
    """``deployment`` gets no new calls until ``until`` (trio time); ``error`` is the
    kind of failure that sent it to rest (the error's class name)."""

    deployment: str
    until: float
    error: str


@attrs.frozen(kw_only=True)
class DeploymentRecovered(RouterEvent):
    """A probe of a resting ``deployment`` succeeded: it takes calls again."""

    deployment: str
