"""The bench's clock: fold the events, sample the counters and redraw, at a fixed rate.

One task does all three every ``tick`` seconds. The events wait in the subscriptions'
buffers between ticks and are folded in one synchronous batch, so the bench costs no task
switch per event (a reader task that woke for each event fell behind a busy run: the
display then showed a third of the calls done with seconds to go). The redraw reads
counters that are exact as of the tick, and costs the same at 10 or 10,000 calls/s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import trio

from callboard.actors import Lagged, LifecycleEvent, Subscription

from ._stats import BenchStats
from ._timeline import BenchProgress, Timeline

__all__ = ["TICK", "Ticker"]

TICK = 0.1
"""Seconds between two redraws (and samples)."""


def _drain(subscription: Subscription[LifecycleEvent], stats: BenchStats) -> None:
    """Fold what a subscription holds, without waiting."""
    while True:
        try:
            stats.observe(subscription.receive_nowait())
        except Lagged as lag:
            stats.events_missed += lag.missed
        except (trio.WouldBlock, trio.EndOfChannel):
            return


class Ticker:
    """Folds ``subscriptions`` into ``stats``, samples ``timeline`` and calls ``display``
    every ``tick`` seconds of Trio time.

    Args:
        subscriptions: the models' event subscriptions.
        stats: what the events are folded into.
        timeline: where the counters are sampled.
        display: called with a snapshot after every sample.
        effective_rate: the admission's effective rate now (calls/s), or ``None``.
        tick: seconds between samples.
    """

    def __init__(
        self,
        subscriptions: Sequence[Subscription[LifecycleEvent]],
        stats: BenchStats,
        timeline: Timeline,
        *,
        display: Callable[[BenchProgress], None] | None = None,
        effective_rate: Callable[[], float | None] = lambda: None,
        tick: float = TICK,
    ) -> None:
        self._subscriptions = subscriptions
        self._stats = stats
        self._timeline = timeline
        self._display = display
        self._effective_rate = effective_rate
        self._tick = tick

    def _sample(self, now: float) -> BenchProgress:
        for subscription in self._subscriptions:
            _drain(subscription, self._stats)
        self._timeline.sample(now, self._stats, self._effective_rate())
        return self._timeline.progress(self._stats)

    def _show(self, progress: BenchProgress) -> BenchProgress:
        if self._display is not None:
            self._display(progress)
        return progress

    def step(self, now: float) -> BenchProgress:
        """Fold, sample and redraw now."""
        return self._show(self._sample(now))

    async def run(self) -> None:
        """Step every ``tick`` seconds until cancelled. The deadlines are fixed
        (``start + k * tick``); ticks missed while the loop was busy are skipped, not
        caught up."""
        start = trio.current_time()
        beat = 0
        while True:
            beat += 1
            await trio.sleep_until(start + beat * self._tick)
            now = trio.current_time()
            beat = max(beat, int((now - start) / self._tick))  # skip the beats missed
            self.step(now)

    def finish(self, now: float) -> BenchProgress:
        """The last step, after the calls ended: its rate is the whole run's."""
        progress = self._sample(now)
        if progress.elapsed > 0:
            progress = attrs.evolve(progress, calls_per_second=progress.finished / progress.elapsed)
        return self._show(progress)
