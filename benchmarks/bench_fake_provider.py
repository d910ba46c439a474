"""Requests per second the fake provider serves: the ceiling of every HTTP benchmark.

A raw httpx2 AsyncClient with 32 connections sends chat completions for a fixed time,
non-streaming and streaming (each stream read to ``[DONE]``). Client and server share one
process and one core, so the figure is a floor of the server's own capacity and the
ceiling any callboard benchmark over this server can reach.
"""

from __future__ import annotations

import time

import httpx2
import trio

from benchmarks._report import record
from callboard.testing import FakeProvider

CONNECTIONS = 32
SECONDS = 3.0
_BODY = {
    "model": "gpt-4o-mini",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "benchmark the fake provider please"}],
}


async def _measure(stream: bool) -> tuple[int, float]:
    body = (
        {**_BODY, "stream": stream, "stream_options": {"include_usage": True}} if stream else _BODY
    )
    done = 0
    async with FakeProvider() as fp:
        limits = httpx2.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        async with httpx2.AsyncClient(
            base_url=fp.base_url, limits=limits, headers={"authorization": "Bearer test-key"}
        ) as client:

            async def worker() -> None:
                nonlocal done
                while True:
                    if stream:
                        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
                            async for _ in r.aiter_bytes():
                                pass
                            assert r.status_code == 200
                    else:
                        r = await client.post("/v1/chat/completions", json=body)
                        assert r.status_code == 200
                    done += 1

            started = time.perf_counter()
            with trio.move_on_after(SECONDS):
                async with trio.open_nursery() as nursery:
                    for _ in range(CONNECTIONS):
                        nursery.start_soon(worker)
            elapsed = time.perf_counter() - started
    return done, elapsed


def main() -> None:
    print(f"fake provider, raw httpx2 client, {CONNECTIONS} connections, {SECONDS:g} s each")
    print(f"{'mode':<14}{'requests':>10}{'req/s':>10}")
    for label, stream in (("non-streaming", False), ("streaming", True)):
        done, elapsed = trio.run(_measure, stream)
        print(f"{label:<14}{done:>10}{done / elapsed:>10.0f}", flush=True)
        record(f"fake provider, raw httpx2, {label}", done / elapsed, "req/s")


if __name__ == "__main__":
    main()
