"""The Calling message: one call's request, progress and outcome, its lifecycle events,
token estimation, and the Backend protocol that performs it."""

from __future__ import annotations

from ._backend import Backend as Backend
from ._calling import Calling as Calling
from ._calling import CallingOwner as CallingOwner
from ._calling import CallingStatus as CallingStatus
from ._errors import CallingAbortedError as CallingAbortedError
from ._errors import CallingAlreadyFinished as CallingAlreadyFinished
from ._errors import CallingCancelledError as CallingCancelledError
from ._errors import CallingError as CallingError
from ._errors import CallingStateError as CallingStateError
from ._errors import CallingTimeoutError as CallingTimeoutError
from ._errors import QueueFull as QueueFull
from ._errors import ServicesError as ServicesError
from ._estimate import TokenEstimator as TokenEstimator
from ._estimate import estimate_tokens as estimate_tokens
from ._events import CallingAborted as CallingAborted
from ._events import CallingCancelled as CallingCancelled
from ._events import CallingCompleted as CallingCompleted
from ._events import CallingEvent as CallingEvent
from ._events import CallingFailed as CallingFailed
from ._events import CallingQueued as CallingQueued
from ._events import CallingStarted as CallingStarted
from ._events import CallingTimedOut as CallingTimedOut
from ._events import ExecutorPaused as ExecutorPaused
from ._events import response_cost as response_cost

__all__ = [
    "Backend",
    "Calling",
    "CallingAborted",
    "CallingAbortedError",
    "CallingAlreadyFinished",
    "CallingCancelled",
    "CallingCancelledError",
    "CallingCompleted",
    "CallingError",
    "CallingEvent",
    "CallingFailed",
    "CallingOwner",
    "CallingQueued",
    "CallingStarted",
    "CallingStateError",
    "CallingStatus",
    "CallingTimedOut",
    "CallingTimeoutError",
    "ExecutorPaused",
    "QueueFull",
    "ServicesError",
    "TokenEstimator",
    "estimate_tokens",
    "response_cost",
]
