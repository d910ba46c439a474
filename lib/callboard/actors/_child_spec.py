"""OTP vocabulary for supervision: restart types, strategies and child specs."""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from ._errors import InvalidChildSpec

__all__ = ["ChildInfo", "ChildSpec", "Restart", "Strategy"]

StartFunction = Callable[..., Awaitable[Any]]
"""``start(task_status=...)``: runs the child, reporting ready through ``task_status``."""


class Restart(enum.Enum):
    """When a supervisor restarts a child that ended (OTP restart types)."""

    PERMANENT = "permanent"
    """Always restarted, whether it crashed or returned."""
    TRANSIENT = "transient"
    """Restarted only after a crash; a normal return leaves it stopped."""
    TEMPORARY = "temporary"
    """Never restarted; its spec is removed when it ends or is terminated."""


class Strategy(enum.Enum):
    """Which children a supervisor restarts when one of them has to be restarted."""

    ONE_FOR_ONE = "one_for_one"
    """Only the child that ended."""
    ONE_FOR_ALL = "one_for_all"
    """All children: the others are stopped (in reverse order) and all started again."""
    REST_FOR_ONE = "rest_for_one"
    """The child that ended and every child started after it."""


def _check_id(_: object, __: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidChildSpec(
            f"child id must be a non-empty string naming the child, got {value!r}", field="id"
        )


def _check_start(_: object, __: attrs.Attribute[StartFunction], value: object) -> None:
    if not callable(value):
        raise InvalidChildSpec(
            "start must be an async callable taking task_status= (for example an actor's "
            f"bound run method), got {value!r}",
            field="start",
        )


def _check_restart(_: object, __: attrs.Attribute[Restart], value: object) -> None:
    if not isinstance(value, Restart):
        raise InvalidChildSpec(
            f"restart must be a Restart (PERMANENT, TRANSIENT or TEMPORARY), got {value!r}",
            field="restart",
        )


def _check_shutdown(_: object, __: attrs.Attribute[float], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
    ):
        raise InvalidChildSpec(
            "shutdown must be the seconds (>= 0, math.inf allowed) a child gets to end "
            f"after cancellation, got {value!r}",
            field="shutdown",
        )


@attrs.frozen
class ChildSpec:
    """How a supervisor starts and restarts one child.

    Args:
        id: unique among the supervisor's children.
        start: ``async start(task_status=...)``, run with ``nursery.start``; it must call
            ``task_status.started(value)`` once ready. An Actor's bound ``run`` and a
            Supervisor's bound ``run`` both fit.
        restart: when to restart the child after it ended.
        shutdown: seconds the child gets to finish after being cancelled before the
            supervisor reports it (``ChildShutdownTimeout``) and moves on.

    Raises:
        InvalidChildSpec: an argument is invalid (the message says which and why).

    Example::

        spec = ChildSpec("worker", Worker().run, restart=Restart.TRANSIENT)
    """

    id: str = attrs.field(validator=_check_id)
    start: StartFunction = attrs.field(validator=_check_start)
    restart: Restart = attrs.field(default=Restart.PERMANENT, validator=_check_restart)
    shutdown: float = attrs.field(default=5.0, validator=_check_shutdown)


@attrs.frozen
class ChildInfo:
    """One row of ``Supervisor.which_children()``.

    ``value`` is what the child passed to ``task_status.started`` (an ``ActorRef`` for an
    actor) while it runs, ``None`` when it is not running. ``stopping`` is true for a
    child that was told to stop and whose task still runs past its ``shutdown``
    (``running`` is true too: its task has not ended).
    """

    id: str
    running: bool
    restart: Restart
    value: object = None
    stopping: bool = False
