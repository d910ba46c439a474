"""Property tests of TokenBucket's documented guarantee, on a simulated clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.limits import TokenBucket

TOLERANCE = 1e-6


def run_simulated(program: Callable[[], Awaitable[None]]) -> None:
    trio.run(program, clock=trio.testing.MockClock(autojump_threshold=0))


def assert_window_bound(events: list[tuple[float, float]], capacity: float, period: float):
    """Net amount over every window [a, b] <= capacity + capacity * (b - a) / period.

    The worst window starts and ends at event times, so checking those pairs is exact. A
    window is an interval of time: it holds every event at its start instant, whatever
    order events of one instant happened in (a refund and a grant at the same instant).
    """
    events = sorted(events)
    rate = capacity / period
    for i, (start, _) in enumerate(events):
        if i and events[i - 1][0] == start:
            continue  # the window from this instant started at its first event
        total = 0.0
        for end, amount in events[i:]:
            total += amount
            assert total <= capacity + rate * (end - start) + TOLERANCE * max(1.0, capacity), (
                f"window [{start}, {end}] admitted {total}"
            )


arrivals = st.lists(
    st.tuples(st.floats(0, 20, allow_nan=False), st.integers(0, 100)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(
    capacity=st.integers(1, 100),
    period=st.floats(0.1, 10),
    schedule=arrivals,
)
def test_grants_respect_the_window_bound_and_fifo(
    capacity: int, period: float, schedule: list[tuple[float, int]]
):
    schedule = sorted((at, min(n, capacity)) for at, n in schedule)
    granted: dict[int, float] = {}

    async def program() -> None:
        bucket = TokenBucket(capacity, period)

        async def arrive(index: int, n: int) -> None:
            await bucket.acquire(n)
            granted[index] = trio.current_time()

        async with trio.open_nursery() as nursery:
            for index, (at, n) in enumerate(schedule):
                await trio.sleep_until(at)
                # Arrival order is the order acquire() is entered: start and let it queue.
                nursery.start_soon(arrive, index, n)
                await trio.testing.wait_all_tasks_blocked()

    run_simulated(program)
    assert len(granted) == len(schedule)
    assert_window_bound(
        [(granted[i], float(n)) for i, (_, n) in enumerate(schedule)], capacity, period
    )
    times = [granted[i] for i in range(len(schedule))]
    assert times == sorted(times), "a later arrival was served before an earlier one"
    for i, (at, _) in enumerate(schedule):
        assert granted[i] >= at


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 50),
    period=st.floats(0.1, 10),
    sizes=st.lists(st.integers(1, 50), min_size=20, max_size=80),
)
def test_saturated_bucket_is_fully_used(capacity: int, period: float, sizes: list[int]):
    sizes = [min(n, capacity) for n in sizes]
    finished: list[float] = []

    async def program() -> None:
        bucket = TokenBucket(capacity, period)

        async def take(n: int) -> None:
            await bucket.acquire(n)
            finished.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for n in sizes:
                nursery.start_soon(take, n)
                await trio.testing.wait_all_tasks_blocked()

    run_simulated(program)
    elapsed = max(finished)
    beyond_burst = sum(sizes) - capacity
    if beyond_burst <= 0 or elapsed == 0:
        return
    utilisation = beyond_burst / (elapsed * capacity / period)
    assert utilisation >= 0.97


@settings(max_examples=80, deadline=None)
@given(
    capacity=st.integers(1, 50),
    period=st.floats(0.1, 10),
    ops=st.lists(
        st.tuples(
            st.floats(0, 10, allow_nan=False),
            st.integers(0, 50),
            st.sampled_from(["keep", "refund", "debit", "cancel"]),
            st.floats(0, 1),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_net_bound_with_refunds_debits_and_cancels(
    capacity: int, period: float, ops: list[tuple[float, int, str, float]]
):
    """acquired + debited - refunded obeys the bound whenever the level is not in debt."""
    ledger: list[tuple[float, float]] = []
    checkpoints: list[float] = []

    async def program() -> None:
        bucket = TokenBucket(capacity, period)

        async def one(n: int, action: str, fraction: float) -> None:
            if action == "cancel":
                with trio.move_on_after(fraction):
                    await bucket.acquire(n)
                    ledger.append((trio.current_time(), float(n)))
                return
            await bucket.acquire(n)
            ledger.append((trio.current_time(), float(n)))
            await trio.sleep(fraction)
            if action == "refund":
                bucket.refund(n * fraction)
                ledger.append((trio.current_time(), -n * fraction))
            elif action == "debit":
                # Charge only what is there, so the level never goes into debt.
                extra = max(0.0, min(bucket.available, n * fraction))
                bucket.debit(extra)
                ledger.append((trio.current_time(), extra))
            checkpoints.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for at, n, action, fraction in sorted(ops):
                await trio.sleep_until(at)
                nursery.start_soon(one, min(n, capacity), action, fraction)
                await trio.testing.wait_all_tasks_blocked()
        assert bucket.waiting == 0

    run_simulated(program)
    assert_window_bound(ledger, capacity, period)
