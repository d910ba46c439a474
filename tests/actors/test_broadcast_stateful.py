"""Random publish / subscribe / slow-reader / close sequences against Broadcast's promises.

The checks are not a copy of the implementation: whatever a reader observes (events and
``Lagged(n)`` markers) must be the events published while it was subscribed, in publish
order, with each ``Lagged(n)`` standing for exactly the ``n`` events missing at that
point, and received + missed + still buffered must account for every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from callboard.actors import Broadcast, BroadcastClosed, Lagged, Subscription


@dataclass(eq=False)
class Reader:
    sub: Subscription[int] | None
    size: int
    expected: list[int] = field(default_factory=list[int])  # published while subscribed
    seen: list[int | Lagged] = field(default_factory=list[int | Lagged])
    closed: bool = False

    def check(self, *, adjacent_lags: bool = True) -> None:
        """``adjacent_lags=False``: the reader never yielded between a Lagged and its next
        read, so two reports in a row would mean one gap was reported twice."""
        position = 0
        received = missed = 0
        previous_was_lag = False
        for item in self.seen:
            if isinstance(item, Lagged):
                assert item.missed > 0
                assert adjacent_lags or not previous_was_lag
                position += item.missed
                missed += item.missed
                previous_was_lag = True
            else:
                assert item == self.expected[position]  # publish order, nothing invented
                position += 1
                received += 1
                previous_was_lag = False
        if self.sub is not None and not self.closed:
            pending_lag = self.sub.missed_total - missed
            assert received + missed + pending_lag + len(self.sub) == len(self.expected)
            assert len(self.sub) <= self.size


class BroadcastMachine(RuleBasedStateMachine):
    readers = Bundle("readers")

    def __init__(self) -> None:
        super().__init__()
        self.bus: Broadcast[int] = Broadcast(buffer_size=4)
        self.next_event = 0
        self.all_readers: list[Reader] = []

    @precondition(lambda self: not self.bus.closed)
    @rule(target=readers, size=st.none() | st.integers(1, 6))
    def subscribe(self, size: int | None) -> Reader:
        reader = Reader(self.bus.subscribe(size), size or 4)
        self.all_readers.append(reader)
        return reader

    @precondition(lambda self: self.bus.closed)
    @rule()
    def subscribe_after_close(self) -> None:
        with pytest.raises(BroadcastClosed):
            self.bus.subscribe()

    @precondition(lambda self: not self.bus.closed)
    @rule(count=st.integers(1, 10))
    def publish(self, count: int) -> None:
        for _ in range(count):
            event = self.next_event
            self.next_event += 1
            self.bus.publish(event)
            for reader in self.all_readers:
                if not reader.closed:
                    reader.expected.append(event)

    @rule(reader=readers, count=st.integers(1, 8))
    def read(self, reader: Reader, count: int) -> None:
        for _ in range(count):
            try:
                reader.seen.append(reader.sub.receive_nowait())
            except Lagged as lag:
                reader.seen.append(lag)
            except trio.WouldBlock:
                assert (not reader.closed and not self.bus.closed) or len(reader.sub) == 0
                return
            except trio.EndOfChannel:
                assert reader.closed or self.bus.closed
                return

    @rule(reader=consumes(readers))
    def unsubscribe(self, reader: Reader) -> None:
        reader.sub.close()
        reader.closed = True
        with pytest.raises(trio.EndOfChannel):
            reader.sub.receive_nowait()

    @rule()
    def close_bus(self) -> None:
        self.bus.close()
        with pytest.raises(BroadcastClosed):
            self.bus.publish(-1)

    @invariant()
    def promises_hold(self) -> None:
        for reader in self.all_readers:
            reader.check()
        assert self.bus.published == self.next_event
        if self.bus.closed:
            assert self.bus.subscriber_count == 0
        else:
            assert self.bus.subscriber_count == sum(not r.closed for r in self.all_readers)

    def teardown(self) -> None:
        # a closed bus lets every reader drain what it holds, then ends it
        self.bus.close()
        for reader in self.all_readers:
            while True:
                try:
                    reader.seen.append(reader.sub.receive_nowait())
                except Lagged as lag:
                    reader.seen.append(lag)
                except trio.EndOfChannel:
                    break
            reader.check()
            if not reader.closed:
                assert sum(
                    1 if not isinstance(x, Lagged) else x.missed for x in reader.seen
                ) == len(reader.expected)


BroadcastMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None
)
TestBroadcastMachine = BroadcastMachine.TestCase


@settings(max_examples=50, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 3), min_size=1, max_size=40),
    reader_delays=st.lists(st.integers(0, 5), min_size=1, max_size=40),
    size=st.integers(1, 5),
)
def test_slow_async_readers_see_order_and_exact_misses(
    gaps: list[int], reader_delays: list[int], size: int
) -> None:
    """Publisher and readers run as real trio tasks on a MockClock; readers sleep
    between reads so they lag; closing the bus ends each reader's loop after a drain."""
    bus: Broadcast[int] = Broadcast(buffer_size=size)
    results: list[list[int | Lagged]] = []

    async def reader(sub: Subscription[int], delays: list[int], out: list[int | Lagged]) -> None:
        with sub:
            step = 0
            while True:
                try:
                    async for event in sub:
                        out.append(event)
                        await trio.sleep(delays[step % len(delays)])
                        step += 1
                    return
                except Lagged as lag:
                    out.append(lag)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            for index in range(3):
                out: list[int | Lagged] = []
                results.append(out)
                nursery.start_soon(reader, bus.subscribe(), reader_delays[index:] or [0], out)
            await trio.testing.wait_all_tasks_blocked()
            for event, gap in enumerate(gaps):
                bus.publish(event)
                await trio.sleep(gap)
            bus.close()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    for out in results:
        # the subscription is gone: check order and gap sizes of what the reader saw
        seen = Reader(None, size, expected=list(range(len(gaps))), seen=out, closed=True)
        seen.check(adjacent_lags=False)
        accounted = sum(1 if not isinstance(x, Lagged) else x.missed for x in out)
        assert accounted == len(gaps)
