"""The Executor's short paths: a Calling started at submit when nothing is ahead of it,
a worker that runs many calls in one cancel scope, a call that costs no extra round.

Each test pins what those shortcuts must not change: cancellation means "it did not
happen" and settles everything first, one call's cancel or deadline never reaches the
next call of the same worker, FIFO order and the events' order hold.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard.actors import Broadcast, LifecycleEvent
from callboard.calling import (
    Calling,
    CallingCancelledError,
    CallingCompleted,
    CallingQueued,
    CallingStarted,
    CallingStatus,
    CallingTimeoutError,
)
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy
from tests.backends import ScriptedBackend
from tests.executor.test_executor import drain, running


async def test_a_calling_cancelled_before_a_worker_took_it_never_runs() -> None:
    backend = ScriptedBackend()
    executor = Executor(
        backend, limit_tokens=1000, admission_policy=AdmissionPolicy(pacing="burst")
    )
    async with running(executor):
        calling = Calling({"usage": 5}, estimated_tokens=100)
        executor.submit_nowait(calling)  # nothing ahead: admitted at once, no worker ran yet
        assert calling.status is CallingStatus.RUNNING
        assert executor.tokens_in_flight == 100
        calling.cancel()
        # Not finished before its worker settled it: cancelling frees everything first.
        assert not calling.finished
        await calling.wait_finished()
        assert calling.status is CallingStatus.CANCELLED
        assert backend.started == []
        assert executor.in_flight == 0
        assert executor.tokens_in_flight == 0
        assert await executor.call(Calling()) == "ok"  # the worker goes on
    with pytest.raises(CallingCancelledError):
        await calling.wait()


async def test_cancelling_a_running_call_leaves_the_next_call_of_its_worker_alone(
    autojump_clock: trio.abc.Clock,
) -> None:
    backend = ScriptedBackend()
    executor = Executor(backend, concurrency_limit=1)
    async with running(executor):
        first = Calling({"sleep": 10})
        second = Calling({"sleep": 2, "reply": "second"})
        third = Calling({"reply": "third"})
        for calling in (first, second, third):
            await executor.submit(calling)
        await trio.sleep(1)
        first.cancel()
        await first.wait_finished()
        assert first.status is CallingStatus.CANCELLED
        assert await second.wait() == "second"
        assert await third.wait() == "third"
        assert trio.current_time() == pytest.approx(3.0)
        assert executor.in_flight == 0


class CancelsAsItReturns(ScriptedBackend):
    """Cancels its Calling and returns without a checkpoint: the cancel lands at the
    very instant the call ends (as another task's cancel may)."""

    async def execute(self, calling: Calling) -> object:
        if calling.payload.get("race"):
            calling.cancel()
            return "raced"
        return await super().execute(calling)


async def test_a_cancel_racing_the_end_of_a_call_leaves_the_next_call_alone(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(CancelsAsItReturns(), concurrency_limit=1)
    async with running(executor):
        raced = Calling({"race": True})
        after = Calling({"sleep": 1.0, "reply": "after"})
        executor.submit_nowait(raced)
        executor.submit_nowait(after)  # ready for the same worker as soon as raced ends
        assert await raced.wait() == "raced"  # it had ended: the cancel came too late
        assert await after.wait() == "after"
        assert executor.in_flight == 0


async def test_a_deadline_never_reaches_the_next_call_of_the_same_worker(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(ScriptedBackend(), concurrency_limit=1)
    async with running(executor):
        quick = Calling({"sleep": 0.5}, timeout=1.0)
        assert await executor.call(quick) == "ok"
        slow = Calling({"sleep": 5.0, "reply": "slow"})  # no timeout: runs its 5 s
        assert await executor.call(slow) == "slow"
        late = Calling({"sleep": 5.0}, timeout=2.0)
        start = trio.current_time()
        with pytest.raises(CallingTimeoutError):
            await executor.call(late)
        assert trio.current_time() - start == pytest.approx(2.0)
        assert await executor.call(Calling({"sleep": 3.0, "reply": "after"})) == "after"


async def test_call_in_a_cancelled_scope_runs_nothing() -> None:
    backend = ScriptedBackend()
    executor = Executor(backend)
    async with running(executor):
        calling = Calling()
        with trio.CancelScope() as scope:
            scope.cancel()
            await executor.call(calling)
        assert scope.cancelled_caught
        assert calling.status is CallingStatus.CANCELLED
        pending = Calling()
        with trio.CancelScope() as scope:
            scope.cancel()
            await executor.submit(pending)
        assert pending.status is CallingStatus.PENDING  # cancelled means not queued
        await trio.testing.wait_all_tasks_blocked()
        assert backend.started == []
        assert executor.in_flight == 0


async def test_callings_started_at_submit_keep_fifo_order_and_event_order() -> None:
    bus: Broadcast[LifecycleEvent] = Broadcast(buffer_size=10_000)
    backend = ScriptedBackend()
    executor = Executor(backend, concurrency_limit=3, broadcast=bus, queue_capacity=1000)
    with bus.subscribe() as sub:
        async with running(executor):
            callings = [Calling({"reply": i}) for i in range(200)]
            async with trio.open_nursery() as nursery:
                for calling in callings:
                    executor.submit_nowait(calling)
                    if len(backend.started) % 7 == 0:
                        await trio.lowlevel.checkpoint()  # let workers run now and then
                for calling in callings:
                    nursery.start_soon(calling.wait)
            assert [r for r in (c.response for c in callings)] == list(range(200))
        events = drain(sub)
    assert [c for c, _ in backend.started] == [c.id for c in callings]  # admission order
    seen: dict[str, list[type]] = {}
    for event in events:
        calling_id = getattr(event, "calling_id", None)
        if calling_id is not None:
            seen.setdefault(calling_id, []).append(type(event))
    for calling in callings:
        assert seen[calling.id] == [CallingQueued, CallingStarted, CallingCompleted]


class CancelsByScopeAsItReturns(ScriptedBackend):
    """Cancels ``calling.scope`` itself (public: anyone holding it may) and returns
    without a checkpoint."""

    async def execute(self, calling: Calling) -> object:
        if calling.payload.get("cancel_scope"):
            assert calling.scope is not None
            calling.scope.cancel()
            return "cancelled its scope"
        return await super().execute(calling)


async def test_a_worker_whose_scope_was_cancelled_directly_runs_nothing_more_in_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(CancelsByScopeAsItReturns(), concurrency_limit=1)
    async with running(executor):
        first = Calling({"cancel_scope": True})
        after = Calling({"sleep": 1.0, "reply": "after"})
        executor.submit_nowait(first)
        executor.submit_nowait(after)  # ready for the same worker as soon as first ends
        assert await first.wait() == "cancelled its scope"
        assert await after.wait() == "after"  # run by a fresh worker, not cancelled
        assert executor.in_flight == 0


class CancelsTheNextAsItReturns(ScriptedBackend):
    """After a second, cancels ``self.next`` and returns without a checkpoint: the slot
    it frees and the cancel arrive in the same instant."""

    next: Calling | None = None

    async def execute(self, calling: Calling) -> object:
        if calling.payload.get("cancel_next"):
            await trio.sleep(1.0)
            assert self.next is not None
            self.next.cancel()
            return "first"
        return await super().execute(calling)


async def test_a_calling_cancelled_while_it_waits_for_a_worker_is_never_started(
    autojump_clock: trio.abc.Clock,
) -> None:
    backend = CancelsTheNextAsItReturns()
    executor = Executor(backend, concurrency_limit=1)
    async with running(executor):
        first = Calling({"cancel_next": True})
        waiting = backend.next = Calling({"reply": "must not run"})
        executor.submit_nowait(first)
        executor.submit_nowait(waiting)  # no slot: the actor waits for a worker to free one
        assert await first.wait() == "first"
        await waiting.wait_finished()
        assert waiting.status is CallingStatus.CANCELLED
        assert backend.started == []  # waiting never reached the backend
        assert executor.in_flight == 0
        assert await executor.call(Calling({"reply": "next"})) == "next"
