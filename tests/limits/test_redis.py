"""RedisLimiter against a real redis-server on a free port (real time: Redis TIME)."""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import trio

from callboard.actors import Broadcast, LifecycleEvent
from callboard.errors import ConfigError
from callboard.limits import (
    Limiter,
    OversizeRequest,
    RateLimitState,
    RedisLimiter,
    RedisLimiterDown,
    RedisLimiterRecovered,
    RedisUnavailable,
)

from .redis_server import RedisServer, redis_binary

coredis = pytest.importorskip("coredis")


def _binary() -> str:
    return redis_binary()


@pytest.fixture(scope="session")
def redis_port() -> Iterator[int]:
    server = RedisServer(_binary())
    server.start()
    yield server.port
    server.stop()


@pytest.fixture
async def client(redis_port: int) -> AsyncIterator[Any]:
    async with coredis.Redis(host="127.0.0.1", port=redis_port) as opened:
        yield opened


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


def _drain(subscription: Any) -> list[LifecycleEvent]:
    events: list[LifecycleEvent] = []
    while True:
        try:
            events.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return events


async def test_is_a_limiter_and_validates(client: Any) -> None:
    limiter = RedisLimiter(client, _key(), 10, 1.0)
    assert isinstance(limiter, Limiter)
    with pytest.raises(OversizeRequest):
        await limiter.acquire(11)
    with pytest.raises(ConfigError):
        await limiter.acquire(-1)
    for kwargs in ({"capacity": 0}, {"refill_period": float("inf")}, {"unit": "bytes"}):
        arguments: dict[str, Any] = {"capacity": 10, "refill_period": 1.0} | kwargs
        with pytest.raises(ConfigError):
            RedisLimiter(client, _key(), **arguments)
    with pytest.raises(ConfigError):
        RedisLimiter(client, "k", 1, 1, on_outage="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RedisLimiter(client, "k", 1, 1, fallback_share=0)


async def test_window_bound_and_fifo_in_one_process(client: Any) -> None:
    # 10 a second with bursts of 10; 30 waiters queued in order.
    limiter = RedisLimiter(client, _key(), 10, 1.0)
    granted: list[tuple[int, float]] = []

    async def take(number: int) -> None:
        await limiter.acquire(1)
        granted.append((number, trio.current_time()))

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for number in range(30):
            nursery.start_soon(take, number)
            await trio.lowlevel.checkpoint()
    assert [number for number, _ in granted] == list(range(30))
    times = [moment - start for _, moment in granted]
    # The burst of 10 at once, then one every 0.1 s: the last at 2.0 s.
    assert times[9] < 0.5
    assert 1.9 <= times[-1] < 2.6
    # Over any window of w seconds at most 10 + 10 w grants (+1 for clock skew between
    # Redis TIME and the trio clock, both real).
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= 10 + 10 * (times[j] - first) + 1


async def test_refund_debit_and_shared_state(client: Any) -> None:
    key = _key()
    first = RedisLimiter(client, key, 10, 1000.0)
    second = RedisLimiter(client, key, 10, 1000.0)  # another process, same key
    await first.acquire(10)
    assert not second.try_acquire(1)  # it has no local credit and cannot ask Redis
    assert await second.flush() == pytest.approx(0, abs=0.1)
    first.refund(4)
    assert first.try_acquire(4)  # refunded credit is usable here at once
    assert not first.try_acquire(1)
    first.refund(5)
    assert await first.flush() == pytest.approx(5, abs=0.1)  # now shared
    await second.acquire(2)
    second.debit(3)  # recorded locally, sent with its next call to Redis
    assert await first.flush() == pytest.approx(3, abs=0.1)
    assert await second.flush() == pytest.approx(0, abs=0.1)
    first.refund(100)  # a refund never lifts the level above the capacity
    assert await first.flush() == pytest.approx(10, abs=0.1)


async def test_observe_lowers_and_pauses_every_process(client: Any) -> None:
    key = _key()
    first = RedisLimiter(client, key, 10, 100.0)
    second = RedisLimiter(client, key, 10, 100.0)
    first.observe(RateLimitState(remaining_requests=3, remaining_tokens=1))
    assert await first.flush() == pytest.approx(3, abs=0.1)
    second.observe(RateLimitState(retry_after=0.5))
    await second.flush()
    start = trio.current_time()
    await first.acquire(1)  # the pause reported to the second holds the first too
    assert 0.45 <= trio.current_time() - start < 1.0


async def test_tokens_unit_reads_token_feedback(client: Any) -> None:
    limiter = RedisLimiter(client, _key(), 1000, 100.0, unit="tokens")
    limiter.observe(RateLimitState(remaining_requests=1, remaining_tokens=250))
    assert await limiter.flush() == pytest.approx(250, abs=1)


async def test_cancelled_waiter_takes_nothing(client: Any) -> None:
    limiter = RedisLimiter(client, _key(), 2, 1000.0)
    await limiter.acquire(2)
    with trio.move_on_after(0.2) as scope:
        await limiter.acquire(1)
    assert scope.cancelled_caught
    assert limiter.waiting == 0
    limiter.refund(1)
    assert await limiter.flush() == pytest.approx(1, abs=0.01)


async def test_script_reloads_after_script_flush(client: Any) -> None:
    limiter = RedisLimiter(client, _key(), 100, 10.0)
    started = trio.current_time()
    await limiter.acquire(1)
    assert limiter.script_loads == 1
    await client.script_flush()
    await limiter.acquire(1)  # NOSCRIPT, load again, retry: the caller sees nothing
    assert limiter.script_loads == 2
    # Both grants were taken; the bucket refills 10 a second (Redis TIME) meanwhile.
    level = await limiter.flush()
    assert 98 - 0.01 <= level <= 98 + 10 * (trio.current_time() - started) + 0.01


# coredis leaves the anyio streams of a connection Redis cut unclosed (ResourceWarning
# when collected): expected when a test stops Redis under an open client.
_CUT_CONNECTIONS = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    server = RedisServer(_binary())
    server.start()
    yield server
    server.stop()
    # coredis drops the anyio streams of a connection Redis cut without closing them;
    # collect them here, where their ResourceWarning is expected, not in a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@_CUT_CONNECTIONS
async def test_outage_fails_closed_then_recovers(own_redis: RedisServer) -> None:
    broadcast: Broadcast[LifecycleEvent] = Broadcast()
    subscription = broadcast.subscribe()
    async with coredis.Redis(host="127.0.0.1", port=own_redis.port) as client:
        limiter = RedisLimiter(
            client, _key(), 100, 10.0, broadcast=broadcast, probe_interval=0.2, timeout=0.5
        )
        await limiter.acquire(1)
        await trio.to_thread.run_sync(own_redis.stop)
        with pytest.raises(RedisUnavailable) as raised:
            await limiter.acquire(1)
        assert limiter.down
        with pytest.raises(RedisUnavailable):
            await limiter.acquire(1)  # before the next probe: refused at once
        [down] = _drain(subscription)
        assert isinstance(down, RedisLimiterDown)
        assert (down.key, down.policy) == (limiter.key, "fail")
        assert raised.value.key == limiter.key
        await trio.to_thread.run_sync(own_redis.start)  # same port, empty: no script
        await trio.sleep(0.25)
        await limiter.acquire(1)
        assert not limiter.down
        assert limiter.script_loads == 2
        [recovered] = _drain(subscription)
        assert isinstance(recovered, RedisLimiterRecovered)
        assert recovered.down_for >= 0.2


@_CUT_CONNECTIONS
async def test_restart_mid_run_falls_back_to_a_local_share(own_redis: RedisServer) -> None:
    broadcast: Broadcast[LifecycleEvent] = Broadcast()
    subscription = broadcast.subscribe()
    async with coredis.Redis(host="127.0.0.1", port=own_redis.port) as client:
        # 20 a second shared by 2 processes: 10 a second each on the local fallback.
        limiter = RedisLimiter(
            client,
            _key(),
            20,
            1.0,
            on_outage="fallback",
            fallback_share=2,
            broadcast=broadcast,
            probe_interval=0.2,
            timeout=0.5,
        )
        grants: list[tuple[float, bool]] = []
        done = trio.Event()

        async def run() -> None:
            while not done.is_set():
                await limiter.acquire(1)
                grants.append((trio.current_time(), limiter.down))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            await trio.sleep(0.5)
            await trio.to_thread.run_sync(own_redis.stop)
            outage_start = trio.current_time()
            await trio.sleep(1.5)
            await trio.to_thread.run_sync(own_redis.start)
            await trio.sleep(1.0)
            done.set()
        events = _drain(subscription)
        assert [type(event) for event in events] == [RedisLimiterDown, RedisLimiterRecovered]
        assert not limiter.down
        # During the outage the local bucket held to 10 a second with a burst of 10.
        during = [t for t, down in grants if down and t > outage_start + 0.1]
        assert during, "no grant on the fallback bucket"
        span = during[-1] - during[0]
        assert len(during) <= 10 + 10 * span + 1
        # After recovery grants come from Redis again (a fresh, full bucket).
        assert any(not down and t > events[1].time for t, down in grants)


async def test_drops_into_the_executor_for_requests_and_tokens(client: Any) -> None:
    from callboard.calling import Calling
    from callboard.executor import Executor
    from tests.backends import ScriptedBackend

    # 5 requests a second; 1000 tokens refilling at only 1 a second, so the 15 calls
    # (100 tokens reserved, 40 used each) fit only if every refund reaches Redis.
    requests = RedisLimiter(client, _key(), 5, 1.0)
    tokens = RedisLimiter(client, _key(), 1000, 1000.0, unit="tokens")
    backend = ScriptedBackend()
    executor = Executor(backend, limit_requests=requests, limit_tokens=tokens)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        async with trio.open_nursery() as callers:
            for _ in range(15):
                callers.start_soon(executor.call, Calling({"usage": 40}, estimated_tokens=100))
        executor.ref.stop()
    times = sorted(at - start for _, at in backend.started)
    assert len(times) == 15
    assert 1.9 <= times[-1] < 3.0  # a burst of 5, then 5 a second
    for i, first in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= 5 + 5 * (times[j] - first) + 1
    assert await tokens.flush() == pytest.approx(1000 - 15 * 40, abs=10)
