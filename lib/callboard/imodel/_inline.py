"""Run one Calling in the caller's own task: the Executor's steps without its actor.

Used by an iModel that was not started. The same limiters (the very same TokenBucket
objects the model's Executor uses), the same reservation rule (one request and the
estimated tokens taken at the same instant), the same reconciliation, the same events;
no task is spawned. Cancelling the caller cancels the call and gives back what it held.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import trio

from callboard.calling import (
    Backend,
    Calling,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingTimedOut,
    CallingTimeoutError,
    TokenEstimator,
    response_cost,
)
from callboard.limits import Limiter, OversizeRequest, reconcile, release, reserve

from ._pipeline import Emitter

__all__ = ["InlineRunner"]

# Stands in for a cancel scope when a Calling has no deadline: nothing else can cancel
# an inline call's own scopes, so without a deadline they would only cost time.
_NO_SCOPE = contextlib.nullcontext()


class InlineRunner:
    """Admit and run Callings in the task that awaits :meth:`run`.

    Args:
        backend: what performs the call (the model's :class:`Pipeline`).
        requests / tokens: the limiters to draw from (shared with the Executor).
        estimator: payload → tokens to reserve.
        paused_until: the Trio time before which nothing may start (provider feedback).
        name: the executor name events carry.
        emitter: where events go.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        requests: Limiter | None,
        tokens: Limiter | None,
        estimator: TokenEstimator,
        paused_until: Callable[[], float],
        name: str,
        emitter: Emitter,
    ) -> None:
        self._backend = backend
        self._requests = requests
        self._tokens = tokens
        self._estimate = estimator
        self._paused_until = paused_until
        self._name = name
        self._emitter = emitter

    async def run(self, calling: Calling) -> None:
        """Take ``calling`` (pending) to a terminal state; never raises but Cancelled."""
        emitter = self._emitter
        if self._tokens is not None and calling.estimated_tokens <= 0:
            calling.estimated_tokens = self._estimate(calling.payload)
        estimate = calling.estimated_tokens if self._tokens is not None else 0
        capacity = self._tokens.capacity if self._tokens is not None else math.inf
        if estimate > capacity:
            await self._fail(calling, OversizeRequest(estimate, capacity))
            return
        calling.mark_queued()
        if calling.timeout is not None:
            assert calling.queued_at is not None
            calling.deadline = calling.queued_at + calling.timeout
        # Events are built only when someone receives them (a subscriber, or an
        # observer hook run inline): most of a no-op call's cost otherwise.
        if emitter.listening:
            await emitter.emit(CallingQueued(executor=self._name, calling_id=calling.id, queued=1))
        if not await self._admit(calling, estimate):
            return
        calling.mark_running()
        if emitter.listening:
            await emitter.emit(
                CallingStarted(
                    executor=self._name,
                    calling_id=calling.id,
                    attempt=calling.attempts,
                    estimated_tokens=calling.estimated_tokens,
                )
            )
        error: Exception | None = None
        response: Any = None
        scope = trio.CancelScope(deadline=calling.deadline) if calling.deadline < math.inf else None
        try:
            with scope or _NO_SCOPE:
                try:
                    response = await self._backend.execute(calling)
                except Exception as exc:
                    error = exc
        except BaseException:
            self._settle(calling, estimate)
            self._cancelled(calling)
            raise
        self._settle(calling, estimate)
        if calling.finished:
            return  # a hook aborted it
        if scope is not None and scope.cancelled_caught:
            await self._time_out(calling)
        elif error is not None:
            await self._fail(calling, error)
        else:
            calling.complete(response)
            if not emitter.listening:
                return
            started = calling.started_at if calling.started_at is not None else math.nan
            await emitter.emit(
                CallingCompleted(
                    executor=self._name,
                    calling_id=calling.id,
                    duration=trio.current_time() - started,
                    actual_tokens=calling.actual_tokens,
                    cost_usd=response_cost(response),
                )
            )

    async def _admit(self, calling: Calling, estimate: int) -> bool:
        """Wait out a pause, then reserve; False when the call finished meanwhile."""
        scope = trio.CancelScope(deadline=calling.deadline) if calling.deadline < math.inf else None
        reserved = False
        try:
            with scope or _NO_SCOPE:
                # A pause only ever grows, so re-sleeping to its new end is all it needs.
                while (until := self._paused_until()) > -math.inf and until > trio.current_time():
                    with trio.move_on_at(until):
                        await trio.sleep_forever()
                await self._reserve(estimate)
                reserved = True
        except Exception as exc:  # a shared limiter's failure
            await self._fail(calling, exc)
            return False
        except BaseException:
            if reserved:
                self._unreserve(estimate)
            self._cancelled(calling)
            raise
        if scope is not None and scope.cancelled_caught:
            if reserved:
                self._unreserve(estimate)
            await self._time_out(calling)
            return False
        return True

    async def _reserve(self, tokens: int) -> None:
        """One request and ``tokens`` at the same instant; on Cancelled nothing is held."""
        await reserve(self._requests, self._tokens, tokens)

    def _unreserve(self, tokens: int) -> None:
        release(self._requests, self._tokens, tokens)

    def _settle(self, calling: Calling, estimate: int) -> None:
        reconcile(self._tokens, estimate, calling.actual_tokens, charge=calling.charge)

    def _cancelled(self, calling: Calling) -> None:
        if not calling.finished:
            calling.cancel()
            if self._emitter.listening:
                self._emitter.publish(CallingCancelled(executor=self._name, calling_id=calling.id))

    async def _time_out(self, calling: Calling) -> None:
        assert calling.timeout is not None
        calling.fail(CallingTimeoutError(calling.id, calling.timeout))
        await self._emitter.emit(
            CallingTimedOut(executor=self._name, calling_id=calling.id, timeout=calling.timeout)
        )

    async def _fail(self, calling: Calling, error: BaseException) -> None:
        calling.fail(error)
        await self._emitter.emit(
            CallingFailed(executor=self._name, calling_id=calling.id, error=repr(error))
        )
