"""Endpoint: end-to-end throughput and streaming first-chunk latency against raw httpx2.

Throughput: chat calls per second through an Executor (concurrency 32, no rate limits)
and a running Endpoint actor (32 tasks each awaiting ``executor.call`` in turn), against
the fake provider on loopback, beside raw httpx2 (one pooled AsyncClient, 32 tasks
posting the same request) on the same server in the same run. Target: >= 0.90x raw.
The fake provider runs in a process of its own (``benchmarks/_fake_server.py``), so its
CPU is not the client's; the ratio is what the Endpoint's own path costs. Both sides
use the same connection limits and payload, get one unrecorded warm-up round, then
alternate for ROUNDS rounds; each side's best round counts (a busy machine only ever
slows a round down, so the best is the least disturbed measurement of each).

Streaming: time from sending a streamed chat request to its first text delta, through
the Endpoint (request building, SSE decoding, the stream sink) and through raw httpx2
(``EventSource``, first ``data:`` event with content). Target: <= 1 ms overhead.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx2
import trio

from benchmarks._process import serving
from benchmarks._report import record
from callboard.calling import Calling
from callboard.endpoint import match_endpoint
from callboard.executor import Executor
from callboard.providers import StreamDelta
from callboard.resilience import RetryPolicy

CONCURRENCY = 32
CALLS = 1_500
ROUNDS = 5
STREAMS = 60
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "benchmark me"}]}
HEADERS = {"authorization": "Bearer test-key"}


async def _raw_throughput(base_url: str) -> float:
    limits = httpx2.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx2.AsyncClient(limits=limits, timeout=None) as client:
        url = f"{base_url}/v1/chat/completions"
        remaining = CALLS

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                response = await client.post(url, headers=HEADERS, json=BODY)
                response.json()

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(CONCURRENCY):
                nursery.start_soon(worker)
        return CALLS / (time.perf_counter() - start)


async def _endpoint_throughput(base_url: str) -> float:
    endpoint = match_endpoint(
        "openai",
        base_url=f"{base_url}/v1",
        api_key="test-key",
        timeout=None,
        retry=RetryPolicy.disabled(),
    )
    executor = Executor(endpoint, concurrency_limit=CONCURRENCY, queue_capacity=CALLS)
    endpoint.attach(executor)
    async with trio.open_nursery() as nursery:
        await nursery.start(endpoint.run)
        await nursery.start(executor.run)
        remaining = CALLS

        # The same shape as the raw side: 32 callers, each making one call after another.
        # (A single task submitting 1,500 Callings, one scheduler round per submit, kept
        # only ~7 of them in flight on average: it measured the producer, not 32-way
        # concurrency.)
        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await executor.call(Calling(dict(BODY)))

        start = time.perf_counter()
        async with trio.open_nursery() as callers:
            for _ in range(CONCURRENCY):
                callers.start_soon(worker)
        elapsed = time.perf_counter() - start
        executor.ref.stop()
        endpoint.ref.stop()
    return CALLS / elapsed


async def _raw_first_chunk(base_url: str) -> list[float]:
    body = {**BODY, "stream": True}
    samples: list[float] = []
    async with httpx2.AsyncClient(timeout=None) as client:
        url = f"{base_url}/v1/chat/completions"
        for _ in range(STREAMS):
            start = time.perf_counter()
            async with client.stream("POST", url, headers=HEADERS, json=body) as response:
                async for event in httpx2.EventSource(response):
                    data: Any = event.json()
                    if data["choices"] and data["choices"][0]["delta"].get("content"):
                        samples.append(time.perf_counter() - start)
                        break
                await response.aclose()
    return samples


async def _endpoint_first_chunk(base_url: str) -> list[float]:
    endpoint = match_endpoint("openai", base_url=f"{base_url}/v1", api_key="test-key", timeout=None)
    samples: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(endpoint.run)
        for _ in range(STREAMS):
            send, receive = trio.open_memory_channel[StreamDelta](256)
            calling = Calling(dict(BODY), streaming=True, stream_sink=send)
            start = time.perf_counter()
            async with trio.open_nursery() as call:
                call.start_soon(endpoint.execute, calling)
                async for delta in receive:
                    if delta.text:
                        samples.append(time.perf_counter() - start)
                        break
                await receive.aclose()
        endpoint.ref.stop()
    return samples


async def _run(base_url: str) -> dict[str, float]:
    raw: list[float] = []
    ours: list[float] = []
    await _raw_throughput(base_url)  # warm-up: imports, first connections, caches
    await _endpoint_throughput(base_url)
    for _ in range(ROUNDS):  # interleaved, so drift hits both sides alike
        raw.append(await _raw_throughput(base_url))
        ours.append(await _endpoint_throughput(base_url))
    raw_chunk = await _raw_first_chunk(base_url)
    our_chunk = await _endpoint_first_chunk(base_url)
    return {
        "raw": max(raw),
        "ours": max(ours),
        "raw_chunk": statistics.median(raw_chunk),
        "our_chunk": statistics.median(our_chunk),
    }


def main() -> None:
    with serving("benchmarks._fake_server") as base_url:
        figures = trio.run(_run, base_url)
    ratio = figures["ours"] / figures["raw"]
    overhead_ms = (figures["our_chunk"] - figures["raw_chunk"]) * 1000
    print(f"endpoint throughput: {figures['ours']:,.0f} calls/s (32 concurrent)")
    print(f"raw httpx2:          {figures['raw']:,.0f} calls/s   ratio {ratio:.2f}x (>= 0.90)")
    print(
        f"first chunk: endpoint {figures['our_chunk'] * 1000:.2f} ms, raw "
        f"{figures['raw_chunk'] * 1000:.2f} ms, overhead {overhead_ms:.2f} ms (<= 1 ms)"
    )
    record(
        "endpoint throughput, 32 concurrent",
        figures["ours"],
        "calls/s",
        baseline=figures["raw"],
        baseline_name="raw httpx2",
        ratio=ratio,
        target=">= 0.90x",
        passed=ratio >= 0.90,
    )
    record(
        "stream first-chunk overhead",
        overhead_ms,
        "ms",
        baseline=figures["raw_chunk"] * 1000,
        baseline_name="raw httpx2 first chunk (ms)",
        target="<= 1 ms",
        passed=overhead_ms <= 1.0,
    )


if __name__ == "__main__":
    main()
