from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from callboard.actors import ActorStopped, Broadcast, LifecycleEvent
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingAbortedError,
    CallingCancelled,
    CallingCancelledError,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingStateError,
    CallingStatus,
    CallingTimedOut,
    CallingTimeoutError,
    ExecutorPaused,
    QueueFull,
)
from callboard.errors import ConfigError
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy, OversizeRequest, RateLimitState, TokenBucket
from tests.backends import BackendError, NoopBackend, ScriptedBackend, SleepingBackend

# These tests pin the bucket arithmetic of a full-burst limit (the configured capacity
# may go at once); smooth pacing and learning are tested in test_adaptive_admission.py.
BURST = AdmissionPolicy(pacing="burst")


@asynccontextmanager
async def running(executor: Executor) -> AsyncIterator[Executor]:
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        yield executor
        executor.ref.stop()


def drain(subscription: object) -> list[LifecycleEvent]:
    from callboard.actors import Subscription

    assert isinstance(subscription, Subscription)
    out: list[LifecycleEvent] = []
    while True:
        try:
            out.append(subscription.receive_nowait())  # pyright: ignore[reportUnknownArgumentType]
        except trio.WouldBlock:
            return out


async def test_call_returns_the_response_and_publishes_each_transition():
    bus: Broadcast[LifecycleEvent] = Broadcast()
    with bus.subscribe() as sub:
        async with running(Executor(NoopBackend(), broadcast=bus, name="ex")) as executor:
            calling = Calling({"x": 1})
            assert await executor.call(calling) == {"x": 1}
        events = drain(sub)
    assert [type(e) for e in events] == [CallingQueued, CallingStarted, CallingCompleted]
    assert all(e.calling_id == calling.id and e.executor == "ex" for e in events)  # type: ignore[attr-defined]
    assert calling.status is CallingStatus.COMPLETED
    assert calling.attempts == 1
    assert executor.in_flight == 0


async def test_thousand_callers_on_ten_per_second(autojump_clock: trio.abc.Clock):
    bus: Broadcast[LifecycleEvent] = Broadcast(buffer_size=10_000)
    backend = SleepingBackend(delay=0.05)
    executor = Executor(
        backend,
        limit_requests=10,
        capacity_refresh_time=1.0,
        broadcast=bus,
        admission_policy=BURST,
    )
    callings = [Calling({"i": i}) for i in range(1000)]
    finished: list[float] = []

    async def caller(calling: Calling) -> None:
        assert await executor.call(calling) == "done"
        finished.append(trio.current_time())

    with bus.subscribe() as sub:
        async with running(executor):
            start = trio.current_time()
            async with trio.open_nursery() as nursery:
                for calling in callings:
                    nursery.start_soon(caller, calling)
        events = drain(sub)
    assert len(finished) == 1000  # none rejected, none lost
    assert all(c.status is CallingStatus.COMPLETED for c in callings)
    queued_order = [e.calling_id for e in events if isinstance(e, CallingQueued)]
    started_order = [calling_id for calling_id, _ in backend.started]
    assert started_order == queued_order  # FIFO
    assert len(set(started_order)) == 1000
    # The bucket starts full: 10 at once, then one every 100 ms.
    for k, (_, at) in enumerate(backend.started):
        assert at - start == pytest.approx(max(0.0, (k - 9) / 10), abs=1e-6)
    assert max(finished) - start == pytest.approx(99.0 + 0.05, abs=1e-6)


async def test_concurrency_limit_bounds_overlap(autojump_clock: trio.abc.Clock):
    backend = SleepingBackend(delay=1.0)
    executor = Executor(backend, concurrency_limit=2)
    async with running(executor), trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(executor.call, Calling())
    assert backend.max_running == 2
    assert trio.current_time() == pytest.approx(3.0)


async def test_tokens_are_reserved_and_reconciled(autojump_clock: trio.abc.Clock):
    backend = ScriptedBackend()
    executor = Executor(
        backend, limit_tokens=1000, capacity_refresh_time=60.0, admission_policy=BURST
    )
    assert executor.tokens_limiter is not None
    bucket = executor.tokens_limiter.ceiling  # the configured bucket
    assert isinstance(bucket, TokenBucket)
    async with running(executor):
        refunded = Calling({"usage": 100}, estimated_tokens=400)
        await executor.call(refunded)
        assert bucket.available == pytest.approx(900, abs=1e-6)  # 400 taken, 300 back
        debited = Calling({"usage": 500}, estimated_tokens=200)
        await executor.call(debited)
        assert bucket.available == pytest.approx(400, abs=1e-6)  # 200 taken, 300 more
        standing = Calling({"prompt": "x" * 400, "max_tokens": 100})
        await executor.call(standing)
        assert standing.estimated_tokens == 200  # 400 chars / 4 + 100 output
        assert bucket.available == pytest.approx(200, abs=1e-6)
        assert executor.tokens_in_flight == 0


