"""The two ways a provider counts one limit over a window: a refilling bucket, a fixed window.

Both hold ``capacity`` units (the limit's share of the window) and come back at the
limit's per-minute rate. A take may be larger than what is left (the provider admitted
it when the bucket was full, or someone else on the key took their share): the level
then goes negative, a debt later requests wait out. Time is whatever the caller passes
(``trio.current_time()`` in the server).

This is deliberately a small, separate implementation from ``callboard.limits``: the fake
provider is the referee the client-side limiter is tested against, so it must not share
its code.
"""

from __future__ import annotations

import math

__all__ = ["EPSILON", "FixedWindow", "Refilling", "WindowBucket"]

# A client that waits exactly the advertised retry-after must be admitted, so
# comparisons forgive rounding dust.
EPSILON = 1e-9


class Refilling:
    """A token bucket: ``capacity`` units, refilled continuously at ``per_second``."""

    __slots__ = ("capacity", "level", "per_second", "updated")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.level = capacity  # providers' buckets start full
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.per_second)
            self.updated = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds after ``now`` (refilled to) until ``amount`` (at most a full bucket) is
        there; 0 when it is now."""
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= EPSILON * max(amount, 1.0) else missing / self.per_second

    def take(self, amount: float) -> None:
        self.level -= amount

    def give(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)

    def remaining(self) -> float:
        return self.level

    def until_full(self, now: float) -> float:
        return max(0.0, (self.capacity - self.level) / self.per_second)


class FixedWindow:
    """A counter of what was taken since the current window started, reset at boundaries.

    Windows are ``window`` seconds long and start at ``origin``; at most ``capacity`` is
    admitted in one (a take larger than that only into an empty window). What was taken
    beyond the capacity is carried into the next window as used.
    """

    __slots__ = ("capacity", "origin", "start", "used", "window")

    def __init__(self, capacity: float, window: float, now: float) -> None:
        self.capacity = capacity
        self.window = window
        self.origin = now
        self.start = now
        self.used = 0.0

    def refill(self, now: float) -> None:
        if now >= self.start + self.window:
            elapsed = math.floor((now - self.origin) / self.window + EPSILON)
            start = self.origin + elapsed * self.window
            windows = round((start - self.start) / self.window)
            self.used = max(0.0, self.used - windows * self.capacity)
            self.start = start

    def wait_for(self, amount: float, now: float) -> float:
        need = min(amount, self.capacity)
        if self.used + need <= self.capacity + EPSILON * max(amount, 1.0):
            return 0.0
        # The carried excess shrinks by one capacity per window.
        windows = math.ceil((self.used + need - self.capacity) / self.capacity - EPSILON)
        return max(0.0, self.start + max(1, windows) * self.window - now)

    def take(self, amount: float) -> None:
        self.used += amount

    def give(self, amount: float) -> None:
        self.used = max(0.0, self.used - amount)

    def remaining(self) -> float:
        return self.capacity - self.used

    def until_full(self, now: float) -> float:
        if self.used <= 0:
            return 0.0
        windows = max(1, math.ceil(self.used / self.capacity - EPSILON))
        return max(0.0, self.start + windows * self.window - now)


WindowBucket = Refilling | FixedWindow
