"""Four worker processes share one RedisLimiter against a provider with server-side limits.

The fake provider runs in its own process on a Trio clock ten times faster than real
time, so its one-minute rate window lasts six real seconds, and the shared limiter is
configured for the same rate in real seconds (Redis TIME is real time).
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from .redis_server import ROOT, RedisServer, redis_binary

pytest.importorskip("coredis")

RPM = 120  # server-side: 120 requests per (fast) minute, i.e. 20 a real second
SPEED = 10.0
WORKERS = 4
PER_WORKER = 60


@pytest.fixture(scope="module")
def redis_port() -> Iterator[int]:
    binary = redis_binary()
    server = RedisServer(binary)
    server.start()
    yield server.port
    server.stop()


def _module(*args: str) -> list[str]:
    return [sys.executable, "-m", "tests.limits.redis_server", *args]


def test_four_processes_share_one_limit_without_a_429(redis_port: int) -> None:
    provider = subprocess.Popen(
        _module("provider", "--rpm", str(RPM), "--speed", str(SPEED)),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert provider.stdin is not None and provider.stdout is not None
    try:
        provider_port = int(provider.stdout.readline())
        # The same rate in real seconds; the burst 5 short of the provider's, a margin for
        # the latency between a grant in Redis and the request's arrival (250 ms here).
        rate = RPM / (60 / SPEED)
        capacity = RPM - 5
        key = f"test:{uuid.uuid4().hex}"
        workers = [
            subprocess.Popen(
                _module(
                    "worker",
                    "--redis-port",
                    str(redis_port),
                    "--provider-port",
                    str(provider_port),
                    "--key",
                    key,
                    "--capacity",
                    str(capacity),
                    "--period",
                    str(capacity / rate),
                    "--count",
                    str(PER_WORKER),
                ),
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        statuses: dict[str, int] = {}
        for worker in workers:
            out, _ = worker.communicate(timeout=60)
            assert worker.returncode == 0
            for status, count in json.loads(out).items():
                statuses[status] = statuses.get(status, 0) + count
    finally:
        out, _ = provider.communicate("", timeout=30)
    stats = json.loads(out.splitlines()[-1])
    assert statuses == {"200": WORKERS * PER_WORKER}
    assert stats["rate_limited"] == 0
    # What the provider allowed over the run: its full burst plus its refill over the
    # span of admissions (provider seconds). The processes together got >= 95% of it.
    span = stats["last_admission"] - stats["first_admission"]
    allowed = RPM + RPM / 60 * span
    achieved = stats["admitted"] / allowed
    print(f"admitted {stats['admitted']} of {allowed:.1f} allowed: {achieved:.3f}")
    assert 0.95 <= achieved <= 1.0, (stats, achieved)
