"""What a bench run measured, folded from the lifecycle events its models publish.

The bench never looks inside an actor: every figure here comes from the events the
Executors (and the transport) put on their Broadcasts, so the progress bar and the final
table show what any other hook could see. The fold is synchronous and cheap (a dict
entry per Calling in progress), so the reader keeps up with thousands of events a second.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from callboard.actors import LifecycleEvent
from callboard.calling import (
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingEvent,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingTimedOut,
)
from callboard.endpoint import CallingRetrying
from callboard.executor import CallingRequeued
from callboard.imodel import StreamChunkReceived

__all__ = ["BenchProgress", "BenchReport", "BenchStats", "LimitShare", "percentile"]

_QUEUED, _RUNNING = 0, 1


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of ``values`` by linear interpolation (``None`` if empty).

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
        2.5
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@attrs.frozen
class BenchProgress:
    """A snapshot for the live display: counts so far and the recent rate."""

    done: int
    failed: int
    in_flight: int
    queued: int
    rate_limited: int
    retries: int
    calls_per_second: float


@attrs.frozen
class LimitShare:
    """How much of a configured limit a run used.

    The provider's buckets start full and refill continuously, so over ``seconds`` a key
    can be granted at most ``limit`` (the burst) plus ``limit * seconds / 60``; ``share``
    is what the run used of that.
    """

    limit_per_minute: int
    used: int
    allowed: float
    share: float


@attrs.frozen
class BenchReport:
    """The final figures of a bench run (``to_dict`` is what ``--json`` prints)."""

    provider: str
    model: str
    models: int
    concurrency: int
    stream: bool
    requested: int
    completed: int
    failed: int
    cancelled: int
    interrupted: bool
    elapsed_s: float
    throughput_per_s: float
    latency_ms: dict[str, float | None]
    queue_wait_ms: dict[str, float | None]
    first_chunk_ms: dict[str, float | None] | None
    rate_limited_429: int
    retries: int
    tokens_used: int
    requests_share: LimitShare | None
    tokens_share: LimitShare | None
    events_missed: int
    first_error: str | None = None
    server: dict[str, int] | None = None
    """The embedded fake provider's own counters (``None`` against a real provider)."""
    admission: dict[str, Any] | None = None
    """What the models' admission learned: configured and effective rates (per
    second), bursts, cuts, 429s (see ``run_bench``'s ``admission_summary``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures, times in milliseconds, shares as fractions."""
        return attrs.asdict(self)


def _quantiles_ms(values: Sequence[float], fractions: Sequence[float]) -> dict[str, float | None]:
    result: dict[str, float | None] = {}
    for fraction in fractions:
        value = percentile(values, fraction)
        result[f"p{round(fraction * 100)}"] = None if value is None else round(value * 1000, 3)
    return result


def limit_share(limit_per_minute: int | None, used: int, seconds: float) -> LimitShare | None:
    """What share of ``limit_per_minute`` (burst plus refill) ``used`` is over ``seconds``."""
    if limit_per_minute is None:
        return None
    allowed = limit_per_minute * (1 + seconds / 60)
    return LimitShare(limit_per_minute, used, round(allowed, 1), round(used / allowed, 4))


