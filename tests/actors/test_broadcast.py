from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard.actors import Broadcast, BroadcastClosed, Lagged, LifecycleEvent
from callboard.errors import CallboardError, ConfigError


def test_publish_reaches_every_subscriber_in_order() -> None:
    bus: Broadcast[int] = Broadcast()
    first, second = bus.subscribe(), bus.subscribe()
    for i in range(3):
        bus.publish(i)
    assert [first.receive_nowait() for _ in range(3)] == [0, 1, 2]
    assert [second.receive_nowait() for _ in range(3)] == [0, 1, 2]
    assert bus.published == 3
    assert bus.subscriber_count == 2


def test_subscriber_sees_only_events_after_subscribing() -> None:
    bus: Broadcast[str] = Broadcast()
    bus.publish("before")
    sub = bus.subscribe()
    bus.publish("after")
    assert sub.receive_nowait() == "after"
    with pytest.raises(trio.WouldBlock):
        sub.receive_nowait()


def test_lagging_subscriber_is_told_exactly_how_many_it_missed() -> None:
    bus: Broadcast[int] = Broadcast(buffer_size=3)
    slow = bus.subscribe()
    fast = bus.subscribe(buffer_size=100)
    for i in range(10):
        bus.publish(i)
    with pytest.raises(Lagged) as info:
        slow.receive_nowait()
    assert info.value.missed == 7
    assert isinstance(info.value, CallboardError)
    assert [slow.receive_nowait() for _ in range(3)] == [7, 8, 9]
    # the gap is reported once; the fast subscriber never lagged
    with pytest.raises(trio.WouldBlock):
        slow.receive_nowait()
    assert [fast.receive_nowait() for _ in range(10)] == list(range(10))
    assert slow.missed_total == 7


async def test_iteration_continues_after_lagged_and_ends_on_close() -> None:
    bus: Broadcast[int] = Broadcast(buffer_size=2)
    seen: list[int | str] = []
    async with bus.subscribe() as sub:
        for i in range(5):
            bus.publish(i)
        bus.close()
        while True:
            try:
                async for event in sub:
                    seen.append(event)
                break
            except Lagged as lag:
                seen.append(f"lag {lag.missed}")
    assert seen == ["lag 3", 3, 4]


async def test_reader_waiting_wakes_on_publish_and_on_close() -> None:
    bus: Broadcast[int] = Broadcast()
    got: list[int] = []
    finished = trio.Event()

    async def reader() -> None:
        with bus.subscribe() as sub:
            async for event in sub:
                got.append(event)
        finished.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        bus.publish(1)
        await trio.testing.wait_all_tasks_blocked()
        assert got == [1]
        assert not finished.is_set()
        bus.close()
    assert finished.is_set()
    assert bus.subscriber_count == 0


def test_publish_or_subscribe_after_close_raise_typed_error() -> None:
    bus: Broadcast[int] = Broadcast()
    bus.close()
    bus.close()  # idempotent
    with pytest.raises(BroadcastClosed):
        bus.publish(1)
    with pytest.raises(BroadcastClosed):
        bus.subscribe()


def test_closing_one_subscription_leaves_the_others_alone() -> None:
    bus: Broadcast[int] = Broadcast()
    with bus.subscribe() as gone:
        pass
    kept = bus.subscribe()
    bus.publish(5)
    assert kept.receive_nowait() == 5
    with pytest.raises(trio.EndOfChannel):
        gone.receive_nowait()
    assert bus.subscriber_count == 1


async def test_a_crashing_reader_does_not_disturb_another() -> None:
    bus: Broadcast[int] = Broadcast()
    got: list[int] = []

    async def crasher() -> None:
        with bus.subscribe() as sub:
            async for _ in sub:
                raise RuntimeError("observer bug")

    async def good() -> None:
        async with bus.subscribe() as sub:
            async for event in sub:
                got.append(event)

    async with trio.open_nursery() as outer:
        outer.start_soon(good)
        with pytest.RaisesGroup(RuntimeError):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(crasher)
                await trio.testing.wait_all_tasks_blocked()
                bus.publish(1)
                await trio.testing.wait_all_tasks_blocked()
        bus.publish(2)
        bus.close()
    # crasher raised on event 1; the good reader received both events
    assert got == [1, 2]


async def test_cancelled_receive_loses_nothing() -> None:
    bus: Broadcast[int] = Broadcast()
    sub = bus.subscribe()
    with trio.move_on_after(0.01):
        await sub.receive()
    bus.publish(7)
    assert await sub.receive() == 7


@pytest.mark.parametrize("size", [0, -1, 1.5, True])
def test_bad_buffer_size_is_a_config_error(size: int) -> None:
    with pytest.raises(ConfigError, match="buffer_size must be an int >= 1") as info:
        Broadcast(buffer_size=size)
    assert info.value.field == "buffer_size"
    with pytest.raises(ConfigError):
        Broadcast[int]().subscribe(buffer_size=size)


async def test_lifecycle_event_time_comes_from_the_trio_clock(autojump_clock: object) -> None:
    await trio.sleep(12.5)
    event = LifecycleEvent()
    assert event.time == trio.current_time()
    with pytest.raises(AttributeError):
        event.time = 0.0  # type: ignore[misc]