async def test_token_limit_delays_admission(autojump_clock: trio.abc.Clock):
    backend = ScriptedBackend()
    executor = Executor(
        backend,
        limit_requests=100,
        limit_tokens=600,
        capacity_refresh_time=60,
        admission_policy=BURST,
    )
    async with running(executor), trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(executor.call, Calling(estimated_tokens=500))
    times = [at for _, at in backend.started]
    assert times == pytest.approx([0.0, 40.0, 90.0])


async def test_oversize_request_fails_at_once():
    bus: Broadcast[LifecycleEvent] = Broadcast()
    with bus.subscribe() as sub:
        executor = Executor(NoopBackend(), limit_tokens=100, broadcast=bus)
        async with running(executor):
            calling = Calling(estimated_tokens=101)
            with pytest.raises(OversizeRequest):
                await executor.submit(calling)
            assert calling.status is CallingStatus.FAILED
            with pytest.raises(OversizeRequest):
                await calling.wait()
        assert [type(e) for e in drain(sub)] == [CallingFailed]


async def test_backend_failure_fails_the_calling():
    executor = Executor(ScriptedBackend())
    async with running(executor):
        calling = Calling({"fail": True})
        with pytest.raises(BackendError):
            await executor.call(calling)
        assert calling.status is CallingStatus.FAILED
        assert await executor.call(Calling()) == "ok"  # the executor lives on


async def test_timeout_while_queued_fires_on_time(autojump_clock: trio.abc.Clock):
    bus: Broadcast[LifecycleEvent] = Broadcast()
    executor = Executor(
        ScriptedBackend(), limit_requests=1, capacity_refresh_time=10.0, broadcast=bus
    )
    with bus.subscribe() as sub:
        async with running(executor):
            await executor.call(Calling())  # empties the bucket for 10 s
            blocked = Calling()  # will be admitted at t=10
            await executor.submit(blocked)
            late = Calling(timeout=3.0)
            start = trio.current_time()
            with pytest.raises(CallingTimeoutError):
                await executor.call(late)
            assert trio.current_time() - start == pytest.approx(3.0)
            await blocked.wait()
        assert any(isinstance(e, CallingTimedOut) for e in drain(sub))
    assert late.attempts == 0


async def test_timeout_while_admitting_and_while_running(autojump_clock: trio.abc.Clock):
    executor = Executor(ScriptedBackend(), limit_requests=1, capacity_refresh_time=10.0)
    async with running(executor):
        await executor.call(Calling())
        admitting = Calling(timeout=2.0)
        with pytest.raises(CallingTimeoutError):
            await executor.call(admitting)
        assert admitting.attempts == 0
        await trio.sleep(10)
        slow = Calling({"sleep": 100}, timeout=5.0)
        start = trio.current_time()
        with pytest.raises(CallingTimeoutError):
            await executor.call(slow)
        assert trio.current_time() - start == pytest.approx(5.0)
        # The timed-out admission took nothing, so the refilled request was there at once.
        assert slow.started_at == start
        assert slow.attempts == 1
        assert executor.in_flight == 0


async def test_cancelling_the_caller_cancels_the_call_and_frees_everything(
    autojump_clock: trio.abc.Clock,
):
    bus: Broadcast[LifecycleEvent] = Broadcast()
    backend = ScriptedBackend()
    executor = Executor(
        backend,
        limit_tokens=1000,
        concurrency_limit=1,
        broadcast=bus,
        capacity_refresh_time=60,
        admission_policy=BURST,
    )
    with bus.subscribe() as sub:
        async with running(executor):
            calling = Calling({"sleep": 100, "usage": 30}, estimated_tokens=300)
            with trio.move_on_after(1.0):
                await executor.call(calling)
            # By the time the caller saw Cancelled, everything was settled.
            assert calling.status is CallingStatus.CANCELLED
            assert executor.in_flight == 0
            assert executor.tokens_in_flight == 0
            assert backend.running == 0
            assert executor.tokens_limiter is not None
            bucket = executor.tokens_limiter.ceiling
            assert isinstance(bucket, TokenBucket)
            assert bucket.available == pytest.approx(970 + 1000 / 60, abs=1e-6)
            # The slot is free again: the next call runs at once.
            start = trio.current_time()
            await executor.call(Calling())
            assert trio.current_time() == start
        with pytest.raises(CallingCancelledError):
            await calling.wait()
        assert CallingCancelled in [type(e) for e in drain(sub)]


