"""How the Executor finishes a Calling and says so: each terminal transition and the
lifecycle event it publishes.

Events are built only when the Broadcast has a subscriber: with nobody listening,
constructing one per transition is a measurable share of a call's cost.
"""

from __future__ import annotations

import math

import trio

from callboard.actors import Broadcast, LifecycleEvent
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingTimedOut,
    CallingTimeoutError,
    ExecutorPaused,
    response_cost,
)

__all__ = ["Transitions"]


class Transitions:
    """Finish Callings and publish what happened, on behalf of the executor ``name``."""

    __slots__ = ("broadcast", "name")

    def __init__(self, name: str, broadcast: Broadcast[LifecycleEvent] | None) -> None:
        self.name = name
        self.broadcast = broadcast

    def listening(self) -> bool:
        broadcast = self.broadcast
        return broadcast is not None and broadcast.subscriber_count > 0

    def publish(self, event: LifecycleEvent) -> None:
        broadcast = self.broadcast
        if broadcast is not None and not broadcast.closed:
            broadcast.publish(event)

    # -- progress ------------------------------------------------------------------------

    def queued(self, calling: Calling, depth: int) -> None:
        if self.listening():
            self.publish(CallingQueued(executor=self.name, calling_id=calling.id, queued=depth))

    def started(self, calling: Calling) -> None:
        if self.listening():
            self.publish(
                CallingStarted(
                    executor=self.name,
                    calling_id=calling.id,
                    attempt=calling.attempts,
                    estimated_tokens=calling.estimated_tokens,
                )
            )

    def paused(self, until: float) -> None:
        if self.listening():
            self.publish(ExecutorPaused(executor=self.name, until=until))

    # -- terminal -------------------------------------------------------------------------

    def complete(self, calling: Calling, response: object) -> None:
        calling.complete(response)
        if self.listening():
            started = calling.started_at if calling.started_at is not None else math.nan
            self.publish(
                CallingCompleted(
                    executor=self.name,
                    calling_id=calling.id,
                    duration=trio.current_time() - started,
                    actual_tokens=calling.actual_tokens,
                    cost_usd=response_cost(response),
                )
            )

    def fail(self, calling: Calling, error: BaseException) -> None:
        calling.fail(error)
        self.failed(calling, error)

    def failed(self, calling: Calling, error: BaseException) -> None:
        """Publish the failure of a Calling that was failed already."""
        if self.listening():
            self.publish(
                CallingFailed(executor=self.name, calling_id=calling.id, error=repr(error))
            )

    def abort(self, calling: Calling, reason: str) -> None:
        calling.abort(reason)
        if self.listening():
            self.publish(CallingAborted(executor=self.name, calling_id=calling.id))

    def cancel(self, calling: Calling) -> None:
        calling.attach(None)
        calling.cancel()
        self.cancelled(calling)

    def cancelled(self, calling: Calling) -> None:
        if self.listening():
            self.publish(CallingCancelled(executor=self.name, calling_id=calling.id))

    def time_out(self, calling: Calling) -> None:
        assert calling.timeout is not None
        calling.fail(CallingTimeoutError(calling.id, calling.timeout))
        if self.listening():
            self.publish(
                CallingTimedOut(executor=self.name, calling_id=calling.id, timeout=calling.timeout)
            )

    def finish_unstarted(self, calling: Calling) -> None:
        """Finish a Calling whose scope was cancelled: by its deadline or by a cancel."""
        if calling.timeout is not None and trio.current_time() >= calling.deadline:
            self.time_out(calling)
        else:
            self.cancel(calling)
