"""Calling: the message that carries one call from its caller to a backend and back."""

from __future__ import annotations

import enum
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import trio

from callboard.errors import ConfigError

from ._errors import (
    CallingAbortedError,
    CallingAlreadyFinished,
    CallingCancelledError,
    CallingStateError,
)

if TYPE_CHECKING:
    from callboard.limits import TokenCharge
    from callboard.providers import StreamDelta

__all__ = ["Calling", "CallingOwner", "CallingStatus", "check_timeout"]


class CallingStatus(enum.Enum):
    """Where a Calling is in its life: pending → queued → running → a terminal state."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTED = "aborted"

    # Members hash by identity, as they compare: Enum's own __hash__ hashes the name in
    # Python, a measurable share of the status checks on every call's path.
    __hash__ = object.__hash__

    @property
    def terminal(self) -> bool:
        """True for completed, failed, cancelled and aborted."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {
        CallingStatus.COMPLETED,
        CallingStatus.FAILED,
        CallingStatus.CANCELLED,
        CallingStatus.ABORTED,
    }
)


class CallingOwner(Protocol):
    """Whoever holds resources for a Calling (an Executor) and must settle them on cancel."""

    def cancel_calling(self, calling: Calling) -> None:
        """Cancel ``calling`` now if it holds nothing, else cancel its scope and settle."""
        ...


def check_timeout(value: object, field: str = "timeout") -> None:
    """Refuse a timeout that is not a number of seconds >= 0 (``None`` means no limit).

    A bool is refused too (``True`` is not one second), and so is a string: ``"5"`` would
    otherwise fail later, as a TypeError from deep inside a comparison.

    Raises:
        ConfigError: ``value`` is not ``None`` and not a number >= 0 (``field`` named).
    """
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(
            f"{field} must be a number of seconds >= 0 or None, got {type(value).__name__} "
            f"{value!r}; pass a number, e.g. {field}=5.0",
            field=field,
        )
    if not value >= 0:
        raise ConfigError(f"{field} must be >= 0 seconds or None, got {value!r}", field=field)


def _validate_timeout(_: object, __: attrs.Attribute[float | None], value: float | None) -> None:
    check_timeout(value)


def _validate_payload(_: object, __: attrs.Attribute[dict[str, Any]], value: object) -> None:
    # Checked here, at the boundary: a str or list payload would otherwise travel to the
    # backend and come back as a TypeError from deep inside request building.
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ConfigError(
            f"payload must be a mapping of request fields (e.g. "
            f"{{'messages': [...]}}), got {type(value).__name__}",
            field="payload",
        )


def _new_id() -> str:
    # 128 random bits as 32 hex digits, like uuid4().hex without building a UUID object
    # (a measurable share of a no-op call's cost).
    return os.urandom(16).hex()


def _now_if_running() -> float | None:
    try:
        return trio.current_time()
    except RuntimeError:  # built outside trio.run: the executor stamps it at submit
        return None


