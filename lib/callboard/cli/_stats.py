"""What a bench run measured, folded from the lifecycle events its models publish.

The bench never looks inside an actor: every figure here comes from the events the
Executors (and the Endpoints) put on their Broadcasts, so the live display and the final
table show what any other hook could see. The fold is synchronous and cheap (a list
entry per Calling in progress), and it is fed in batches: the bench's ticker drains the
subscriptions at a fixed rate instead of waking a task for every event.
"""

from __future__ import annotations

import math

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
from callboard.endpoint import CallingRetrying, CircuitChanged
from callboard.executor import CallingRequeued
from callboard.imodel import StreamChunkReceived

from ._error_tally import ErrorTally
from ._report import quantiles_ms

__all__ = ["BenchStats"]

_QUEUED, _RUNNING = 0, 1
_RATE_LIMITED = "RateLimited"


class BenchStats:
    """Folds lifecycle events into counters and latency samples.

    Times are the events' own ``time`` stamps (Trio clock), so queue wait is the time
    from a Calling's first ``CallingQueued`` to its first ``CallingStarted`` and latency
    the time from that first queueing to its terminal event. A retry is counted for each
    Endpoint ``CallingRetrying`` (or an attempt after the first starting without one);
    429s are counted from the Executor's ``CallingRequeued`` (a call refused for rate
    goes back to admission), from retries caused by ``RateLimited`` and from calls that
    finally failed with it. A cancelled (or aborted) call is not a failed one.

    Args:
        start: the Trio time the run started.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.queued_total = 0
        self.done = 0
        self.failed = 0
        self.cancelled = 0
        self.queued = 0
        self.in_flight = 0
        self.started = 0
        """``CallingStarted`` events: admissions, retries included."""
        self.rate_limited = 0
        self.retries = 0
        self.tokens = 0
        self.cost_usd = 0.0
        self.priced = 0
        self.unpriced = 0
        self.events_missed = 0
        self.errors = ErrorTally()
        self.latencies: list[float] = []
        self.completed_at: list[float] = []
        """Trio time each latency sample ended (same order as ``latencies``)."""
        self.queue_waits: list[float] = []
        self.first_chunks: list[float] = []
        # calling id -> [first queued at, first started at, state, retries counted]
        self._open: dict[str, list[float]] = {}
        self._chunk_seen: set[str] = set()

    @property
    def finished(self) -> int:
        """Callings that reached a terminal state: done, failed or cancelled."""
        return self.done + self.failed + self.cancelled

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
        elif isinstance(event, CircuitChanged) and event.new == "open":
            self.errors.circuit_opened(event.endpoint, event.consecutive_failures)

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
            self._started(event, entry)
        elif isinstance(event, CallingCompleted):
            self._close(event, entry)
            self.done += 1
            self.tokens += event.actual_tokens or 0
            if event.cost_usd is None:
                self.unpriced += 1
            else:
                self.cost_usd += event.cost_usd
                self.priced += 1
            if entry is not None:
                self.latencies.append(event.time - entry[0])
                self.completed_at.append(event.time)
        elif isinstance(event, CallingCancelled | CallingAborted):
            self._close(event, entry)
            self.cancelled += 1
        elif isinstance(event, CallingFailed):
            self._close(event, entry)
            self.failed += 1
            if self.errors.attempt_failed(event.error, final=True) == _RATE_LIMITED:
                self.rate_limited += 1
        elif isinstance(event, CallingTimedOut):
            self._close(event, entry)
            self.failed += 1
            self.errors.attempt_failed(
                f"CallingTimedOut('no answer within the call timeout of {event.timeout:g} s')",
                final=True,
            )

    def _started(self, event: CallingStarted, entry: list[float] | None) -> None:
        self.started += 1
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
        if self.errors.attempt_failed(event.error, final=False) == _RATE_LIMITED:
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

    def quantiles(self) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """(latency p50/p95/p99, queue wait p50/p99), in milliseconds."""
        return (
            quantiles_ms(self.latencies, (0.5, 0.95, 0.99)),
            quantiles_ms(self.queue_waits, (0.5, 0.99)),
        )

    def first_chunk_quantiles(self) -> dict[str, float | None]:
        """Time to first chunk p50/p95/p99, in milliseconds."""
        return quantiles_ms(self.first_chunks, (0.5, 0.95, 0.99))
