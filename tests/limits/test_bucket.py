from __future__ import annotations

import math

import pytest
import trio
import trio.testing

from callboard.errors import CallboardError, ConfigError
from callboard.limits import Limiter, OversizeRequest, RateLimitState, TokenBucket


async def test_starts_full_then_waits_exactly_for_the_refill(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 1.0)
    start = trio.current_time()
    await bucket.acquire(10)
    assert trio.current_time() == start
    await bucket.acquire(5)
    assert trio.current_time() - start == pytest.approx(0.5)
    await bucket.acquire(1)
    assert trio.current_time() - start == pytest.approx(0.6)


async def test_oversize_request_fails_at_once():
    bucket = TokenBucket(100, 60.0, unit="tokens")
    with pytest.raises(OversizeRequest) as info:
        await bucket.acquire(101)
    assert isinstance(info.value, CallboardError)
    assert info.value.requested == 101
    assert info.value.capacity == 100
    assert "exceeds" in str(info.value)
    with pytest.raises(OversizeRequest):
        bucket.try_acquire(1000)


@pytest.mark.parametrize(
    ("capacity", "period"),
    [(0, 1.0), (-1, 1.0), (math.inf, 1.0), (10, 0), (10, math.nan), (True, 1.0)],
)
def test_rejects_bad_configuration(capacity: float, period: float):
    with pytest.raises(ConfigError):
        TokenBucket(capacity, period)


async def test_rejects_negative_amounts():
    bucket = TokenBucket(10, 1.0)
    with pytest.raises(ConfigError):
        await bucket.acquire(-1)
    with pytest.raises(ConfigError):
        bucket.refund(-1)
    with pytest.raises(ConfigError):
        bucket.debit(math.nan)


async def test_large_request_is_not_starved_by_small_ones(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 10.0)  # one a second
    await bucket.acquire(10)
    order: list[str] = []

    async def take(name: str, n: float, delay: float) -> None:
        await trio.sleep(delay)
        await bucket.acquire(n)
        order.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(take, "big", 8, 0.0)
        for i in range(5):
            nursery.start_soon(take, f"small{i}", 1, 0.1 * (i + 1))
    assert order == ["big", "small0", "small1", "small2", "small3", "small4"]
    # The big one needed 8 s of refill; the small ones follow one a second.
    assert trio.current_time() == pytest.approx(13.0)


async def test_try_acquire_does_not_jump_the_queue(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 10.0)
    await bucket.acquire(10)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bucket.acquire, 5)
        await trio.sleep(4.5)
        assert bucket.waiting == 1
        assert not bucket.try_acquire(1)  # 4.5 available, but the waiter is first
    assert bucket.try_acquire(0)


async def test_cancelled_waiter_takes_nothing_and_the_next_moves_up(
    autojump_clock: trio.abc.Clock,
):
    granted: list[tuple[str, float]] = []

    async def take(name: str, n: float) -> None:
        await bucket.acquire(n)
        granted.append((name, trio.current_time() - start))

    bucket = TokenBucket(10, 10.0)
    await bucket.acquire(10)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        big = trio.CancelScope()

        async def big_waiter() -> None:
            with big:
                await bucket.acquire(9)
            granted.append(("big", trio.current_time() - start))

        nursery.start_soon(big_waiter)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(take, "small", 2)
        await trio.testing.wait_all_tasks_blocked()
        assert bucket.waiting == 2
        await trio.sleep(1.0)
        big.cancel()
    assert granted[0][0] == "big"  # cancelled: ran past its with-block
    assert granted[1][0] == "small"
    # The small waiter was served as soon as the big one left: 2 tokens at t=2 s.
    assert granted[1][1] == pytest.approx(2.0)
    assert bucket.waiting == 0
    assert bucket.available == pytest.approx(0.0, abs=1e-9)


async def test_refund_wakes_the_head_early_and_never_overfills(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 10.0)
    await bucket.acquire(10)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bucket.acquire, 6)
        await trio.sleep(1.0)
        bucket.refund(5)
    assert trio.current_time() - start == pytest.approx(1.0)
    bucket.refund(1000)
    assert bucket.available == pytest.approx(10.0)


async def test_debit_puts_the_bucket_in_debt(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 10.0)
    await bucket.acquire(10)
    bucket.debit(5)
    assert bucket.available == pytest.approx(-5.0)
    start = trio.current_time()
    await bucket.acquire(1)
    assert trio.current_time() - start == pytest.approx(6.0)


async def test_observe_lowers_but_never_raises(autojump_clock: trio.abc.Clock):
    requests = TokenBucket(60, 60.0)
    tokens = TokenBucket(1000, 60.0, unit="tokens")
    state = RateLimitState(remaining_requests=3, remaining_tokens=5000)
    requests.observe(state)
    tokens.observe(state)
    assert requests.available == pytest.approx(3.0)
    assert tokens.available == pytest.approx(1000.0)  # the provider said more: ignored
    start = trio.current_time()
    await requests.acquire(4)  # 3 there, one more takes a second
    assert trio.current_time() - start == pytest.approx(1.0)


async def test_retry_after_pauses_every_grant(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(10, 1.0)
    start = trio.current_time()
    bucket.observe(RateLimitState(retry_after=2.5))
    assert not bucket.try_acquire(1)
    await bucket.acquire(1)
    assert trio.current_time() - start == pytest.approx(2.5)
    assert bucket.available == pytest.approx(9.0)  # it kept refilling while paused


async def test_pause_extended_while_a_waiter_sleeps(autojump_clock: trio.abc.Clock):
    bucket = TokenBucket(1, 1.0)
    await bucket.acquire(1)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(bucket.acquire, 1)
        await trio.sleep(0.5)
        bucket.observe(RateLimitState(retry_after=3.0))
    assert trio.current_time() - start == pytest.approx(3.5)


def test_token_bucket_is_a_limiter():
    assert isinstance(TokenBucket(1, 1.0), Limiter)


def test_a_bucket_reused_in_a_later_trio_run_does_not_stall() -> None:
    # Every trio.run has a clock of its own origin. A bucket carried from one run into the
    # next must not measure the new clock against the old run's times.
    bucket = TokenBucket(10, 10.0)

    async def drain_late() -> None:
        await trio.sleep(1_000)
        await bucket.acquire(10)
        bucket.observe(RateLimitState(retry_after=30.0))

    trio.run(drain_late, clock=trio.testing.MockClock(autojump_threshold=0))

    async def acquire_early() -> float:
        start = trio.current_time()
        await bucket.acquire(5)
        return trio.current_time() - start

    # The level carries over (empty), the old run's pause and timestamps do not: 5 units
    # refill in 5 s of the new clock, not 1,000+ s.
    waited = trio.run(acquire_early, clock=trio.testing.MockClock(autojump_threshold=0))
    assert waited == pytest.approx(5.0)


async def test_delay_says_how_long_the_bucket_would_hold_an_amount(
    autojump_clock: trio.abc.Clock,
):
    bucket = TokenBucket(10, 10.0)  # 1 a second
    assert bucket.delay(10) == 0.0
    await bucket.acquire(8)
    assert bucket.delay(2) == 0.0
    assert bucket.delay(5) == pytest.approx(3.0)
    await trio.sleep(1.0)
    assert bucket.delay(5) == pytest.approx(2.0)