# on_setattr=NO_OP: fields are validated when the Calling is built. attrs' default would
# route every attribute write (a dozen per call: status, timestamps, scope...) through a
# generated __setattr__; code that changes ``timeout`` later checks it with check_timeout.
@attrs.define(eq=False, slots=True, on_setattr=attrs.setters.NO_OP)
class Calling:
    """One call: its request, its progress and, once finished, its outcome.

    A Calling reaches exactly one terminal state (completed, failed, cancelled, aborted);
    a second terminal transition raises ``CallingAlreadyFinished``. Waiters park on
    the Calling itself (a list made only when someone waits), so a queued Calling
    stays small.

    Times are Trio clock readings (``trio.current_time()``), ``None`` until they happen.

    Args:
        payload: the request body or tool arguments.
        timeout: seconds for queueing plus running; ``None`` for no limit.
        streaming: whether the backend should stream the response.
        estimated_tokens: tokens to reserve; 0 lets the executor's estimator decide.
        stream_sink: for a streaming call, where the backend sends each
            [`StreamDelta`][callboard.StreamDelta] as it arrives (``await
            sink.send(delta)``; a full buffer slows the stream down, it never drops)
            and still returns the final response from ``execute``. The Calling closes
            the sink when it finishes, whichever way, so a reader sees the end of the
            stream and then reads the outcome. ``None``: nobody listens.

    Example:
        >>> async def main():
        ...     calling = Calling({"messages": [{"role": "user", "content": "hi"}]})
        ...     calling.complete("hello")
        ...     return await calling.wait()
        >>> trio.run(main)
        'hello'
    """

    payload: dict[str, Any] = attrs.field(factory=dict[str, Any], validator=_validate_payload)
    timeout: float | None = attrs.field(default=None, kw_only=True, validator=_validate_timeout)
    streaming: bool = attrs.field(default=False, kw_only=True)
    estimated_tokens: int = attrs.field(default=0, kw_only=True)
    stream_sink: trio.MemorySendChannel[StreamDelta] | None = attrs.field(
        default=None, kw_only=True, repr=False
    )
    id: str = attrs.field(factory=_new_id, kw_only=True)
    status: CallingStatus = attrs.field(default=CallingStatus.PENDING, init=False)
    attempts: int = attrs.field(default=0, init=False)
    response: Any = attrs.field(default=None, init=False, repr=False)
    error: BaseException | None = attrs.field(default=None, init=False)
    actual_tokens: int | None = attrs.field(default=None, init=False)
    charge: TokenCharge | None = attrs.field(default=None, init=False, repr=False)
    """What the provider counted against its rate limits for this call, when the backend
    knows (an Endpoint does); the Executor settles reserved tokens with it."""
    created_at: float | None = attrs.field(factory=_now_if_running, init=False)
    queued_at: float | None = attrs.field(default=None, init=False)
    started_at: float | None = attrs.field(default=None, init=False)
    finished_at: float | None = attrs.field(default=None, init=False)
    _waiters: list[trio.lowlevel.Task] | None = attrs.field(default=None, init=False, repr=False)
    _owner: CallingOwner | None = attrs.field(default=None, init=False, repr=False)
    scope: trio.CancelScope | None = attrs.field(default=None, init=False, repr=False)
    """The cancel scope its owner admits or runs it in; ``cancel()`` cancels it."""
    deadline: float = attrs.field(default=math.inf, init=False, repr=False)
    """Trio time by which it must finish; its owner sets it from ``timeout`` at submit."""
    deployment: str | None = attrs.field(default=None, init=False)
    """The name of the model that served it, when a Router routed it."""
    tried: tuple[str, ...] = attrs.field(default=(), init=False, repr=False)
    """The models a Router tried for it, in order (the last one served it or failed)."""

    @property
    def execution(self) -> Calling:
        """The Calling itself, under lionpride's name for an event's execution record:
        ``event.execution.response`` in a hook is ``calling.response``."""
        return self

    @property
    def finished(self) -> bool:
        """True once the Calling reached its terminal state."""
        return self.status in _TERMINAL

    def attach(self, owner: CallingOwner | None) -> None:
        """Make ``owner`` responsible for cancelling this call (``None`` detaches)."""
        self._owner = owner

    async def wait(self) -> Any:
        """Wait for the outcome: return the response or raise the call's error.

        Waiting has no side effect: a waiter that gives up (is cancelled) leaves the call
        running. ``Executor.call`` is the variant that cancels the call with its caller.

        Raises:
            CallingCancelledError: the call was cancelled.
            CallingAbortedError: the actor running it stopped.
            CallingTimeoutError: it did not finish within its timeout.
            Exception: whatever the backend raised.
        """
        await self.wait_finished()
        return self.outcome()

    async def wait_finished(self) -> None:
        """Wait until the call reached its terminal state, whichever it is; never raises
        anything but ``trio.Cancelled``."""
        if self.status in _TERMINAL:
            await trio.lowlevel.checkpoint()
            return
        # The task parks on the Calling itself, not on a trio.Event: no Event and
        # ParkingLot built per call, two frames fewer to suspend and resume through.
        task = trio.lowlevel.current_task()
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = []
        waiters.append(task)

        def abort(_: object) -> trio.lowlevel.Abort:
            waiters.remove(task)  # still there: _wake reschedules every task it holds
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def outcome(self) -> Any:
        """The response of a finished call, or raise its error (see ``wait()``).

        Raises:
            CallingStateError: the call has not finished yet.
        """
        if self.status is CallingStatus.COMPLETED:
            return self.response
        if self.error is not None:
            raise self.error
        raise CallingStateError(
            f"calling {self.id} is {self.status.value}, not finished; await wait() first",
            calling_id=self.id,
        )

    # -- transitions --------------------------------------------------------------------

    def mark_queued(self) -> None:
        """Record that the call entered a queue (again, for a retry).

        Raises:
            CallingStateError: the call is queued already or finished.
        """
        if self.status is not CallingStatus.PENDING and self.status is not CallingStatus.RUNNING:
            raise CallingStateError(
                f"calling {self.id} is {self.status.value}; only a pending or running "
                "calling can be queued",
                calling_id=self.id,
            )
        self.status = CallingStatus.QUEUED
        now = trio.current_time()
        if self.created_at is None:
            self.created_at = now
        self.queued_at = now

    def mark_running(self, now: float | None = None) -> None:
        """Record that an attempt started: counts it and stamps ``started_at``.

        Args:
            now: ``trio.current_time()`` as its owner read it an instant ago (read here
                when ``None``).

        Raises:
            CallingStateError: the call is not queued.
        """
        if self.status is not CallingStatus.QUEUED:
            raise CallingStateError(
                f"calling {self.id} is {self.status.value}; only a queued calling can start",
                calling_id=self.id,
            )
        self.status = CallingStatus.RUNNING
        self.attempts += 1
        self.started_at = trio.current_time() if now is None else now

    def complete(self, response: Any) -> None:
        """Finish successfully with ``response`` and wake every waiter.

        Raises:
            CallingAlreadyFinished: the call had already finished.
        """
        self._finish(CallingStatus.COMPLETED, "completed")
        self.response = response
        self._wake()

    def fail(self, error: BaseException) -> None:
        """Finish with ``error`` (raised to every waiter).

        Raises:
            CallingAlreadyFinished: the call had already finished.
        """
        self._finish(CallingStatus.FAILED, "failed")
        self.error = error
        self._wake()

    def cancel(self) -> None:
        """Cancel the call.

        A call that holds nothing (pending, or waiting in a queue) is cancelled at once.
        A call its owner is admitting or running has its cancel scope cancelled; the owner
        settles the slot and tokens it holds and then finishes it as cancelled. Calling
        this again while that is under way does nothing.

        Raises:
            CallingAlreadyFinished: the call had already finished.
        """
        if self._owner is not None and self.status is not CallingStatus.PENDING:
            if self.status in _TERMINAL:
                raise CallingAlreadyFinished(self.id, self.status.value, "cancelled")
            self._owner.cancel_calling(self)
            return
        self._finish(CallingStatus.CANCELLED, "cancelled")
        self.error = CallingCancelledError(self.id)
        self._wake()

    def abort(
        self, reason: str = "its actor stopped", *, error: CallingAbortedError | None = None
    ) -> None:
        """Finish as aborted: the actor responsible for it stopped before it could finish,
        or a hook refused it (``error`` then says which, e.g. ``HookAborted``).

        Raises:
            CallingAlreadyFinished: the call had already finished.
        """
        self._finish(CallingStatus.ABORTED, "aborted")
        self.error = error if error is not None else CallingAbortedError(self.id, reason)
        self._wake()

    def _finish(self, status: CallingStatus, attempted: str) -> None:
        if self.status in _TERMINAL:
            raise CallingAlreadyFinished(self.id, self.status.value, attempted)
        self.status = status
        self.finished_at = trio.current_time()
        self.scope = None
        self._owner = None
        if self.stream_sink is not None:
            self.stream_sink.close()

    def _wake(self) -> None:
        waiters = self._waiters
        if waiters:
            self._waiters = None
            for task in waiters:
                trio.lowlevel.reschedule(task)
