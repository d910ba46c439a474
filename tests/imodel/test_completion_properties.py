"""Exactly-once completion, whatever callers and the model's lifecycle do.

Random mixes of calls (some cancelled by their caller after a random delay, some given
as a Calling another task also waits on), failing and slow backends, and the model's
actor tree stopped and started again at random moments, on started and inline models:
every Calling handed over reaches one terminal state, every waiter wakes, every error a
caller sees is typed, and afterwards nothing is left queued, in flight or reserved.
"""

from __future__ import annotations

import math
from typing import Literal

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard import CallboardError, Calling, TokenBucket, iModel

Op = tuple[Literal["call", "sleep", "restart"], float, float]


class Backend:
    """Sleeps ``payload['for']`` seconds, then fails when ``payload['fail']``; counts
    the calls running at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0

    async def execute(self, calling: Calling) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await trio.sleep(calling.payload["for"])
        finally:
            self.running -= 1
        if calling.payload["fail"]:
            raise CallboardError("the backend failed on purpose")
        return calling.payload["n"]


_call = st.tuples(
    st.just("call"),
    st.sampled_from([math.inf, 0.0, 0.5, 2.0]),  # when the caller gives up
    st.sampled_from([0.0, 1.0, 3.0]),  # how long the backend takes
)
ops = st.lists(
    st.one_of(
        _call,
        _call,
        _call,
        st.tuples(st.just("sleep"), st.sampled_from([0.1, 1.0, 4.0]), st.just(0.0)),
        st.tuples(st.just("restart"), st.just(0.0), st.just(0.0)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    started=st.booleans(),
    queue_capacity=st.integers(1, 3),
    concurrency=st.none() | st.integers(1, 3),
    operations=ops,
)
def test_every_calling_finishes_once_and_everything_settles(
    started: bool, queue_capacity: int, concurrency: int | None, operations: list[Op]
) -> None:
    tokens = TokenBucket(1e6, 1e9, unit="tokens")
    backend = Backend()
    model = iModel(
        backend=backend,
        limit_tokens=tokens,
        queue_capacity=queue_capacity,
        concurrency_limit=concurrency,
    )
    callings: list[Calling] = []
    woke: list[str] = []
    untyped: list[BaseException] = []

    async def call(calling: Calling, give_up: float) -> None:
        with trio.move_on_after(give_up):
            try:
                await model.invoke(calling=calling)
            except CallboardError:
                pass
            except Exception as error:  # pragma: no cover - what this test looks for
                untyped.append(error)

    async def waiter(calling: Calling) -> None:
        await calling.wait_finished()
        woke.append(calling.id)

    async def main() -> None:
        # A waiter that never wakes shows as a timeout here, not as a hung test.
        with trio.fail_after(100_000):
            await scenario()

    async def scenario() -> None:
        async with trio.open_nursery() as host:
            if started:
                await host.start(model.run)
            async with trio.open_nursery() as callers:
                for index, (name, first, second) in enumerate(operations):
                    if name == "sleep":
                        await trio.sleep(first)
                    elif name == "restart":
                        if model.is_started:
                            await model.stop()  # aborts what it holds
                        if started:
                            await host.start(model.run)
                    else:
                        calling = await model.create_calling(
                            n=index, fail=index % 5 == 4, max_tokens=10, **{"for": second}
                        )
                        callings.append(calling)
                        callers.start_soon(waiter, calling)
                        callers.start_soon(call, calling, first)
                        await trio.lowlevel.checkpoint()
            await model.stop()
        assert not untyped, untyped
        if concurrency is not None:  # started or inline, the same limit
            assert backend.most <= concurrency
        assert all(calling.finished for calling in callings)
        assert sorted(woke) == sorted(calling.id for calling in callings)
        executor = model.executor
        assert (executor.queued, executor.in_flight, executor.tokens_in_flight) == (0, 0, 0)
        # Settled: what is missing from the bucket is what admitted calls were charged
        # (their reservation: the backend reports no usage), and nobody waits on it.
        assert tokens.waiting == 0
        charged = sum(c.estimated_tokens for c in callings if c.started_at is not None)
        assert 0 <= 1e6 - tokens.available <= charged + 0.01

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
