"""What a caller gets when a call ends: the completed Calling, or its typed error."""

from __future__ import annotations

from callboard.calling import Calling, CallingStatus
from callboard.errors import CallboardError

from ._errors import InvocationError

__all__ = ["outcome"]


def outcome(calling: Calling) -> Calling:
    """Return the completed Calling, or raise its typed error with the Calling attached."""
    if calling.status is CallingStatus.COMPLETED:
        return calling
    error = calling.error
    if error is None:  # pragma: no cover - a finished, not completed Calling has an error
        raise InvocationError(calling.id, RuntimeError("no error recorded"))
    if isinstance(error, CallboardError):
        setattr(error, "calling", calling)  # noqa: B010 - CallboardError declares no such attribute
        raise error
    wrapped = InvocationError(calling.id, error)
    wrapped.calling = calling
    raise wrapped from error
