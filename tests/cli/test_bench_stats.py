"""BenchStats: the fold from lifecycle events to the bench's counters and percentiles."""

from __future__ import annotations

import pytest

from callboard.calling import (
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
)
from callboard.cli._report import limit_share, percentile
from callboard.cli._stats import BenchStats
from callboard.endpoint import CallingRetrying
from callboard.imodel import StreamChunkReceived
from callboard.providers import StreamDelta

EX = "m.executor"


def queued(cid: str, t: float) -> CallingQueued:
    return CallingQueued(time=t, executor=EX, calling_id=cid, queued=1)


def started(cid: str, t: float, attempt: int = 1) -> CallingStarted:
    return CallingStarted(time=t, executor=EX, calling_id=cid, attempt=attempt, estimated_tokens=9)


def completed(cid: str, t: float, tokens: int | None = 10) -> CallingCompleted:
    return CallingCompleted(time=t, executor=EX, calling_id=cid, duration=0.0, actual_tokens=tokens)


def retrying(cid: str, t: float, error: str) -> CallingRetrying:
    return CallingRetrying(time=t, endpoint="e", calling_id=cid, attempt=1, delay=0.5, error=error)


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.99) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([float(i) for i in range(101)], 0.95) == pytest.approx(95.0)


async def test_counts_follow_each_calling_through_its_states() -> None:
    stats = BenchStats(start=0.0)
    stats.observe(queued("a", 0.0))
    stats.observe(queued("b", 0.0))
    assert (stats.queued, stats.in_flight) == (2, 0)
    stats.observe(started("a", 0.1))
    assert (stats.queued, stats.in_flight) == (1, 1)
    stats.observe(retrying("a", 0.2, "RateLimited('slow down', status=429)"))
    stats.observe(started("b", 0.3))
    stats.observe(retrying("b", 0.35, "ServerError('boom', status=503)"))
    stats.observe(completed("a", 0.5, tokens=12))
    stats.observe(CallingFailed(time=0.6, executor=EX, calling_id="b", error="ServerError()"))
    assert (stats.queued, stats.in_flight, stats.done, stats.failed) == (0, 0, 1, 1)
    assert stats.retries == 2 and stats.rate_limited == 1
    assert stats.tokens == 12
    latency, wait = stats.quantiles()
    assert latency["p50"] == pytest.approx(500.0)
    assert wait == {"p50": pytest.approx(200.0), "p99": pytest.approx(298.0)}


async def test_a_retry_seen_only_as_a_later_attempt_is_counted_once() -> None:
    stats = BenchStats(start=0.0)
    stats.observe(queued("a", 0.0))
    stats.observe(started("a", 0.0))
    stats.observe(retrying("a", 0.1, "Overloaded()"))
    stats.observe(started("a", 0.2, attempt=2))  # the same retry, seen again
    stats.observe(started("a", 0.3, attempt=3))  # a retry nobody announced
    assert stats.retries == 2


async def test_final_429_and_cancellation() -> None:
    stats = BenchStats(start=0.0)
    for cid in "abc":
        stats.observe(queued(cid, 0.0))
    stats.observe(started("a", 0.0))
    stats.observe(started("c", 0.0))
    stats.observe(CallingFailed(time=0.1, executor=EX, calling_id="a", error="RateLimited('x')"))
    stats.observe(CallingCancelled(time=0.1, executor=EX, calling_id="b"))  # while queued
    stats.observe(CallingCancelled(time=0.1, executor=EX, calling_id="c"))  # while running
    assert stats.rate_limited == 1
    # Ctrl-C cancels calls: they are not failures (the display said so before the fix).
    assert (stats.failed, stats.cancelled, stats.queued, stats.in_flight) == (1, 2, 0, 0)
    assert stats.finished == 3
    assert stats.latencies == []


async def test_first_chunk_is_timed_once_per_calling() -> None:
    stats = BenchStats(start=0.0)
    stats.observe(queued("a", 1.0))
    stats.observe(started("a", 1.0))
    for index, t in enumerate((1.25, 1.5)):
        stats.observe(
            StreamChunkReceived(
                time=t, model="m", calling_id="a", index=index, delta=StreamDelta(text="x")
            )
        )
    assert stats.first_chunks == [0.25]
    assert stats.first_chunk_quantiles()["p50"] == pytest.approx(250.0)


def test_limit_share_counts_the_burst_and_the_refill() -> None:
    assert limit_share(None, 5, 1.0) is None
    share = limit_share(600, 1800, 120.0)
    assert share is not None
    assert (share.allowed, share.share) == (1800.0, 1.0)
