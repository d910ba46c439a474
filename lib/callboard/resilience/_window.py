"""OutcomeWindow: how many calls failed over the last few seconds, in O(1) per call.

A circuit breaker that opens on a failure *rate* needs the calls and failures of a
sliding window of time. Keeping every outcome would cost memory in proportion to the
call rate (10,000 entries for 1,000 calls/s over 10 s), so outcomes are counted in
``slices`` equal slices of the window: the oldest slice drops out as a whole, and the
counts cover between ``window`` and ``window + window / slices`` seconds of calls.
"""

from __future__ import annotations

import math
from collections import deque

__all__ = ["OutcomeWindow"]


class OutcomeWindow:
    """Calls and failures within the last ``window`` seconds (``now`` is given by the
    caller, from ``trio.current_time()``).

    Example:
        >>> window = OutcomeWindow(10.0)
        >>> for now, failed in [(0.0, True), (5.0, False), (12.5, True)]:
        ...     window.add(now, failed)
        >>> window.counts(12.5)
        (2, 1)
    """

    __slots__ = ("_slices", "_width", "calls", "failures", "window")

    def __init__(self, window: float, slices: int = 10) -> None:
        self.window = window
        self._width = window / slices
        self._slices: deque[list[int]] = deque()  # [slice index, calls, failures]
        self.calls = 0
        self.failures = 0

    def add(self, now: float, failed: bool) -> None:
        """Count one call that ended at ``now``."""
        self._expire(now)
        index = math.floor(now / self._width)
        slices = self._slices
        if not slices or slices[-1][0] != index:
            slices.append([index, 0, 0])
        newest = slices[-1]
        newest[1] += 1
        self.calls += 1
        if failed:
            newest[2] += 1
            self.failures += 1

    def counts(self, now: float) -> tuple[int, int]:
        """``(calls, failures)`` within the window ending at ``now``."""
        self._expire(now)
        return self.calls, self.failures

    def clear(self) -> None:
        """Forget every outcome."""
        self._slices.clear()
        self.calls = self.failures = 0

    def _expire(self, now: float) -> None:
        oldest = math.floor((now - self.window) / self._width)
        slices = self._slices
        while slices and slices[0][0] < oldest:
            _, calls, failures = slices.popleft()
            self.calls -= calls
            self.failures -= failures
