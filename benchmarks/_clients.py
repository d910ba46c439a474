"""The clients bench_transport compares, each run in a process of its own.

    python -m benchmarks._clients KIND --port P --calls N --concurrency C

prints one JSON line: calls/s, client CPU ms per call, peak RSS in MB (and, for the
``ttfc-*`` kinds, the median time to first chunk in ms). A process per run keeps the
figures apart: aiohttp runs under asyncio, the rest under trio, and each process's peak
RSS is its own. Every kind sends the same chat request with the same headers; the
``started`` and ``inline`` kinds go through callboard's whole pipeline (iModel, Executor,
Endpoint, request building, response parsing), the raw ones only post and parse JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "benchmark me"}]}
HEADERS = {"authorization": "Bearer test-key", "content-type": "application/json"}
WARMUP = 200


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries that across exec, so a
    client started from a big parent would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(calls: int, run: Callable[[int], float], warmup: int = WARMUP) -> dict[str, float]:
    run(min(warmup, calls))  # connections, imports, caches
    cpu = time.process_time()
    elapsed = run(calls)
    cpu = time.process_time() - cpu
    return {
        "throughput": calls / elapsed,
        "cpu_ms": cpu / calls * 1000,
        "rss_mb": peak_rss_mb(),
    }


async def _workers(concurrency: int, calls: int, one: Callable[[], Awaitable[None]]) -> float:
    import trio

    remaining = calls

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(min(concurrency, calls)):
            nursery.start_soon(worker)
    return time.perf_counter() - start


def httpx(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import httpx2
    import trio

    async def main(n: int) -> float:
        limits = httpx2.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx2.AsyncClient(limits=limits, timeout=None) as client:

            async def one() -> None:
                response = await client.post(url, headers=HEADERS, json=BODY)
                response.json()

            return await _workers(concurrency, n, one)

    return _measure(calls, lambda n: trio.run(main, n))


def aiohttp(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import asyncio

    import aiohttp as aio

    async def main(n: int) -> float:
        connector = aio.TCPConnector(limit=concurrency)
        async with aio.ClientSession(connector=connector) as session:
            remaining = n

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    async with session.post(url, headers=HEADERS, json=BODY) as response:
                        await response.json()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
            return time.perf_counter() - start

    return _measure(calls, lambda n: asyncio.run(main(n)))


def h11_pool(url: str, calls: int, concurrency: int) -> dict[str, float]:
    """A bare keep-alive pool on h11 and trio sockets: the floor for a trio client."""
    import urllib.parse

    import h11
    import trio

    parts = urllib.parse.urlsplit(url)
    host, port, target = parts.hostname or "", parts.port or 80, parts.path
    body = json.dumps(BODY).encode()
    headers = [
        ("host", f"{host}:{port}"),
        *HEADERS.items(),
        ("content-length", str(len(body))),
    ]

    async def main(n: int) -> float:
        idle: list[tuple[trio.SocketStream, h11.Connection]] = []

        async def one() -> None:
            if idle:
                stream, conn = idle.pop()
            else:
                stream, conn = await trio.open_tcp_stream(host, port), h11.Connection(h11.CLIENT)
            data = conn.send(h11.Request(method="POST", target=target, headers=headers))
            data += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
            await stream.send_all(data)
            chunks: list[bytes] = []
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(await stream.receive_some(65536))
                elif isinstance(event, h11.Data):
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
            json.loads(b"".join(chunks))
            conn.start_next_cycle()
            idle.append((stream, conn))

        elapsed = await _workers(concurrency, n, one)
        for stream, _ in idle:
            await stream.aclose()
        return elapsed

    return _measure(calls, lambda n: trio.run(main, n))


def _model(url: str, *, defaults: bool = False) -> Any:
    from callboard import RetryPolicy, iModel

    return iModel(
        provider="openai",
        endpoint="chat",
        base_url=url.removesuffix("/chat/completions"),
        api_key="test-key",
        model="gpt-4o",
        timeout=None,
        retry=RetryPolicy.disabled(),
        **({} if defaults else {"queue_capacity": 10_000}),
    )


def started(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import trio

    # Many callers: iModel's default settings, as a user would have them.
    model = _model(url, defaults=concurrency > 100)
    messages = BODY["messages"]
    figures: dict[str, float] = {}

    async def main() -> None:
        async with model:

            async def one() -> None:
                await model.invoke(messages=messages)

            # Warm up in the same run (the pool is the run's): every caller at once, so
            # the measured calls find their connections open.
            await _workers(concurrency, max(WARMUP, concurrency), one)
            cpu = time.process_time()
            elapsed = await _workers(concurrency, calls, one)
            figures["throughput"] = calls / elapsed
            figures["cpu_ms"] = (time.process_time() - cpu) / calls * 1000

    trio.run(main)
    figures["rss_mb"] = peak_rss_mb()
    return figures


def inline(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import trio

    model = _model(url)
    messages = BODY["messages"]

    async def main(n: int) -> float:
        async def one() -> None:
            await model.invoke(messages=messages)

        return await _workers(concurrency, n, one)

    # One trio run for warm-up and measurement alike, as a program would have it.
    return _measure(calls, lambda n: trio.run(main, n))


def ttfc_httpx(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import httpx2
    import trio

    samples: list[float] = []

    async def main(n: int) -> float:
        async with httpx2.AsyncClient(timeout=None) as client:
            start = time.perf_counter()
            for _ in range(n):
                began = time.perf_counter()
                body = {**BODY, "stream": True}
                async with client.stream("POST", url, headers=HEADERS, json=body) as response:
                    async for event in httpx2.EventSource(response):
                        data: Any = event.json()
                        if data["choices"] and data["choices"][0]["delta"].get("content"):
                            samples.append(time.perf_counter() - began)
                            break
            return time.perf_counter() - start

    figures = _measure(calls, lambda n: trio.run(main, n))
    return {**figures, "ttfc_ms": statistics.median(samples[-calls:]) * 1000}


def ttfc_started(url: str, calls: int, concurrency: int) -> dict[str, float]:
    import trio

    model = _model(url)
    samples: list[float] = []

    async def main(n: int) -> float:
        async with model:
            start = time.perf_counter()
            for _ in range(n):
                began = time.perf_counter()
                async for text in model.invoke_stream(messages=BODY["messages"]):
                    if text:
                        samples.append(time.perf_counter() - began)
                        break
            return time.perf_counter() - start

    figures = _measure(calls, lambda n: trio.run(main, n))
    return {**figures, "ttfc_ms": statistics.median(samples[-calls:]) * 1000}


KINDS: dict[str, Callable[[str, int, int], dict[str, float]]] = {
    "httpx": httpx,
    "aiohttp": aiohttp,
    "h11": h11_pool,
    "started": started,
    "inline": inline,
    "ttfc-httpx": ttfc_httpx,
    "ttfc-started": ttfc_started,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._clients")
    parser.add_argument("kind", choices=sorted(KINDS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/v1/chat/completions"
    figures = KINDS[args.kind](url, args.calls, args.concurrency)
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    sys.exit(main())
