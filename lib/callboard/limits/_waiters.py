"""Strict FIFO waiting in front of a limiter: only the head tries, the others sleep.

Every limiter here serves its waiters first come, first served whatever their sizes:
the head of the line makes an attempt (take now, or say until when not), and sleeps
until exactly that instant or until something changes the picture (a refund, a
cancellation, a pause); everyone behind it sleeps until it leaves. Nothing polls.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import trio

__all__ = ["WaitLine"]


class _Waiter:
    __slots__ = ("event",)

    def __init__(self) -> None:
        self.event = trio.Event()


class WaitLine:
    """The tasks waiting on one limiter, in arrival order."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: OrderedDict[_Waiter, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiters)

    def __bool__(self) -> bool:
        return bool(self._waiters)

    async def wait(self, attempt: Callable[[], Awaitable[float | None]]) -> None:
        """Queue up; at the head, ``await attempt()`` until it returns ``None`` (it took
        what it needed), sleeping until the trio time it returns otherwise.

        Cancellation-safe as far as ``attempt`` is: when this raises ``Cancelled`` the
        waiter left the line and the one behind it moved up.
        """
        waiter = _Waiter()
        waiters = self._waiters
        waiters[waiter] = None
        try:
            while True:
                deadline = math.inf
                if next(iter(waiters)) is waiter:
                    deadline = await attempt()
                    if deadline is None:
                        break
                waiter.event = trio.Event()
                with trio.move_on_at(deadline):
                    await waiter.event.wait()
        except BaseException:
            was_head = next(iter(waiters)) is waiter
            del waiters[waiter]
            if was_head:
                self.wake_head()
            raise
        del waiters[waiter]
        self.wake_head()

    def wake_head(self) -> None:
        """Let the head try again now (the level changed)."""
        if self._waiters:
            next(iter(self._waiters)).event.set()
