"""The live display of ``callboard bench`` shows the truth: on a fake clock, every redraw
shows exactly what was published up to that instant, at a fixed rate, with the real
rate; cancelled calls are not failures; the lines fit a terminal."""

from __future__ import annotations

import io
import re

import pytest
import trio

from callboard.actors import Broadcast, LifecycleEvent
from callboard.calling import (
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
)
from callboard.cli._progress import ProgressDisplay, progress_lines, sparkline
from callboard.cli._stats import BenchStats
from callboard.cli._ticker import TICK, Ticker
from callboard.cli._timeline import BenchProgress, Timeline

RATE = 300.0  # calls per second the fake run completes
LATENCY = 0.05
SECONDS = 8.0
OFFSET = 0.00123  # no event falls on a tick: which of two tasks runs first would not matter


async def _produce(buses: list[Broadcast[LifecycleEvent]], calls: int) -> list[float]:
    """Publish ``calls`` calls, ``RATE`` a second, each done ``LATENCY`` after it
    started, round-robin over ``buses``; returns the completion times."""
    done_at: list[float] = []

    async def one(index: int) -> None:
        bus = buses[index % len(buses)]
        cid = f"c{index}"
        await trio.sleep_until(OFFSET + index / RATE)
        now = trio.current_time()
        bus.publish(CallingQueued(time=now, executor="e", calling_id=cid, queued=1))
        bus.publish(
            CallingStarted(time=now, executor="e", calling_id=cid, attempt=1, estimated_tokens=5)
        )
        await trio.sleep(LATENCY)
        now = trio.current_time()
        done_at.append(now)
        bus.publish(
            CallingCompleted(
                time=now,
                executor="e",
                calling_id=cid,
                duration=LATENCY,
                actual_tokens=10,
                cost_usd=0.001,
            )
        )

    async with trio.open_nursery() as nursery:
        for index in range(calls):
            nursery.start_soon(one, index)
    return done_at


async def test_every_redraw_shows_the_counts_at_its_instant(
    autojump_clock: trio.abc.Clock,
) -> None:
    buses: list[Broadcast[LifecycleEvent]] = [Broadcast(buffer_size=1 << 16) for _ in range(3)]
    subscriptions = [bus.subscribe() for bus in buses]
    start = trio.current_time()
    stats = BenchStats(start)
    timeline = Timeline(start)
    shown: list[tuple[float, BenchProgress]] = []
    ticker = Ticker(
        subscriptions,
        stats,
        timeline,
        display=lambda progress: shown.append((trio.current_time(), progress)),
    )
    calls = int(RATE * SECONDS)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker.run)
        done_at = await _produce(buses, calls)
        await trio.sleep(0.35)  # a few idle ticks after the last call
        nursery.cancel_scope.cancel()
    final = ticker.finish(trio.current_time())
    assert shown.pop()[1] == final  # the last redraw is the final one

    times = [t for t, _ in shown]
    # A fixed rate: one redraw every tick, on its deadline, none skipped.
    assert len(shown) == pytest.approx((SECONDS + LATENCY + 0.35) / TICK, abs=2)
    for k, t in enumerate(times, start=1):
        assert t == pytest.approx(start + k * TICK, abs=1e-6)
    for t, progress in shown:
        completed = sum(1 for d in done_at if d <= t)
        started = min(calls, sum(1 for i in range(calls) if OFFSET + i / RATE <= t))
        assert progress.done == completed  # exact, at every redraw
        assert progress.in_flight == started - completed
        assert progress.failed == progress.cancelled == 0
        assert progress.elapsed == pytest.approx(t - start)
        assert progress.cost_usd == pytest.approx(completed * 0.001)
        if 2.5 <= t - start <= SECONDS:  # a full rate window inside the steady run
            assert progress.calls_per_second == pytest.approx(RATE, rel=0.02)
            assert len(progress.recent_rates) == min(30, int((t - start) / 0.5 + 1e-9))
            for rate in progress.recent_rates[1:]:
                assert rate == pytest.approx(RATE, rel=0.07)
    assert final.done == calls
    assert final.calls_per_second == pytest.approx(calls / final.elapsed)
    assert stats.events_missed == 0


async def test_cancelled_calls_are_not_counted_as_failed(autojump_clock: trio.abc.Clock) -> None:
    bus: Broadcast[LifecycleEvent] = Broadcast()
    stats = BenchStats(trio.current_time())
    timeline = Timeline(trio.current_time())
    ticker = Ticker([bus.subscribe()], stats, timeline)
    for index in range(5):
        cid = f"c{index}"
        bus.publish(CallingQueued(time=0.0, executor="e", calling_id=cid, queued=1))
    bus.publish(
        CallingStarted(time=0.0, executor="e", calling_id="c0", attempt=1, estimated_tokens=1)
    )
    bus.publish(CallingFailed(time=0.1, executor="e", calling_id="c0", error="ServerError('x')"))
    for index in range(1, 5):  # Ctrl-C: the rest are cancelled
        bus.publish(CallingCancelled(time=0.2, executor="e", calling_id=f"c{index}"))
    await trio.sleep(1.0)
    progress = ticker.step(trio.current_time())
    assert (progress.failed, progress.cancelled, progress.finished) == (1, 4, 5)
    counters = "".join(text for text, _ in progress_lines(progress, 5, "calls")[2])
    assert "failed 1" in counters and "cancelled 4" in counters


def _progress(**changes: object) -> BenchProgress:
    fields: dict[str, object] = {
        "elapsed": 16.0,
        "done": 5_210,
        "failed": 0,
        "cancelled": 0,
        "in_flight": 29,
        "queued": 3,
        "rate_limited": 0,
        "retries": 0,
        "calls_per_second": 318.0,
        "recent_rates": (100.0, 200.0, 300.0, 300.0),
        "cost_usd": 0.0163,
    }
    fields.update(changes)
    return BenchProgress(**fields)  # type: ignore[arg-type]


def test_the_lines_say_what_the_counters_say() -> None:
    lines = [
        "".join(text for text, _ in line) for line in progress_lines(_progress(), 10_000, "calls")
    ]
    assert len(lines) == 3 and all(len(line) <= 80 for line in lines)
    assert re.search(r"━{15}╸?━+  5,210/10,000   52%  0:00:16  ~0:00:15 left$", lines[0])
    assert lines[1] == "rate     318 calls/s ▃▆██"
    assert lines[2] == "in flight 29  queued 3  429s 0  retries 0  failed 0  cost $0.0163"
    done = [
        "".join(t for t, _ in line)
        for line in progress_lines(_progress(done=10_000), 10_000, "calls")
    ]
    assert "10,000/10,000  100%" in done[0] and "left" not in done[0]


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([]) == ""
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert sparkline([1.0, 2.0, 4.0, 8.0]) == "▂▃▅█"


def test_the_display_draws_on_a_terminal() -> None:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with ProgressDisplay(10_000, "calls", console=console) as display:
        display.update(_progress())
        display.update(_progress(done=6_000))
    text = out.getvalue()
    assert "6,000/10,000" in text and "318 calls/s" in text and "cost $0.0163" in text
