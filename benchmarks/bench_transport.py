"""Transport: callboard's whole pipeline against raw clients, server in its own process.

A lean loopback server (``benchmarks/_server.py``, asyncio) runs in a process of its
own; every client runs in a fresh process too (``benchmarks/_clients.py``), so each
row's CPU and peak RSS are that client's alone. Rounds alternate between the clients and
the median round counts.

Rows (issue 15):
- 32 callers, no server latency: callboard started (iModel -> Executor -> Endpoint ->
  the http transport, request building and response parsing included) against raw
  httpx2, raw aiohttp (asyncio; installed in the bench session only) and a bare h11
  keep-alive pool on trio sockets. Targets: started >= 2.0x raw httpx2 (1.5x at the
  least), CPU per call <= 1.5x raw aiohttp's.
- inline (no ``async with``) against started: >= 0.9x.
- 1,000 callers at 1 s server latency, default settings: >= 95% of Little's law
  (1,000 calls/s).
- streaming time to first chunk, started against raw httpx2: overhead <= 0.2 ms.
Every row names its client CPU per 1,000 calls and its peak RSS.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks._report import record

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
CALLS = 3_000
CONCURRENCY = 32
SLOW_CALLERS = 1_000
SLOW_CALLS = 4_000
STREAMS = 300


@contextmanager
def server(latency: float = 0.0) -> Iterator[int]:
    """The loopback server in its own process; yields its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._server", "--latency", str(latency)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def client(kind: str, port: int, calls: int, concurrency: int) -> dict[str, float] | None:
    """One run of one client in a process of its own; ``None`` if it cannot run here."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks._clients",
            kind,
            "--port",
            str(port),
            "--calls",
            str(calls),
            "--concurrency",
            str(concurrency),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if result.returncode != 0:
        if "No module named 'aiohttp'" in result.stderr:
            return None
        raise RuntimeError(f"client {kind} failed: {result.stderr.strip().splitlines()[-1:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def rounds(
    kinds: list[str], port: int, calls: int, concurrency: int
) -> dict[str, dict[str, float]]:
    """Alternating rounds; each kind's median figures (kinds that cannot run are left out)."""
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    for _ in range(ROUNDS):
        for kind in kinds:
            figures = client(kind, port, calls, concurrency)
            if figures is not None:
                runs[kind].append(figures)
    return {
        kind: {key: statistics.median(run[key] for run in found) for key in found[0]}
        for kind, found in runs.items()
        if found
    }


def _where(figures: dict[str, float]) -> str:
    return (
        f"{figures['cpu_ms'] * 1000:,.0f} ms CPU / 1,000 calls, peak RSS {figures['rss_mb']:.0f} MB"
    )


def main() -> None:
    with server() as port:
        fast = rounds(["started", "httpx", "aiohttp", "h11", "inline"], port, CALLS, CONCURRENCY)
        streams = rounds(["ttfc-started", "ttfc-httpx"], port, STREAMS, 1)
    with server(latency=1.0) as port:
        slow = client("started", port, SLOW_CALLS, SLOW_CALLERS)
        slow_raw = client("h11", port, SLOW_CALLS, SLOW_CALLERS)
    assert slow is not None and slow_raw is not None

    started, httpx = fast["started"], fast["httpx"]
    for kind, label in (
        ("started", "callboard started"),
        ("inline", "callboard inline"),
        ("httpx", "raw httpx2"),
        ("aiohttp", "raw aiohttp"),
        ("h11", "raw h11 pool"),
    ):
        if kind in fast:
            figures = fast[kind]
            print(f"{label:18s} {figures['throughput']:8,.0f} calls/s   {_where(figures)}")
    ratio = started["throughput"] / httpx["throughput"]
    record(
        f"started vs raw httpx2, {CONCURRENCY} callers ({_where(started)}; httpx2 {_where(httpx)})",
        started["throughput"],
        "calls/s",
        baseline=httpx["throughput"],
        baseline_name="raw httpx2",
        ratio=ratio,
        target=">= 2.0x (1.5x to land)",
        passed=ratio >= 2.0,
    )
    if "aiohttp" in fast:
        aio = fast["aiohttp"]
        cpu_ratio = started["cpu_ms"] / aio["cpu_ms"]
        record(
            f"CPU per call, started vs raw aiohttp (aiohttp {_where(aio)})",
            started["cpu_ms"] * 1000,
            "µs",
            baseline=aio["cpu_ms"] * 1000,
            baseline_name="raw aiohttp",
            ratio=cpu_ratio,
            target="<= 1.5x",
            passed=cpu_ratio <= 1.5,
        )
        record(
            f"raw aiohttp vs raw httpx2, {CONCURRENCY} callers",
            aio["throughput"],
            "calls/s",
            baseline=httpx["throughput"],
            baseline_name="raw httpx2",
            ratio=aio["throughput"] / httpx["throughput"],
        )
    h11 = fast["h11"]
    record(
        f"raw h11 pool vs raw httpx2, {CONCURRENCY} callers ({_where(h11)})",
        h11["throughput"],
        "calls/s",
        baseline=httpx["throughput"],
        baseline_name="raw httpx2",
        ratio=h11["throughput"] / httpx["throughput"],
    )
    inline = fast["inline"]
    inline_ratio = inline["throughput"] / started["throughput"]
    record(
        f"inline vs started, {CONCURRENCY} callers ({_where(inline)})",
        inline["throughput"],
        "calls/s",
        baseline=started["throughput"],
        baseline_name="callboard started",
        ratio=inline_ratio,
        target=">= 0.90x",
        passed=inline_ratio >= 0.9,
    )
    ideal = SLOW_CALLERS / 1.0
    share = slow["throughput"] / ideal * 100
    print(f"1,000 callers at 1 s: {slow['throughput']:,.0f} calls/s, {share:.1f}% of {ideal:,.0f}")
    raw_share = slow_raw["throughput"] / ideal * 100
    record(
        f"1,000 callers at 1 s latency, default settings ({_where(slow)}; the raw h11 "
        f"pool reached {raw_share:.0f}% on this machine)",
        share,
        "%",
        baseline=100.0,
        baseline_name="Little's law: 1,000 calls/s",
        target=">= 95%",
        passed=share >= 95,
    )
    ours, raw = streams["ttfc-started"], streams["ttfc-httpx"]
    overhead = ours["ttfc_ms"] - raw["ttfc_ms"]
    print(f"first chunk: started {ours['ttfc_ms']:.3f} ms, raw httpx2 {raw['ttfc_ms']:.3f} ms")
    record(
        f"stream first-chunk overhead vs raw httpx2 ({_where(ours)})",
        overhead,
        "ms",
        baseline=raw["ttfc_ms"],
        baseline_name="raw httpx2 first chunk (ms)",
        target="<= 0.2 ms",
        passed=overhead <= 0.2,
    )


if __name__ == "__main__":
    main()
