"""The run over time: counters sampled at a fixed rate, and the rates read from them.

The bench's ticker samples [`BenchStats`][callboard.cli._stats.BenchStats] every tick
(right after folding the events published since the last one), so every rate here is a
difference of exact counters over a known interval: the live display's calls/s and
sparkline, and the per-interval throughput, admitted rate and latency percentiles that
``--plot`` draws.
"""

from __future__ import annotations

import bisect
import itertools
import math

import attrs

from ._report import percentile
from ._stats import BenchStats

__all__ = ["BenchProgress", "Sample", "Series", "Timeline"]

RATE_WINDOW = 2.0
"""Seconds the live calls/s is measured over."""
SPARK_STEP = 0.5
"""Seconds per sparkline bar."""
SPARK_BARS = 30


@attrs.frozen
class Sample:
    """The counters at ``time`` (seconds since the start of the run)."""

    time: float
    finished: int
    done: int
    started: int
    effective: float | None
    """Requests per second the admission allowed at that moment (``None``: no request
    limit, or not paced)."""


@attrs.frozen
class BenchProgress:
    """A snapshot for the live display."""

    elapsed: float
    done: int
    failed: int
    cancelled: int
    in_flight: int
    queued: int
    rate_limited: int
    retries: int
    calls_per_second: float
    """Calls finished per second over the last ``RATE_WINDOW`` seconds."""
    recent_rates: tuple[float, ...] = ()
    """Calls finished per second in each of the last ``SPARK_BARS`` half seconds."""
    cost_usd: float | None = None

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.cancelled


@attrs.frozen
class Series:
    """Per-interval figures of a whole run, for a chart (times in seconds since start)."""

    interval: float
    time: list[float]
    """The end of each interval."""
    throughput: list[float]
    """Calls completed per second."""
    admitted: list[float]
    """Calls admitted (``CallingStarted``, retries included) per second."""
    effective: list[float | None]
    """The admission's effective rate at the end of each interval, when reported."""
    latency_ms: dict[str, list[float | None]]
    """``p50`` / ``p95`` / ``p99`` of the calls completed in each interval."""
    limit_per_s: float | None = None
    """The configured request limit, per second."""


def _rate(later: Sample, earlier: Sample, field: str) -> float:
    span = later.time - earlier.time
    if span <= 0:
        return 0.0
    return (getattr(later, field) - getattr(earlier, field)) / span


class Timeline:
    """Samples of a run's counters, one per tick.

    Args:
        start: the Trio time the run started.
    """

    def __init__(self, start: float) -> None:
        self.start = start
        self.samples: list[Sample] = [Sample(0.0, 0, 0, 0, None)]

    def sample(self, now: float, stats: BenchStats, effective: float | None = None) -> Sample:
        """Record the counters of ``stats`` at Trio time ``now``."""
        sample = Sample(now - self.start, stats.finished, stats.done, stats.started, effective)
        self.samples.append(sample)
        return sample

    def _at(self, time: float) -> Sample:
        """The last sample taken at or before ``time`` (the first one if none)."""
        index = bisect.bisect_right(self.samples, time, key=lambda s: s.time) - 1
        return self.samples[max(index, 0)]

    def rate(self, window: float = RATE_WINDOW) -> float:
        """Calls finished per second over the last ``window`` seconds sampled."""
        last = self.samples[-1]
        return _rate(last, self._at(last.time - window), "finished")

    def recent_rates(self, step: float = SPARK_STEP, bars: int = SPARK_BARS) -> tuple[float, ...]:
        """Calls finished per second in each of the last ``bars`` intervals of ``step``
        seconds, oldest first (fewer at the start of a run)."""
        last = self.samples[-1]
        count = min(bars, math.floor(last.time / step + 1e-9))
        edges = [self._at(last.time - step * k) for k in range(count, -1, -1)]
        return tuple(_rate(b, a, "finished") for a, b in itertools.pairwise(edges))

    def progress(self, stats: BenchStats) -> BenchProgress:
        """The live display's snapshot as of the last sample."""
        return BenchProgress(
            elapsed=self.samples[-1].time,
            done=stats.done,
            failed=stats.failed,
            cancelled=stats.cancelled,
            in_flight=stats.in_flight,
            queued=stats.queued,
            rate_limited=stats.rate_limited,
            retries=stats.retries,
            calls_per_second=self.rate(),
            recent_rates=self.recent_rates(),
            cost_usd=stats.cost_usd if stats.priced else None,
        )

    def series(
        self, stats: BenchStats, *, points: int = 60, limit_per_s: float | None = None
    ) -> Series:
        """The run cut into about ``points`` intervals of whole ticks each."""
        samples = self.samples
        per = max(1, round((len(samples) - 1) / points))
        edges = [*samples[::per], *([samples[-1]] if (len(samples) - 1) % per else [])]
        if len(edges) < 2:
            edges = [samples[0], samples[-1]]
        # Each tick drains the models' subscriptions one after another: sort by time.
        pairs = sorted(zip(stats.completed_at, stats.latencies, strict=True))
        finished_at = [t - self.start for t, _ in pairs]
        latencies = [value for _, value in pairs]
        latency: dict[str, list[float | None]] = {"p50": [], "p95": [], "p99": []}
        throughput: list[float] = []
        admitted: list[float] = []
        for a, b in itertools.pairwise(edges):
            throughput.append(_rate(b, a, "done"))
            admitted.append(_rate(b, a, "started"))
            low = bisect.bisect_right(finished_at, a.time)
            high = bisect.bisect_right(finished_at, b.time)
            window = latencies[low:high]
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
                value = percentile(window, fraction)
                latency[name].append(None if value is None else value * 1000)
        ends = edges[1:]
        return Series(
            interval=ends[0].time - edges[0].time,
            time=[b.time for b in ends],
            throughput=throughput,
            admitted=admitted,
            effective=[b.effective for b in ends],
            latency_ms=latency,
            limit_per_s=limit_per_s,
        )
