"""iModel: what the model layer (hooks pipeline, events, options) costs per call.

Baselines are measured in the same run: a bare ``Executor.call`` for the started model
(same actor, same queue) and a bare ``backend.execute`` for the inline path. Each
measurement is the best of a few repeats. Targets: a started model's concurrent
throughput is at least 0.7x the bare Executor's; the 1,000-concurrent run completes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from benchmarks._report import record
from callboard.calling import Calling
from callboard.executor import Executor
from callboard.imodel import HookPhase, HookRegistry, iModel

CALLS = 2_000
CONCURRENT = 1_000
REPEATS = 3
STARTED_TARGET = 0.7


class Noop:
    async def execute(self, calling: Calling) -> Any:
        await trio.lowlevel.checkpoint()
        return calling.payload


async def best_of(run: Callable[[], Awaitable[float]]) -> float:
    return min([await run() for _ in range(REPEATS)])


async def bare_execute() -> float:
    backend = Noop()
    start = time.perf_counter()
    for i in range(CALLS):
        await backend.execute(Calling({"i": i}))
    return time.perf_counter() - start


async def inline_invokes(model: iModel) -> float:
    start = time.perf_counter()
    for i in range(CALLS):
        await model.invoke(i=i)
    return time.perf_counter() - start


async def concurrent(call: Callable[[int], Awaitable[object]]) -> float:
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(CONCURRENT):
            nursery.start_soon(call, i)
    return time.perf_counter() - start


async def bare_executor_concurrent() -> float:
    executor = Executor(Noop(), limit_requests=1e9, queue_capacity=100)
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)

        async def one(i: int) -> None:
            await executor.call(Calling({"i": i}))

        elapsed = await concurrent(one)
        executor.ref.stop()
    return elapsed


async def model_concurrent(hooks: HookRegistry | None) -> float:
    async with iModel(
        backend=Noop(), limit_requests=1e9, queue_capacity=100, hook_registry=hooks
    ) as model:

        async def one(i: int) -> None:
            await model.invoke(i=i)

        return await concurrent(one)


def _hooks() -> HookRegistry:
    hooks = HookRegistry()
    hooks.register(HookPhase.PreInvocation, lambda calling: None)
    hooks.register(HookPhase.PostInvocation, lambda calling: None)
    hooks.register(HookPhase.AnyEvent, lambda event: None)
    return hooks


async def run() -> None:
    bare = await best_of(bare_execute)
    plain = iModel(backend=Noop())
    limited = iModel(backend=Noop(), limit_requests=1e9, limit_tokens=1e12)
    inline = await best_of(lambda: inline_invokes(plain))
    inline_limited = await best_of(lambda: inline_invokes(limited))
    executor = await best_of(bare_executor_concurrent)
    started = await best_of(lambda: model_concurrent(None))
    started_hooks = await best_of(lambda: model_concurrent(_hooks()))

    us = 1e6 / CALLS
    rows = [
        ("bare backend.execute", bare * us, "µs/call"),
        ("inline invoke, no limits", inline * us, "µs/call"),
        ("inline invoke, request+token buckets", inline_limited * us, "µs/call"),
        ("bare Executor.call x1000 concurrent", CONCURRENT / executor, "calls/s"),
        ("started invoke x1000 concurrent", CONCURRENT / started, "calls/s"),
        ("started invoke x1000, 2 interceptors + observer", CONCURRENT / started_hooks, "calls/s"),
    ]
    for name, value, unit in rows:
        print(f"{name:<50} {value:>12,.1f} {unit}")

    record(
        "inline invoke (no limits)",
        inline * us,
        "µs",
        baseline=bare * us,
        baseline_name="bare backend.execute",
        ratio=inline / bare,
    )
    record(
        "inline invoke (request + token buckets)",
        inline_limited * us,
        "µs",
        baseline=bare * us,
        baseline_name="bare backend.execute",
        ratio=inline_limited / bare,
    )
    ratio = executor / started  # throughput ratio: started rate / executor rate
    record(
        "started invoke, 1,000 concurrent",
        CONCURRENT / started,
        "calls/s",
        baseline=CONCURRENT / executor,
        baseline_name="bare Executor.call",
        ratio=ratio,
        target=f">= {STARTED_TARGET:.2f}x",
        passed=ratio >= STARTED_TARGET,
    )
    record(
        "started invoke with hooks, 1,000 concurrent",
        CONCURRENT / started_hooks,
        "calls/s",
        baseline=CONCURRENT / executor,
        baseline_name="bare Executor.call",
        ratio=executor / started_hooks,
    )


def main() -> None:
    trio.run(run)


if __name__ == "__main__":
    main()
