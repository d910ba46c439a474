"""The lifecycle events every layer publishes on a [`Broadcast`][callboard.Broadcast]."""

from __future__ import annotations

from typing import Literal

import attrs
import trio

__all__ = [
    "ChildExited",
    "ChildRestarted",
    "ChildShutdownTimeout",
    "ChildStarted",
    "ChildStopped",
    "LifecycleEvent",
    "SupervisorEscalated",
]


@attrs.frozen(kw_only=True)
class LifecycleEvent:
    """Base class of every event published on the bus, by any layer.

    ``time`` defaults to ``trio.current_time()``, so events carry the clock tests control
    (a ``MockClock``) rather than wall time; build events inside ``trio.run``.
    """

    time: float = attrs.field(factory=trio.current_time)


@attrs.frozen(kw_only=True)
class ChildStarted(LifecycleEvent):
    """A supervisor started a child for the first time (or on ``restart_child``)."""

    supervisor: str
    child_id: str


@attrs.frozen(kw_only=True)
class ChildExited(LifecycleEvent):
    """A child ended on its own: ``"normal"`` when it returned, ``"crash"`` when it raised.

    ``error`` is the ``repr`` of the exception for a crash, ``None`` otherwise.
    """

    supervisor: str
    child_id: str
    reason: Literal["normal", "crash"]
    error: str | None = None


@attrs.frozen(kw_only=True)
class ChildRestarted(LifecycleEvent):
    """A supervisor restarted a child (after a crash, a normal exit or a sibling's crash)."""

    supervisor: str
    child_id: str


@attrs.frozen(kw_only=True)
class ChildStopped(LifecycleEvent):
    """A supervisor stopped a child on purpose (terminate, strategy, shutdown)."""

    supervisor: str
    child_id: str


@attrs.frozen(kw_only=True)
class ChildShutdownTimeout(LifecycleEvent):
    """A child ignored cancellation past its ``shutdown`` timeout; the supervisor moved on.

    Trio cannot abandon a task: the stuck task stays in the supervisor's nursery until it
    ends by itself, and the supervisor's ``run`` cannot return before that.
    """

    supervisor: str
    child_id: str
    timeout: float


@attrs.frozen(kw_only=True)
class SupervisorEscalated(LifecycleEvent):
    """A supervisor exceeded its restart intensity, stopped its children and gave up."""

    supervisor: str
    restarts: int
    max_restarts: int
    max_seconds: float