async def test_cancel_of_a_queued_calling_is_immediate(autojump_clock: trio.abc.Clock):
    executor = Executor(ScriptedBackend(), concurrency_limit=1)
    async with running(executor):
        first = Calling({"sleep": 10})
        second = Calling()
        third = Calling()
        for calling in (first, second, third):
            await executor.submit(calling)
        await trio.sleep(1)
        assert executor.queued == 1  # second is being admitted, third waits in the queue
        third.cancel()
        assert third.status is CallingStatus.CANCELLED
        second.cancel()  # waiting for the slot: its scope is cancelled
        await second.wait_finished()
        assert second.status is CallingStatus.CANCELLED
        assert await first.wait() == "ok"
        assert executor.queued == 0
        with pytest.raises(CallingStateError):
            await executor.submit(third)


async def test_submit_nowait_raises_queue_full(autojump_clock: trio.abc.Clock):
    executor = Executor(ScriptedBackend(), concurrency_limit=1, queue_capacity=2)
    async with running(executor):
        await executor.submit(Calling({"sleep": 5}))
        await trio.sleep(0.1)  # running, holding the only slot
        executor.submit_nowait(Calling())  # taken for admission, waits for the slot
        await trio.sleep(0.1)
        executor.submit_nowait(Calling())
        executor.submit_nowait(Calling())
        with pytest.raises(QueueFull):
            executor.submit_nowait(Calling())
        waiting = Calling()
        with trio.move_on_after(1):
            await executor.submit(waiting)  # full: waits, then gives up
        assert waiting.status is CallingStatus.PENDING  # cancelled means not queued
        await executor.submit(waiting)  # waits for room this time
        assert trio.current_time() == pytest.approx(5.0)
        assert await waiting.wait() == "ok"


async def test_retry_after_pauses_admission(autojump_clock: trio.abc.Clock):
    bus: Broadcast[LifecycleEvent] = Broadcast()
    backend = ScriptedBackend()
    executor = Executor(backend, broadcast=bus)
    with bus.subscribe() as sub:
        async with running(executor):
            executor.observe(RateLimitState(retry_after=4.0))
            executor.observe(RateLimitState(retry_after=1.0))  # ends sooner: ignored
            await executor.call(Calling())
            executor.observe(RateLimitState(retry_after=0.0))
            await executor.call(Calling())
        assert [at for _, at in backend.started] == pytest.approx([4.0, 4.0])
        assert [type(e) for e in drain(sub)].count(ExecutorPaused) == 1


async def test_observe_lowers_the_buckets(autojump_clock: trio.abc.Clock):
    backend = ScriptedBackend()
    executor = Executor(backend, limit_requests=60, capacity_refresh_time=60)
    async with running(executor):
        executor.observe(RateLimitState(remaining_requests=0))
        await executor.call(Calling())
    assert backend.started[0][1] == pytest.approx(1.0)


async def test_cancelling_the_executor_aborts_what_it_holds(autojump_clock: trio.abc.Clock):
    bus: Broadcast[LifecycleEvent] = Broadcast()
    executor = Executor(ScriptedBackend(), concurrency_limit=1, broadcast=bus)
    callings = [Calling({"sleep": 10}) for _ in range(4)]
    with bus.subscribe() as sub:
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            for calling in callings:
                await executor.submit(calling)
            await trio.sleep(1)
            nursery.cancel_scope.cancel()
        aborted = [e for e in drain(sub) if isinstance(e, CallingAborted)]
    assert all(c.status is CallingStatus.ABORTED for c in callings)
    assert len(aborted) == 4
    for calling in callings:
        with pytest.raises(CallingAbortedError):
            await calling.wait()
    with pytest.raises(ActorStopped):
        await executor.submit(Calling())


@pytest.mark.parametrize("how", ["cancelled", "stopped"])
async def test_a_submit_waiting_for_room_wakes_when_the_executor_ends(
    how: str, autojump_clock: trio.abc.Clock
):
    # fixed here: it waited forever on the queue room of a run that had ended (and a
    # later run made fresh room), so its caller and the Calling's waiters hung
    executor = Executor(ScriptedBackend(), concurrency_limit=1, queue_capacity=1)
    refused: list[CallingStatus] = []
    waiting = Calling()

    async def submit() -> None:
        with pytest.raises(ActorStopped):
            await executor.submit(waiting)
        refused.append(waiting.status)

    async with trio.open_nursery() as host:
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            for _ in range(3):  # running, waiting for the slot, queued: the queue is full
                executor.submit_nowait(Calling({"sleep": 100}))
                await trio.sleep(0.1)
            host.start_soon(submit)
            await trio.sleep(1)
            assert refused == []  # waiting for room
            if how == "cancelled":
                nursery.cancel_scope.cancel()
            else:
                executor.ref.stop()
        await trio.testing.wait_all_tasks_blocked()
        assert refused == [CallingStatus.PENDING]  # not queued: free to go elsewhere
        async with trio.open_nursery() as nursery:  # a later run accepts it
            await nursery.start(executor.run)
            assert await executor.call(waiting) == "ok"
            executor.ref.stop()


