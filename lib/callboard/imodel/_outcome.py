"""What a caller gets when a call ends: the completed Calling, or its typed error; and
how a Calling handed to ``invoke`` is checked and, if refused, still finished."""

from __future__ import annotations

import trio

from callboard.calling import Calling, CallingStateError, CallingStatus
from callboard.errors import CallboardError, ConfigError

from ._errors import InvocationError

__all__ = ["check_calling", "outcome", "rerun", "settle_refused"]


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


def check_calling(calling: object, method: str) -> None:
    """Refuse anything but a Calling as ``calling`` (a payload dict passed positionally,
    a string), before it fails deep inside as an AttributeError.

    Raises:
        ConfigError: ``calling`` is not a [`Calling`][callboard.Calling].
    """
    if not isinstance(calling, Calling):
        raise ConfigError(
            f"{method}() takes a Calling (from create_calling()) as its first argument, got "
            f"{type(calling).__name__}; pass the request as keywords: "
            f"{method}(messages=[...]), or {method}(**payload) for a dict",
            field="calling",
        )


def rerun(calling: Calling) -> Calling:
    """What ``invoke`` does with a Calling that is not pending: one rule, started or
    inline. A Calling a PreEventCreate hook aborted (never queued) raises its
    ``HookAborted``; any other ran already or is running and cannot run again.

    Raises:
        CallboardError: the hook's abort, for a Calling a PreEventCreate hook refused.
        CallingStateError: otherwise.
    """
    if calling.status is CallingStatus.ABORTED and calling.queued_at is None:
        return outcome(calling)  # a PreEventCreate hook refused it: say why
    raise CallingStateError(
        f"calling {calling.id} is {calling.status.value}; a Calling runs once: create a "
        "new one (create_calling(), or invoke(**request)) to call again",
        calling_id=calling.id,
    )


def settle_refused(calling: Calling, error: BaseException) -> None:
    """Finish a Calling that ``invoke`` was handed but never got to queue, so that every
    Calling handed to callboard reaches a terminal state and its waiters wake."""
    if calling.status is not CallingStatus.PENDING:
        return
    if isinstance(error, trio.Cancelled):
        calling.cancel()
    else:
        calling.fail(error)
