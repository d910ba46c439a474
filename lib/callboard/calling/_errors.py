"""Errors raised by the Calling message and the Executor."""

from __future__ import annotations

from callboard.errors import CallboardError

__all__ = [
    "CallingAbortedError",
    "CallingAlreadyFinished",
    "CallingCancelledError",
    "CallingError",
    "CallingStateError",
    "CallingTimeoutError",
    "QueueFull",
    "ServicesError",
]


class ServicesError(CallboardError):
    """Base class of the errors raised by ``callboard``."""


class CallingError(ServicesError):
    """Something happened to one Calling; ``calling_id`` says which."""

    def __init__(self, message: str, *, calling_id: str) -> None:
        super().__init__(message)
        self.calling_id = calling_id


class CallingStateError(CallingError):
    """An operation does not fit the Calling's current status (a bug in the caller)."""


class CallingAlreadyFinished(CallingStateError):
    """A second terminal transition was attempted; a Calling finishes exactly once."""

    def __init__(self, calling_id: str, status: str, attempted: str) -> None:
        super().__init__(
            f"calling {calling_id} is already {status} and cannot be {attempted}; "
            "a Calling reaches exactly one terminal state, create a new one to call again",
            calling_id=calling_id,
        )
        self.status = status
        self.attempted = attempted


class CallingCancelledError(CallingError):
    """The call was cancelled before it produced a response."""

    def __init__(self, calling_id: str) -> None:
        super().__init__(f"calling {calling_id} was cancelled", calling_id=calling_id)


class CallingAbortedError(CallingError):
    """The call was abandoned because the actor running it stopped."""

    def __init__(self, calling_id: str, reason: str) -> None:
        super().__init__(f"calling {calling_id} was aborted: {reason}", calling_id=calling_id)
        self.reason = reason


class CallingTimeoutError(CallingError, TimeoutError):
    """The call did not finish within its ``timeout`` (queueing and running together)."""

    def __init__(self, calling_id: str, timeout: float) -> None:
        super().__init__(
            f"calling {calling_id} did not finish within its timeout of {timeout:g} s "
            "(queueing included); raise Calling.timeout or the executor's limits",
            calling_id=calling_id,
        )
        self.timeout = timeout


class QueueFull(ServicesError):
    """``submit_nowait`` found the executor's queue full."""

    def __init__(self, executor: str, capacity: int) -> None:
        super().__init__(
            f"the queue of executor {executor!r} is full ({capacity} callings); "
            "await submit() to wait for room or raise queue_capacity"
        )
        self.executor = executor
        self.capacity = capacity
