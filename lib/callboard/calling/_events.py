"""Lifecycle events an Executor publishes for every transition of every Calling."""

from __future__ import annotations

import attrs

from callboard.actors import LifecycleEvent
from callboard.providers import NormalizedResponse

__all__ = [
    "CallingAborted",
    "CallingCancelled",
    "CallingCompleted",
    "CallingEvent",
    "CallingFailed",
    "CallingQueued",
    "CallingStarted",
    "CallingTimedOut",
    "ExecutorPaused",
    "response_cost",
]


@attrs.frozen(kw_only=True)
class CallingEvent(LifecycleEvent):
    """Base of the per-Calling events: which executor, which Calling."""

    executor: str
    calling_id: str


@attrs.frozen(kw_only=True)
class CallingQueued(CallingEvent):
    """Accepted into the executor's queue; ``queued`` counts it and those ahead of it."""

    queued: int


@attrs.frozen(kw_only=True)
class CallingStarted(CallingEvent):
    """Admitted (request and tokens reserved, slot held) and handed to the backend."""

    attempt: int
    estimated_tokens: int


@attrs.frozen(kw_only=True)
class CallingCompleted(CallingEvent):
    """The backend returned; ``actual_tokens`` is the reported usage, if any, and
    ``cost_usd`` what the call cost in US dollars at ``callboard.PRICES`` (``None`` when
    the response is not priced: an unknown model, no usage, or not a provider's answer)."""

    duration: float
    actual_tokens: int | None
    cost_usd: float | None = None


def response_cost(response: object) -> float | None:
    """The ``cost_usd`` of a [`CallingCompleted`][callboard.CallingCompleted] for
    ``response``: its price in dollars when it is a priced provider answer."""
    if not isinstance(response, NormalizedResponse):
        return None
    cost = response.cost
    return None if cost is None else cost.total


@attrs.frozen(kw_only=True)
class CallingFailed(CallingEvent):
    """The backend raised or the call could not be admitted; ``error`` is its repr."""

    error: str


@attrs.frozen(kw_only=True)
class CallingTimedOut(CallingEvent):
    """The call's timeout (queueing plus running) passed before it finished."""

    timeout: float


@attrs.frozen(kw_only=True)
class CallingCancelled(CallingEvent):
    """The call was cancelled (by its caller or through ``Calling.cancel``)."""


@attrs.frozen(kw_only=True)
class CallingAborted(CallingEvent):
    """The executor stopped before the call could finish."""


@attrs.frozen(kw_only=True)
class ExecutorPaused(LifecycleEvent):
    """Provider feedback paused admission until Trio time ``until``."""

    executor: str
    until: float