async def test_graceful_stop_runs_what_was_queued(autojump_clock: trio.abc.Clock):
    executor = Executor(ScriptedBackend(), concurrency_limit=1)
    callings = [Calling({"sleep": 1}) for _ in range(3)]
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for calling in callings:
            await executor.submit(calling)
        executor.ref.stop()
    assert all(c.status is CallingStatus.COMPLETED for c in callings)
    assert trio.current_time() == pytest.approx(3.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit_requests": 0},
        {"limit_tokens": -5},
        {"capacity_refresh_time": 0},
        {"queue_capacity": 0},
        {"concurrency_limit": 0},
    ],
)
def test_rejects_bad_configuration(kwargs: dict[str, float]):
    with pytest.raises(ConfigError):
        Executor(NoopBackend(), **kwargs)  # type: ignore[arg-type]


async def test_a_request_waiting_for_tokens_does_not_let_requests_burst(
    autojump_clock: trio.abc.Clock,
):
    # B holds no request while it waits a full period for tokens; had it held one, the
    # request bucket would refill behind it and B, C and D would all start at t=1.
    backend = ScriptedBackend()
    executor = Executor(
        backend,
        limit_requests=2,
        limit_tokens=100,
        capacity_refresh_time=1.0,
        token_estimator=lambda payload: payload["tokens"],
        admission_policy=BURST,
    )
    callings = [Calling({"tokens": n}) for n in (100, 100, 0, 0)]
    async with running(executor):
        for calling in callings:
            await executor.submit(calling)
        for calling in callings:
            await calling.wait()
    assert [at for _, at in backend.started] == pytest.approx([0.0, 1.0, 1.0, 1.5])


async def test_queue_room_is_free_as_soon_as_its_callings_left_the_queue() -> None:
    # Callings admitted ahead of their mailbox message (the executor starts what can start
    # at once) must not hold queue room until the actor reads that message: a full queue
    # whose Callings all finished takes a full queue again, without waiting.
    size = 1_000
    async with running(Executor(NoopBackend(), queue_capacity=size)) as executor:
        for _ in range(3):
            batch = [Calling({"n": i}) for i in range(size)]
            for calling in batch:
                executor.submit_nowait(calling)
            await batch[-1].wait_finished()  # FIFO: the last to finish, then at once...
            assert all(c.status is CallingStatus.COMPLETED for c in batch)
            assert executor.queued == 0  # ...the queue is empty, so it has all its room


async def test_a_calling_cancelled_in_the_queue_frees_its_room_at_once(autojump_clock) -> None:
    async with running(Executor(NoopBackend(), queue_capacity=2)) as executor:
        executor.pause(60.0)  # nothing is admitted: both stay queued
        first, second = Calling({"n": 1}), Calling({"n": 2})
        executor.submit_nowait(first)
        executor.submit_nowait(second)
        with pytest.raises(QueueFull):
            executor.submit_nowait(Calling({"n": 3}))
        first.cancel()
        assert first.status is CallingStatus.CANCELLED
        third = Calling({"n": 3})
        executor.submit_nowait(third)  # the cancelled one's room, while still paused
        assert executor.queued == 2
        await third.wait_finished()
        assert second.status is third.status is CallingStatus.COMPLETED


class _CustomLimiter:
    """A Limiter that is not a TokenBucket (as a shared or third-party limiter would be)."""

    def __init__(self, capacity: float) -> None:
        self._inner = TokenBucket(capacity, 60.0, unit="tokens")

    @property
    def capacity(self) -> float:
        return self._inner.capacity

    async def acquire(self, n: float = 1) -> None:
        await self._inner.acquire(n)

    def try_acquire(self, n: float = 1) -> bool:
        return self._inner.try_acquire(n)

    def refund(self, n: float) -> None:
        self._inner.refund(n)

    def debit(self, n: float) -> None:
        self._inner.debit(n)

    def observe(self, state: RateLimitState) -> None:
        self._inner.observe(state)


async def test_any_limiter_refuses_an_oversize_calling_before_queueing_it() -> None:
    # The fast failure reads the Limiter protocol's capacity, not a TokenBucket special case.
    limiter = _CustomLimiter(100)
    async with running(Executor(NoopBackend(), limit_tokens=limiter)) as executor:
        calling = Calling({"messages": []}, estimated_tokens=500)
        with pytest.raises(OversizeRequest):
            executor.submit_nowait(calling)
        assert calling.status is CallingStatus.FAILED
        assert executor.queued == 0
        fits = Calling({"messages": []}, estimated_tokens=50)
        assert await executor.call(fits) == {"messages": []}  # the backend echoes it
