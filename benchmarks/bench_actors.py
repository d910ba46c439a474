"""Actor layer: ask/tell against a raw Trio ping-pong, and Broadcast fan-out.

Every figure is measured in the same run as its baseline, so the ratios mean something
on a shared, noisy machine; each measurement takes the best of a few repeats.
Target: one ``ask`` round trip costs at most 1.5x a raw memory-channel ping-pong.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import trio
import trio.testing

from benchmarks._report import record
from callboard.actors import Actor, Broadcast, Subscription

ROUNDS = 20_000
REPEATS = 5
ASK_TARGET = 1.5


class Echo(Actor[int]):
    def __init__(self) -> None:
        super().__init__(mailbox_size=64, name="echo")
        self.count = 0

    async def handle(self, message: int) -> int:
        self.count += 1
        return message


async def best_of(run: Callable[[], Awaitable[float]]) -> float:
    return min([await run() for _ in range(REPEATS)])


async def raw_ping_pong(rounds: int) -> float:
    """Seconds for ``rounds`` request/reply pairs over two memory channels."""
    request_send, request_receive = trio.open_memory_channel[int](1)
    reply_send, reply_receive = trio.open_memory_channel[int](1)

    async def pong() -> None:
        async with request_receive, reply_send:
            async for value in request_receive:
                await reply_send.send(value)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pong)
        start = time.perf_counter()
        for i in range(rounds):
            await request_send.send(i)
            await reply_receive.receive()
        elapsed = time.perf_counter() - start
        await request_send.aclose()
    return elapsed


async def actor_asks(rounds: int) -> float:
    actor = Echo()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        start = time.perf_counter()
        for i in range(rounds):
            await ref.ask(i)
        elapsed = time.perf_counter() - start
        ref.stop()
    return elapsed


async def raw_sends(rounds: int) -> float:
    send, receive = trio.open_memory_channel[int](64)
    done = trio.Event()

    async def consume() -> None:
        seen = 0
        async for _ in receive:
            seen += 1
            if seen == rounds:
                done.set()
                return

    async with trio.open_nursery() as nursery:
        nursery.start_soon(consume)
        start = time.perf_counter()
        for i in range(rounds):
            await send.send(i)
        await done.wait()
        return time.perf_counter() - start


async def actor_tells(rounds: int) -> float:
    actor = Echo()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        start = time.perf_counter()
        for i in range(rounds):
            await ref.tell(i)
        await ref.ask(-1)  # everything before it was handled
        elapsed = time.perf_counter() - start
        ref.stop()
    return elapsed


async def fan_out(subscribers: int, events: int) -> float:
    """Seconds to deliver ``events`` to every one of ``subscribers`` reading tasks."""
    bus: Broadcast[int] = Broadcast(buffer_size=events)
    finished = trio.Event()
    remaining = subscribers

    async def reader(sub: Subscription[int]) -> None:
        nonlocal remaining
        with sub:
            async for _ in sub:
                pass
        remaining -= 1
        if remaining == 0:
            finished.set()

    async with trio.open_nursery() as nursery:
        for _ in range(subscribers):
            nursery.start_soon(reader, bus.subscribe())
        await trio.testing.wait_all_tasks_blocked()
        start = time.perf_counter()
        for i in range(events):
            bus.publish(i)
            if i % 64 == 63:
                await trio.lowlevel.checkpoint()  # let readers run, as a real publisher would
        bus.close()
        await finished.wait()
        return time.perf_counter() - start


def publish_cost(subscribers: int, events: int, *, lagging: bool) -> float:
    """Seconds spent inside ``publish`` only (readers drain outside the timed part)."""
    bus: Broadcast[int] = Broadcast(buffer_size=16 if lagging else events)
    subs = [bus.subscribe() for _ in range(subscribers)]
    # fill the buffers first so a lagging subscriber drops on every publish
    for i in range(16 if lagging else 0):
        bus.publish(i)
    start = time.perf_counter()
    for i in range(events):
        bus.publish(i)
    elapsed = time.perf_counter() - start
    assert all(sub.missed_total == (events if lagging else 0) for sub in subs)
    return elapsed


async def measure() -> None:
    raw = await best_of(lambda: raw_ping_pong(ROUNDS))
    ask = await best_of(lambda: actor_asks(ROUNDS))
    ratio = ask / raw
    verdict = "PASS" if ratio <= ASK_TARGET else "MISS"
    print(f"{'measurement':<44}{'per second':>14}{'us each':>10}")
    print(f"{'raw memory-channel ping-pong':<44}{ROUNDS / raw:>14,.0f}{raw / ROUNDS * 1e6:>10.2f}")
    print(f"{'actor ask round trip':<44}{ROUNDS / ask:>14,.0f}{ask / ROUNDS * 1e6:>10.2f}")
    print(f"ask / raw ping-pong = {ratio:.2f}x (target <= {ASK_TARGET}x): {verdict}")
    record(
        "actor ask round trip",
        ask / ROUNDS * 1e6,
        "µs",
        baseline=raw / ROUNDS * 1e6,
        baseline_name="raw memory-channel ping-pong",
        ratio=ratio,
        target=f"<= {ASK_TARGET}x",
        passed=ratio <= ASK_TARGET,
    )

    raw_tell = await best_of(lambda: raw_sends(ROUNDS))
    tell = await best_of(lambda: actor_tells(ROUNDS))
    print(f"{'raw memory-channel send (buffer 64)':<44}{ROUNDS / raw_tell:>14,.0f}")
    print(f"{'actor tell (mailbox 64), handled':<44}{ROUNDS / tell:>14,.0f}")
    print(f"tell / raw send = {tell / raw_tell:.2f}x")
    record(
        "actor tell, handled",
        tell / ROUNDS * 1e6,
        "µs",
        baseline=raw_tell / ROUNDS * 1e6,
        baseline_name="raw memory-channel send",
        ratio=tell / raw_tell,
    )

    print()
    print(f"{'Broadcast fan-out':<44}{'delivered/s':>14}{'events/s':>10}")
    for subscribers in (1, 10, 100):
        events = 20_000 // subscribers * 5 if subscribers > 1 else 50_000
        elapsed = min([await fan_out(subscribers, events) for _ in range(3)])
        delivered = events * subscribers / elapsed
        label = f"  {subscribers} subscriber(s)"
        print(f"{label:<44}{delivered:>14,.0f}{events / elapsed:>10,.0f}")
        record(f"Broadcast fan-out to {subscribers}, delivered", delivered, "events/s")

    print()
    print("publish cost (publisher only), ns per event per subscriber")
    for subscribers in (1, 10, 100):
        events = 200_000 // subscribers
        keeping = min(publish_cost(subscribers, events, lagging=False) for _ in range(3))
        lagging = min(publish_cost(subscribers, events, lagging=True) for _ in range(3))
        per = 1e9 / (events * subscribers)
        print(
            f"  {subscribers:>3} subscriber(s): keeping up {keeping * per:6.1f}  "
            f"lagging {lagging * per:6.1f}  (lagging/keeping {lagging / keeping:.2f}x)"
        )
        record(
            f"publish cost per event per subscriber, {subscribers} lagging",
            lagging * per,
            "ns",
            baseline=keeping * per,
            baseline_name="subscribers keeping up",
            ratio=lagging / keeping,
        )


def main() -> None:
    trio.run(measure)


if __name__ == "__main__":
    main()
