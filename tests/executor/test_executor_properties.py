"""Property tests of the Executor's invariants on a simulated clock (hypothesis)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import trio
import trio.testing
from hypothesis import example, given, settings
from hypothesis import strategies as st

from callboard.actors import ActorStopped, Broadcast, LifecycleEvent
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingStatus,
    CallingTimedOut,
)
from callboard.errors import CallboardError
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy, TokenBucket
from tests.backends import BackendError, ScriptedBackend

TERMINAL_EVENTS = (
    CallingCompleted,
    CallingFailed,
    CallingCancelled,
    CallingTimedOut,
    CallingAborted,
)


def run_simulated(program: Callable[[], Awaitable[None]]) -> None:
    trio.run(program, clock=trio.testing.MockClock(autojump_threshold=0))


def drain(subscription: Any) -> list[LifecycleEvent]:
    out: list[LifecycleEvent] = []
    while True:
        try:
            out.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return out


def assert_window_bound(events: list[tuple[float, float]], capacity: float, period: float):
    """Over every window [a, b]: admitted <= capacity + capacity * (b - a) / period."""
    events = sorted(events)
    rate = capacity / period
    for i, (start, _) in enumerate(events):
        total = 0.0
        for end, amount in events[i:]:
            total += amount
            assert total <= capacity + rate * (end - start) + 1e-6 * capacity, (
                f"[{start}, {end}] admitted {total}"
            )


@settings(max_examples=60, deadline=None)
@example(  # a call waiting for tokens must not hold a request meanwhile (burst at t=1)
    limit_requests=2,
    limit_tokens=100,
    period=1.0,
    arrivals=[(0, 100, 0), (0, 100, 0), (0.5, 0, 0), (0.5, 0, 0)],
)
@given(
    limit_requests=st.integers(1, 20),
    limit_tokens=st.integers(50, 2000),
    period=st.floats(0.5, 60),
    arrivals=st.lists(
        st.tuples(
            st.integers(0, 12).map(lambda k: k / 2),  # shared instants make bursts likely
            st.sampled_from([0, 1, 50, 500, 2000]),
            st.floats(0, 3),
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_admission_obeys_both_limits_in_fifo_order(
    limit_requests: int,
    limit_tokens: int,
    period: float,
    arrivals: list[tuple[float, int, float]],
):
    arrivals = sorted(arrivals)
    backend = ScriptedBackend()
    callings = [
        Calling({"sleep": sleep, "tokens": min(tokens, limit_tokens)})
        for _, tokens, sleep in arrivals
    ]

    async def program() -> None:
        executor = Executor(
            backend,
            limit_requests=limit_requests,
            limit_tokens=limit_tokens,
            capacity_refresh_time=period,
            queue_capacity=8,
            token_estimator=lambda payload: payload["tokens"],
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            async with trio.open_nursery() as callers:
                for (at, _, _), calling in zip(arrivals, callings, strict=True):
                    await trio.sleep_until(at)
                    await executor.submit(calling)  # in arrival order
                    callers.start_soon(calling.wait)
            executor.ref.stop()

    run_simulated(program)
    started = dict(backend.started)
    assert len(started) == len(callings)
    times = [started[c.id] for c in callings]
    assert times == sorted(times), "admission was not FIFO"
    assert_window_bound([(t, 1.0) for t in times], limit_requests, period)
    assert_window_bound(
        [(started[c.id], float(c.estimated_tokens)) for c in callings], limit_tokens, period
    )


@settings(max_examples=40, deadline=None)
@given(
    limit_requests=st.integers(1, 50),
    period=st.floats(0.1, 10),
    count=st.integers(60, 300),
)
def test_saturated_executor_uses_at_least_97_percent_of_the_limit(
    limit_requests: int, period: float, count: int
):
    backend = ScriptedBackend()

    async def program() -> None:
        executor = Executor(
            backend,
            limit_requests=limit_requests,
            capacity_refresh_time=period,
            queue_capacity=10,
            admission_policy=AdmissionPolicy(pacing="burst"),
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            async with trio.open_nursery() as callers:
                for _ in range(count):
                    callers.start_soon(executor.call, Calling())
            executor.ref.stop()

    run_simulated(program)
    times = sorted(at for _, at in backend.started)
    elapsed = times[-1] - times[0]
    beyond_burst = count - limit_requests
    if beyond_burst <= 0 or elapsed == 0:
        return
    assert beyond_burst / (elapsed * limit_requests / period) >= 0.97


operation = st.one_of(
    st.tuples(
        st.just("submit"),
        st.floats(0, 5),  # backend sleep
        st.booleans(),  # backend fails
        st.one_of(st.none(), st.floats(0.1, 8)),  # timeout
        st.integers(0, 300),  # estimated tokens
        st.one_of(st.none(), st.integers(0, 400)),  # reported usage
        # submit(), or call() from a task of its own (run on that task when it can start
        # at once), whose caller may be cancelled after a while
        st.sampled_from(["submit", "call"]),
        st.one_of(st.none(), st.floats(0, 6)),  # the caller's cancel, for call()
    ),
    st.tuples(st.just("cancel"), st.integers(0, 1000)),
    st.tuples(st.just("wait"), st.floats(0, 3)),
)


@settings(max_examples=120, deadline=None)
@given(
    ops=st.lists(operation, min_size=1, max_size=40),
    concurrency=st.integers(1, 4),
    queue_capacity=st.integers(1, 5),
    stop_by_cancel=st.booleans(),
)
def test_random_operations_settle_everything(
    ops: list[tuple[Any, ...]], concurrency: int, queue_capacity: int, stop_by_cancel: bool
):
    """Stateful: random submits and calls, cancels (of Callings and of callers),
    failures, timeouts and waits, then stop.

    Every Calling reaches exactly one terminal state, every waiter wakes, and nothing
    stays in flight: slots, reserved tokens and queue room all return to zero.
    """
    bus: Broadcast[LifecycleEvent] = Broadcast(buffer_size=100_000)
    backend = ScriptedBackend()
    callings: list[Calling] = []
    woke: set[str] = set()
    executor = Executor(
        backend,
        limit_requests=5,
        limit_tokens=500,
        capacity_refresh_time=2.0,
        concurrency_limit=concurrency,
        queue_capacity=queue_capacity,
        broadcast=bus,
    )

    async def waiter(calling: Calling) -> None:
        await calling.wait_finished()
        woke.add(calling.id)

    async def caller(
        calling: Calling, cancel_after: float | None, *, task_status: trio.TaskStatus[None]
    ) -> None:
        with trio.move_on_after(math.inf if cancel_after is None else cancel_after):
            task_status.started()  # no schedule point before call() queues it (or waits)
            try:
                await executor.call(calling)
            except ActorStopped:
                # It stopped while the call waited for queue room: not queued, so still
                # pending, and the caller says what became of it (as iModel does).
                assert calling.status is CallingStatus.PENDING
                calling.abort("the executor stopped before it was queued")
            except (CallboardError, BackendError):
                pass  # its own end: failed, timed out, cancelled, aborted

    async def program() -> None:
        with bus.subscribe() as sub:
            async with trio.open_nursery() as waiters, trio.open_nursery() as outer:
                await outer.start(executor.run)
                for op in ops:
                    if op[0] == "submit":
                        _, sleep, fail, timeout, tokens, usage, how, cancel_after = op
                        payload = {"sleep": sleep, "fail": fail, "usage": usage}
                        calling = Calling(payload, timeout=timeout, estimated_tokens=tokens)
                        callings.append(calling)
                        waiters.start_soon(waiter, calling)
                        if how == "call":
                            await waiters.start(caller, calling, cancel_after)
                        else:
                            await executor.submit(calling)
                    elif op[0] == "cancel" and callings:
                        target = callings[op[1] % len(callings)]
                        if not target.finished:
                            target.cancel()
                    elif op[0] == "wait":
                        await trio.sleep(op[1])
                if stop_by_cancel:
                    outer.cancel_scope.cancel()
                else:
                    executor.ref.stop()
            events = drain(sub)
        terminal = Counter(e.calling_id for e in events if isinstance(e, TERMINAL_EVENTS))  # type: ignore[attr-defined]
        for calling in callings:
            assert calling.finished, calling
            # One terminal event each, but none for a Calling whose caller was
            # cancelled before call() queued it: it never reached the Executor.
            once = 1 if calling.queued_at is not None else 0
            assert terminal[calling.id] == once, (calling, terminal[calling.id])
        queued = [e.calling_id for e in events if isinstance(e, CallingQueued)]
        started = Counter(e.calling_id for e in events if isinstance(e, CallingStarted))
        # A call() waiting for queue room may see its Calling cancelled before it queued.
        assert sorted(queued) == sorted(c.id for c in callings if c.queued_at is not None)
        assert all(count <= 1 for count in started.values())
        assert executor.in_flight == 0
        assert executor.tokens_in_flight == 0
        assert executor.queued == 0
        assert backend.running == 0
        tokens = executor.tokens_limiter
        assert tokens is not None and tokens.waiting == 0
        assert tokens.available <= tokens.burst + 1e-9
        ceiling = tokens.ceiling
        assert isinstance(ceiling, TokenBucket)
        assert ceiling.available <= ceiling.capacity + 1e-9
        assert ceiling.waiting == 0

    run_simulated(program)
    assert woke == {c.id for c in callings}
