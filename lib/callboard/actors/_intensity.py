"""Restart intensity: how many restarts a supervisor allows within a window of trio time.

As in OTP, every restart counts, whichever child it was for; restarts older than
``max_seconds`` (on ``trio.current_time()``, so autojump and mock clocks apply) drop out
of the window, and one more than ``max_restarts`` inside it means escalate.
"""

from __future__ import annotations

from collections import deque

import trio

__all__ = ["RestartIntensity"]


class RestartIntensity:
    """The restarts of one supervisor run still inside the ``max_seconds`` window."""

    __slots__ = ("_restarts", "max_restarts", "max_seconds")

    def __init__(self, max_restarts: int, max_seconds: float) -> None:
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds
        self._restarts: deque[float] = deque()

    def __len__(self) -> int:
        return len(self._restarts)

    def clear(self) -> None:
        """Forget every restart (a new run starts with a fresh count)."""
        self._restarts.clear()

    def count(self) -> bool:
        """Record one restart; True when that exceeds the intensity."""
        now = trio.current_time()
        restarts = self._restarts
        restarts.append(now)
        while restarts and now - restarts[0] >= self.max_seconds:
            restarts.popleft()
        return len(restarts) > self.max_restarts
