"""Helpers for the RedisLimiter tests: a real redis-server, a fast fake provider, workers.

Run as ``python -m tests.limits.redis_server provider|worker ...``: the multi-process test
starts the fake provider and its workers as separate processes through this module.

- ``provider`` serves ``FakeProvider(rpm=...)`` on a Trio clock running ``speed`` times
  faster than real time, so the provider's one-minute window passes in ``60 / speed``
  real seconds. It prints its port, serves until stdin closes, then prints its stats as
  JSON.
- ``worker`` sends ``count`` chat requests, each admitted by one shared RedisLimiter,
  and prints a JSON count of the HTTP statuses it got.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import attrs
import pytest
import trio

ROOT = Path(__file__).parents[2]


def redis_binary() -> str:
    """The redis-server executable; skips the calling test where there is none.

    A developer's machine may lack it (``apt-get install redis-server``), and the README's
    test command must still pass there. CI (``CI`` set) installs it in ``.ci/run``, so there
    a missing binary is a failure, never a silent skip.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must run the Redis tests")
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on loopback: no persistence, stoppable and restartable."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = free_port() if port is None else port
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        # Block on its log until it says it is ready: no connection polling.
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                return
        raise RuntimeError(f"redis-server on port {self.port} exited before it was ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
            self.process = None


@attrs.define
class FastClock(trio.abc.Clock):
    """A Trio clock running ``speed`` times faster than real time (for the provider)."""

    speed: float
    start: float = 0.0

    def start_clock(self) -> None:
        self.start = time.perf_counter()

    def current_time(self) -> float:
        return (time.perf_counter() - self.start) * self.speed

    def deadline_to_sleep_time(self, deadline: float) -> float:
        return max(0.0, (deadline - self.current_time()) / self.speed)


async def _provider(rpm: int) -> None:
    from callboard.testing import FakeProvider

    async with FakeProvider(rpm=rpm) as fp:
        print(fp.port, flush=True)
        # Serve until the test closes our stdin.
        await trio.to_thread.run_sync(sys.stdin.read)
        stats = fp.stats
        print(json.dumps(attrs.asdict(stats)), flush=True)


async def _worker(
    redis_port: int, provider_port: int, key: str, capacity: float, period: float, count: int
) -> None:
    import coredis
    import httpx2

    from callboard.limits import RedisLimiter

    statuses: Counter[int] = Counter()
    async with (
        coredis.Redis(host="127.0.0.1", port=redis_port) as client,
        httpx2.AsyncClient(base_url=f"http://127.0.0.1:{provider_port}", timeout=30) as http,
    ):
        limiter = RedisLimiter(client, key, capacity, period)
        send, receive = trio.open_memory_channel[int](count)
        for number in range(count):
            send.send_nowait(number)
        send.close()

        async def sender() -> None:
            async for _ in receive:
                await limiter.acquire(1)
                response = await http.post(
                    "/v1/chat/completions",
                    headers={"authorization": "Bearer test-key"},
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [{"role": "user", "content": "hi"}],
                        "max_tokens": 8,
                    },
                )
                statuses[response.status_code] += 1

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(sender)
    print(json.dumps(dict(statuses)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    provider = sub.add_parser("provider")
    provider.add_argument("--rpm", type=int, required=True)
    provider.add_argument("--speed", type=float, required=True)
    worker = sub.add_parser("worker")
    worker.add_argument("--redis-port", type=int, required=True)
    worker.add_argument("--provider-port", type=int, required=True)
    worker.add_argument("--key", required=True)
    worker.add_argument("--capacity", type=float, required=True)
    worker.add_argument("--period", type=float, required=True)
    worker.add_argument("--count", type=int, required=True)
    args = parser.parse_args()
    if args.role == "provider":
        trio.run(_provider, args.rpm, clock=FastClock(args.speed))
    else:
        trio.run(
            _worker,
            args.redis_port,
            args.provider_port,
            args.key,
            args.capacity,
            args.period,
            args.count,
        )


if __name__ == "__main__":
    main()
