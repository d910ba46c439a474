"""The headroom strategy over a deployment whose requests a RedisLimiter admits: what
another process took from the shared key shows in this process's routing."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
import trio

from callboard import RedisLimiter, Router, iModel

from ..limits.redis_server import ROOT, RedisServer, redis_binary
from .router_backends import Deployed

coredis = pytest.importorskip("coredis")

CAPACITY = 5
PERIOD = 120.0  # one request back every 24 s: a drained key stays drained for the test


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    server = RedisServer(redis_binary())
    server.start()
    yield server.port
    server.stop()


def _drain_from_another_process(port: int, key: str) -> None:
    command = [sys.executable, "-m", "tests.registry.redis_peer", str(port), key]
    command += [str(CAPACITY), str(PERIOD), str(CAPACITY)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == str(CAPACITY), done.stderr


async def _route(port: int, key: str, calls: int) -> list[str | None]:
    async with coredis.Redis(host="127.0.0.1", port=port) as client:
        limiter = RedisLimiter(client, key, CAPACITY, PERIOD)
        shared = iModel(backend=Deployed("shared"), name="shared", limit_requests=limiter)
        local = iModel(backend=Deployed("local"), name="local")
        router = Router("r", [shared, local])  # the headroom strategy; ties go to "shared"
        async with router:
            # This process hears the shared bucket (any acquire that asks Redis does too);
            # it has taken nothing from it itself.
            await limiter.flush()
            with trio.fail_after(20):
                return [(await router.invoke(id=n, timeout=5.0)).deployment for n in range(calls)]


@pytest.mark.parametrize("drained", [True, False], ids=["drained", "fresh"])
def test_headroom_sees_what_another_process_took_from_a_shared_key(
    redis_port: int, drained: bool
) -> None:
    key = f"test:router:{uuid.uuid4().hex}"
    if drained:
        _drain_from_another_process(redis_port, key)
    routed = trio.run(_route, redis_port, key, CAPACITY - 1)
    if drained:  # the other process emptied it: every call goes to the local deployment
        assert routed == ["local"] * (CAPACITY - 1)
    else:  # the key has room: the tie goes to the shared deployment, call after call
        assert routed == ["shared"] * (CAPACITY - 1)


async def _heard(port: int, key: str) -> tuple[float, float, float]:
    async with coredis.Redis(host="127.0.0.1", port=port) as client:
        taker = RedisLimiter(client, key, CAPACITY, PERIOD)
        other = RedisLimiter(client, key, CAPACITY, PERIOD)
        for _ in range(CAPACITY):
            await taker.acquire(1)
        before = other.delay(1)  # it has not asked Redis yet: it knows nothing
        await other.flush()
        after = other.delay(1)
        other.refund(1)  # a unit given back here is there at once
        return before, after, other.delay(1)


def test_delay_is_what_redis_last_said_plus_the_refill(redis_port: int) -> None:
    key = f"test:router:{uuid.uuid4().hex}"
    before, after, refunded = trio.run(_heard, redis_port, key)
    per_unit = PERIOD / CAPACITY
    assert before == 0.0
    assert per_unit * 0.9 < after <= per_unit  # empty: one unit refills in PERIOD/CAPACITY
    assert refunded == 0.0