class BenchStats:
    """Folds lifecycle events into counters and latency samples.

    Times are the events' own ``time`` stamps (Trio clock), so queue wait is the time
    from a Calling's first ``CallingQueued`` to its first ``CallingStarted`` and latency
    the time from that first queueing to its terminal event. A retry is counted for each
    Endpoint ``CallingRetrying`` (or an attempt after the first starting without one);
    429s are counted from the Executor's ``CallingRequeued`` (a call refused for rate
    goes back to admission), from retries caused by ``RateLimited`` and from calls that
    finally failed with it.

    Args:
        start: the Trio time the run started (the rate is measured from it).
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.queued_total = 0
        self.done = 0
        self.failed = 0
        self.cancelled = 0
        self.queued = 0
        self.in_flight = 0
        self.rate_limited = 0
        self.retries = 0
        self.tokens = 0
        self.events_missed = 0
        self.latencies: list[float] = []
        self.queue_waits: list[float] = []
        self.first_chunks: list[float] = []
        # calling id -> [first queued at, first started at, state, retries counted]
        self._open: dict[str, list[float]] = {}
        self._chunk_seen: set[str] = set()
        self._recent: list[tuple[float, int]] = [(start, 0)]

    @property
    def finished(self) -> int:
        """Callings that reached a terminal state (``failed`` counts the cancelled)."""
        return self.done + self.failed

    def observe(self, event: LifecycleEvent) -> None:
        """Fold one event in (any event type; unknown ones are ignored)."""
        if isinstance(event, StreamChunkReceived):
            self._chunk(event)
        elif isinstance(event, CallingRequeued):
            self.rate_limited += 1  # a 429: back to admission, not a retry
        elif isinstance(event, CallingEvent):
            self._calling(event)
        elif isinstance(event, CallingRetrying):
            self._retry(event)

    def _calling(self, event: CallingEvent) -> None:
        entry = self._open.get(event.calling_id)
        if isinstance(event, CallingQueued):
            if entry is None:
                self._open[event.calling_id] = [event.time, math.nan, _QUEUED, 0]
                self.queued_total += 1
            else:
                if entry[2] == _RUNNING:
                    self.in_flight -= 1
                entry[2] = _QUEUED
            self.queued += 1
        elif isinstance(event, CallingStarted):
            if entry is None:
                return
            if entry[2] == _QUEUED:
                self.queued -= 1
                self.in_flight += 1
            entry[2] = _RUNNING
            if math.isnan(entry[1]):
                entry[1] = event.time
                self.queue_waits.append(event.time - entry[0])
            extra = event.attempt - 1 - int(entry[3])
            if extra > 0:
                self.retries += extra
                entry[3] += extra
        elif isinstance(event, CallingCompleted):
            self._close(event, entry)
            self.done += 1
            self.tokens += event.actual_tokens or 0
            if entry is not None:
                self.latencies.append(event.time - entry[0])
        elif isinstance(event, CallingFailed | CallingTimedOut | CallingCancelled | CallingAborted):
            self._close(event, entry)
            self.failed += 1
            if isinstance(event, CallingCancelled | CallingAborted):
                self.cancelled += 1
            if isinstance(event, CallingFailed) and event.error.startswith("RateLimited("):
                self.rate_limited += 1

    def _close(self, event: CallingEvent, entry: list[float] | None) -> None:
        if entry is None:
            return
        if entry[2] == _QUEUED:
            self.queued -= 1
        else:
            self.in_flight -= 1
        del self._open[event.calling_id]
        self._chunk_seen.discard(event.calling_id)

    def _retry(self, event: CallingRetrying) -> None:
        entry = self._open.get(event.calling_id)
        if event.error.startswith("RateLimited("):
            self.rate_limited += 1
        if entry is not None:
            entry[3] += 1
        self.retries += 1

    def _chunk(self, event: StreamChunkReceived) -> None:
        entry = self._open.get(event.calling_id)
        if entry is None or event.calling_id in self._chunk_seen:
            return
        self._chunk_seen.add(event.calling_id)
        self.first_chunks.append(event.time - entry[0])

    def progress(self, now: float, window: float | None = 2.0) -> BenchProgress:
        """The counters now, with calls/s over the last ``window`` seconds (``None``:
        since the start)."""
        recent = self._recent
        if window is None:
            then, count = self.start, 0
        else:
            recent.append((now, self.finished))
            while len(recent) > 2 and recent[1][0] <= now - window:
                recent.pop(0)
            then, count = recent[0]
        rate = (self.finished - count) / (now - then) if now > then else 0.0
        return BenchProgress(
            done=self.done,
            failed=self.failed,
            in_flight=self.in_flight,
            queued=self.queued,
            rate_limited=self.rate_limited,
            retries=self.retries,
            calls_per_second=rate,
        )

    def quantiles(self) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """(latency p50/p95/p99, queue wait p50/p99), in milliseconds."""
        return (
            _quantiles_ms(self.latencies, (0.5, 0.95, 0.99)),
            _quantiles_ms(self.queue_waits, (0.5, 0.99)),
        )

    def first_chunk_quantiles(self) -> dict[str, float | None]:
        """Time to first chunk p50/p95/p99, in milliseconds."""
        return _quantiles_ms(self.first_chunks, (0.5, 0.95, 0.99))
