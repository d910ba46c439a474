"""Run one Calling in the caller's own task: the Executor's steps without its actor.

Used by an iModel that was not started. The same limiters (the very same TokenBucket
objects the model's Executor uses), the same concurrency limit, the same reservation
rule (one request and the estimated tokens taken at the same instant), the same
reconciliation, the same events; no task is spawned. Cancelling the caller cancels the
call and gives back what it held.
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
from callboard.calling._backend import Yielded, noting_yields
from callboard.calling._estimate import estimate_with
from callboard.errors import ConfigError
from callboard.limits import Limiter, OversizeRequest, reconcile, release, reserve

from ._pipeline import Emitter

__all__ = ["InlineRunner"]

# Stands in for a cancel scope when a Calling has no deadline: nothing else can cancel
# an inline call's own scopes, so without a deadline they would only cost time.
_NO_SCOPE = contextlib.nullcontext()

NO_SLOT = object()
"""What an admitted call holds as its slot when there is no concurrency limit."""


class InlineRunner:
    """Admit and run Callings in the task that awaits ``run()``.

    Args:
        backend: what performs the call (the model's ``Pipeline``).
        requests / tokens: the limiters to draw from (shared with the Executor).
        estimator: payload → tokens to reserve.
        paused_until: the Trio time before which nothing may start (provider feedback).
        name: the executor name events carry.
        emitter: where events go.
        concurrency_limit: inline calls running at once (over every task calling the
            model inline); ``None`` for no limit. Its own slots, not the Executor's:
            the Executor's admission waits on slots only its workers free.
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
        concurrency_limit: int | None = None,
    ) -> None:
        self._backend = backend
        self._requests = requests
        self._tokens = tokens
        self._slots = None if concurrency_limit is None else trio.CapacityLimiter(concurrency_limit)
        self._estimate = estimator
        self._paused_until = paused_until
        self._name = name
        self._emitter = emitter

    async def run(self, calling: Calling) -> None:
        """Take ``calling`` (pending) to a terminal state; never raises but Cancelled.

        A schedule point always, as any trio call (see ``noting_yields``).
        """
        yielded = Yielded()
        await noting_yields(self._run(calling), yielded)
        if not yielded.once:
            await trio.lowlevel.cancel_shielded_checkpoint()  # it is over: not undone

    async def _run(self, calling: Calling) -> None:
        emitter = self._emitter
        if self._tokens is not None and calling.estimated_tokens <= 0:
            try:
                calling.estimated_tokens = estimate_with(self._estimate, calling)
            except ConfigError as error:
                await self._fail(calling, error)
                return
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
        slot = await self._admit(calling, estimate)
        if slot is None:
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
            self._settle(calling, estimate, slot)
            self._cancelled(calling)
            raise
        self._settle(calling, estimate, slot)
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

    async def _admit(self, calling: Calling, estimate: int) -> object | None:
        """Wait out a pause, take a concurrency slot, then reserve, as the Executor does.

        Returns what holds the slot (``NO_SLOT`` without a concurrency limit), or
        ``None`` when the call finished meanwhile (nothing is then held).
        """
        scope = trio.CancelScope(deadline=calling.deadline) if calling.deadline < math.inf else None
        slot: object | None = None
        reserved = False
        try:
            with scope or _NO_SCOPE:
                # A pause only ever grows, so re-sleeping to its new end is all it needs.
                while (until := self._paused_until()) > -math.inf and until > trio.current_time():
                    with trio.move_on_at(until):
                        await trio.sleep_forever()
                slot = await self._take_slot()
                await self._reserve(estimate)
                reserved = True
        except Exception as exc:  # a shared limiter's failure
            self._give_slot(slot)
            await self._fail(calling, exc)
            return None
        except BaseException:
            if reserved:
                self._unreserve(estimate)
            self._give_slot(slot)
            self._cancelled(calling)
            raise
        if scope is not None and scope.cancelled_caught:
            if reserved:
                self._unreserve(estimate)
            self._give_slot(slot)
            await self._time_out(calling)
            return None
        return slot

    async def _take_slot(self) -> object:
        """A concurrency slot's borrower (on ``Cancelled`` nothing is held)."""
        if self._slots is None:
            return NO_SLOT  # reserve() checkpoints when a limiter holds the call back
        borrower = object()
        await self._slots.acquire_on_behalf_of(borrower)
        return borrower

    def _give_slot(self, slot: object | None) -> None:
        if slot is not None and slot is not NO_SLOT and self._slots is not None:
            self._slots.release_on_behalf_of(slot)

    async def _reserve(self, tokens: int) -> None:
        """One request and ``tokens`` at the same instant; on Cancelled nothing is held."""
        await reserve(self._requests, self._tokens, tokens)

    def _unreserve(self, tokens: int) -> None:
        release(self._requests, self._tokens, tokens)

    def _settle(self, calling: Calling, estimate: int, slot: object) -> None:
        self._give_slot(slot)
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
