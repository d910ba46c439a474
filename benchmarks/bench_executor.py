"""Executor: its ceiling against a bare loop, and how it scales with queue depth.

Ceiling: Callings per second through an Executor with a no-op backend (no limits, so the
figure is the executor's own cost), beside a bare loop awaiting the same backend for the
same Callings in the same run. Targets: >= 20,000 Callings/s, <= 50 us overhead a call.

Scale: bytes per queued Calling beyond its payload (tracemalloc over 100,000 queued
Callings; target <= 2 KiB), and the cost to dispatch one Calling when the queue holds
10, 10,000 and 100,000 of them (target: flat).
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from typing import Any

import trio

from benchmarks._report import record
from callboard.calling import Calling
from callboard.executor import Executor

CEILING_CALLS = 20_000
REPEATS = 3
RATE_TARGET = 20_000.0
OVERHEAD_TARGET_US = 50.0
MEMORY_CALLINGS = 100_000
MEMORY_TARGET = 2048
DEPTHS = (10, 10_000, 100_000)
FLATNESS_TARGET = 1.5  # deepest / shallowest per-call cost


class NoopBackend:
    async def execute(self, calling: Calling) -> Any:
        await trio.lowlevel.checkpoint()
        return None


def payload(i: int) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"question {i}"}]}


async def bare_loop(callings: list[Calling]) -> float:
    backend = NoopBackend()
    start = time.perf_counter()
    for calling in callings:
        await backend.execute(calling)
    return time.perf_counter() - start


async def through_executor(callings: list[Calling]) -> float:
    executor = Executor(NoopBackend(), queue_capacity=1000)
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for calling in callings:
            await executor.submit(calling)
        executor.ref.stop()  # graceful: returns once every Calling finished
    elapsed = time.perf_counter() - start
    assert all(c.finished for c in callings)
    return elapsed


# Dispatch at depth is measured with the queue really that deep: a concurrency limit keeps
# all but DEPTH_SLOTS Callings waiting in it. Without one, every queued Calling starts at
# once and the figure measures Python's cyclic GC walking that many live tasks instead
# (reported beside it as "all running at once").
DEPTH_SLOTS = 64


async def drain_at_depth(depth: int, rounds: int, slots: int | None = DEPTH_SLOTS) -> float:
    """Seconds per Calling to dispatch ``rounds`` batches queued ``depth`` deep."""
    executor = Executor(NoopBackend(), queue_capacity=depth, concurrency_limit=slots)
    total = 0.0
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        for _ in range(rounds):
            callings = [Calling(payload(i)) for i in range(depth)]
            for calling in callings:  # all queued before the executor runs again
                executor.submit_nowait(calling)
            start = time.perf_counter()
            await callings[-1].wait_finished()
            while executor.in_flight:
                await trio.lowlevel.checkpoint()  # benchmark only: drain stragglers
            total += time.perf_counter() - start
        executor.ref.stop()
    return total / (depth * rounds)


async def memory_per_calling() -> tuple[float, float]:
    """(bytes per queued Calling beyond its payload, bytes per payload)."""
    executor = Executor(NoopBackend(), queue_capacity=MEMORY_CALLINGS)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        executor.pause(3600.0)  # nothing is admitted: everything stays queued
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        payloads = [payload(i) for i in range(MEMORY_CALLINGS)]
        with_payloads = tracemalloc.get_traced_memory()[0]
        callings = [Calling(p, timeout=600.0) for p in payloads]
        for calling in callings:
            executor.submit_nowait(calling)
        queued = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert executor.queued == MEMORY_CALLINGS
        nursery.cancel_scope.cancel()
    return (queued - with_payloads) / MEMORY_CALLINGS, (with_payloads - base) / MEMORY_CALLINGS


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    callings_a = [[Calling(payload(i)) for i in range(CEILING_CALLS)] for _ in range(REPEATS)]
    callings_b = [[Calling(payload(i)) for i in range(CEILING_CALLS)] for _ in range(REPEATS)]
    bares: list[float] = []
    throughs: list[float] = []
    for batch_a, batch_b in zip(callings_a, callings_b, strict=True):  # alternating rounds
        bares.append(trio.run(bare_loop, batch_a))
        throughs.append(trio.run(through_executor, batch_b))
    bare, through = min(bares), min(throughs)
    rate = CEILING_CALLS / through
    overhead_us = (through - bare) / CEILING_CALLS * 1e6
    print(f"ceiling ({CEILING_CALLS:,} callings, no-op backend, best of {REPEATS})")
    print(f"  bare loop          {CEILING_CALLS / bare:>12,.0f} calls/s")
    print(
        f"  through Executor   {rate:>12,.0f} callings/s  "
        f"target >= {RATE_TARGET:,.0f}  {verdict(rate >= RATE_TARGET)}"
    )
    print(
        f"  overhead per call  {overhead_us:>12.1f} us  (executor/bare = {through / bare:.1f}x)  "
        f"target <= {OVERHEAD_TARGET_US:.0f} us  {verdict(overhead_us <= OVERHEAD_TARGET_US)}"
    )
    record(
        "ceiling: callings through an Executor, no-op backend",
        rate,
        "callings/s",
        baseline=CEILING_CALLS / bare,
        baseline_name="bare loop",
        ratio=bare / through,
        target=f">= {RATE_TARGET:,.0f}/s",
        passed=rate >= RATE_TARGET,
    )
    record(
        "ceiling: executor overhead per calling",
        overhead_us,
        "µs",
        target=f"<= {OVERHEAD_TARGET_US:.0f} µs",
        passed=overhead_us <= OVERHEAD_TARGET_US,
    )

    per_calling, per_payload = trio.run(memory_per_calling)
    print(f"scale: memory ({MEMORY_CALLINGS:,} queued callings, timeout set)")
    print(f"  payload alone      {per_payload:>12,.0f} bytes")
    print(
        f"  calling beyond it  {per_calling:>12,.0f} bytes  target <= {MEMORY_TARGET}  "
        f"{verdict(per_calling <= MEMORY_TARGET)}"
    )
    record(
        f"scale: bytes per queued Calling ({MEMORY_CALLINGS:,} queued)",
        per_calling,
        "bytes",
        baseline=per_payload,
        baseline_name="its payload",
        target=f"<= {MEMORY_TARGET} bytes",
        passed=per_calling <= MEMORY_TARGET,
    )

    print("scale: dispatch cost per calling by queue depth")
    costs: dict[int, float] = {}
    for depth in DEPTHS:
        rounds = max(1, 20_000 // depth)
        costs[depth] = min(trio.run(drain_at_depth, depth, rounds) for _ in range(2))
        print(f"  depth {depth:>7,}      {costs[depth] * 1e6:>12.1f} us")
    ratio = costs[DEPTHS[-1]] / costs[DEPTHS[0]]
    print(
        f"  deepest/shallowest {ratio:>12.2f}x  target <= {FLATNESS_TARGET}  "
        f"{verdict(ratio <= FLATNESS_TARGET)}"
    )
    deepest = DEPTHS[-1]
    unlimited = min(trio.run(drain_at_depth, deepest, 1, None) for _ in range(2))
    print(
        f"  depth {deepest:>7,}, all running at once (no concurrency limit): "
        f"{unlimited * 1e6:.1f} us (Python's GC over {deepest:,} live tasks)"
    )
    record(
        f"scale: dispatch cost, {deepest:,} queued, all running at once",
        unlimited * 1e6,
        "µs",
        baseline=costs[DEPTHS[0]] * 1e6,
        baseline_name=f"depth {DEPTHS[0]}, {DEPTH_SLOTS} slots",
        ratio=unlimited / costs[DEPTHS[0]],
    )
    for depth in DEPTHS[1:]:
        record(
            f"scale: dispatch cost at queue depth {depth:,} ({DEPTH_SLOTS} slots)",
            costs[depth] * 1e6,
            "µs",
            baseline=costs[DEPTHS[0]] * 1e6,
            baseline_name=f"depth {DEPTHS[0]}",
            ratio=costs[depth] / costs[DEPTHS[0]],
            target=f"<= {FLATNESS_TARGET}x" if depth == DEPTHS[-1] else None,
            passed=ratio <= FLATNESS_TARGET if depth == DEPTHS[-1] else None,
        )


if __name__ == "__main__":
    main()
