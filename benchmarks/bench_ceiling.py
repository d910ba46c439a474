"""Ceiling: Callings per second through a started iModel with a no-op Tool backend.

Nothing here waits on a network or a limit, so the figure is the cost of callboard's own
path: ``invoke`` builds a Calling, the Executor actor queues, admits and dispatches it,
the pipeline runs (no hooks registered), the Tool checks the arguments and awaits the
function, and every step publishes a lifecycle event on the model's Broadcast. The
baseline awaits the same Tool directly from the same number of caller tasks, in the same
run. Target: >= 20,000 Callings/s.

``bench_executor`` measures the Executor alone (submit without awaiting each call); this
is the path a user's ``await model.invoke(...)`` takes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import trio

from benchmarks._report import record
from callboard.calling import Calling
from callboard.imodel import iModel
from callboard.tools import Tool

CALLS = 20_000
CALLERS = 64
REPEATS = 3
TARGET = 20_000.0


async def noop(i: int) -> int:
    """Return its argument."""
    return i


async def _callers(work: Callable[[int], Awaitable[None]], calls: int) -> float:
    indices = iter(range(calls))

    async def caller() -> None:
        for i in indices:
            await work(i)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(CALLERS):
            nursery.start_soon(caller)
    return time.perf_counter() - start


async def direct_tool() -> float:
    tool = Tool(noop)

    async def work(i: int) -> None:
        await tool.execute(Calling({"i": i}))

    return await _callers(work, CALLS)


async def started_model() -> float:
    model = iModel(backend=Tool(noop), queue_capacity=1000)
    async with model:

        async def work(i: int) -> None:
            calling = await model.invoke(i=i)
            assert calling.response == i

        return await _callers(work, CALLS)


async def inline_model() -> float:
    model = iModel(backend=Tool(noop))

    async def work(i: int) -> None:
        await model.invoke(i=i)

    return await _callers(work, CALLS)


def _timed(runner: Callable[[], Awaitable[float]]) -> tuple[float, float]:
    """(wall seconds the calls took, CPU seconds of the whole run)."""
    cpu = time.process_time()
    wall = trio.run(runner)
    return wall, time.process_time() - cpu


def main() -> None:
    # Alternating rounds: on a shared machine load comes and goes, and each side should
    # see the same. CPU per call is printed beside: it moves less with the load.
    rounds: dict[str, list[tuple[float, float]]] = {"direct": [], "started": [], "inline": []}
    for _ in range(REPEATS):
        rounds["direct"].append(_timed(direct_tool))
        rounds["started"].append(_timed(started_model))
        rounds["inline"].append(_timed(inline_model))
    direct, started, inline = (min(w for w, _ in rounds[k]) for k in rounds)
    cpu_us = {k: min(c for _, c in v) / CALLS * 1e6 for k, v in rounds.items()}
    rate = CALLS / started
    print(f"ceiling: {CALLS:,} calls from {CALLERS} callers, no-op Tool, best of {REPEATS}")
    cpu = {k: f"{v:6.1f} us CPU/call" for k, v in cpu_us.items()}
    print(f"  Tool awaited directly     {CALLS / direct:>10,.0f} calls/s     {cpu['direct']}")
    print(
        f"  started iModel (actors)   {rate:>10,.0f} callings/s  {cpu['started']}  "
        f"target >= {TARGET:,.0f}  {'PASS' if rate >= TARGET else 'MISS'}"
    )
    print(f"  inline iModel (no actors) {CALLS / inline:>10,.0f} callings/s  {cpu['inline']}")
    record(
        "started iModel, no-op Tool, 64 callers",
        rate,
        "callings/s",
        baseline=CALLS / direct,
        baseline_name="Tool awaited directly",
        ratio=direct / started,
        target=f">= {TARGET:,.0f}/s",
        passed=rate >= TARGET,
    )
    record(
        "inline iModel, no-op Tool, 64 callers",
        CALLS / inline,
        "callings/s",
        baseline=CALLS / direct,
        baseline_name="Tool awaited directly",
        ratio=direct / inline,
    )
    record(
        "started iModel, CPU per calling",
        cpu_us["started"],
        "µs",
        baseline=cpu_us["inline"],
        baseline_name="inline iModel",
        ratio=cpu_us["started"] / cpu_us["inline"],
    )


if __name__ == "__main__":
    main()
