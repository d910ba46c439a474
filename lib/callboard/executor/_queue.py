"""The Executor's queue: accepted Callings in FIFO order, the room they take, their deadlines.

Room is what bounds the queue, not the actor's mailbox: it is given back the moment a
Calling leaves the queue (taken for admission, admitted early, cancelled or timed out),
while its mailbox message may stay behind a little longer.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from collections.abc import Callable

import trio

from callboard.calling import Calling

__all__ = ["CallingQueue"]


class CallingQueue:
    """Accepted Callings not yet taken for admission, with room and deadlines.

    Args:
        capacity: Callings it holds before ``take_room()`` waits.
    """

    __slots__ = (
        "_changed",
        "_closed",
        "_deadlines",
        "_queued",
        "_room",
        "_room_waiters",
        "_seq",
        "capacity",
        "tokens",
    )

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._room = trio.Semaphore(capacity)
        self._room_waiters: set[trio.CancelScope] = set()
        self._closed = False
        # An OrderedDict, not a dict: the head is read with next(iter()) after deletions at
        # the front, which a plain dict answers by scanning every deleted slot (quadratic
        # at 100k queued).
        self._queued: OrderedDict[Calling, None] = OrderedDict()
        self._deadlines: list[tuple[float, int, Calling]] = []
        self._seq = 0
        self._changed = trio.Event()
        self.tokens = 0  # the estimated tokens of the Callings queued

    def __len__(self) -> int:
        return len(self._queued)

    def __bool__(self) -> bool:
        return bool(self._queued)

    def __contains__(self, calling: Calling) -> bool:
        return calling in self._queued

    def load(self) -> tuple[int, int]:
        """(Callings queued, their estimated tokens)."""
        return len(self._queued), self.tokens

    def head(self) -> Calling:
        """The oldest queued Calling (the queue must not be empty)."""
        return next(iter(self._queued))

    def reset(self) -> None:
        """Fresh room and no deadlines: called when the Executor's run starts (a
        Semaphore belongs to the run it was made in)."""
        self._room = trio.Semaphore(self.capacity)
        self._deadlines.clear()
        self._closed = False

    def close(self) -> None:
        """The run ended: every task waiting for room wakes (``take_room()`` says
        False), instead of waiting forever on a semaphore nobody releases again."""
        self._closed = True
        for scope in self._room_waiters:
            scope.cancel()

    # -- room -----------------------------------------------------------------------------

    async def take_room(self) -> bool:
        """Wait for room; False (nothing taken) when the queue closed meanwhile."""
        await trio.lowlevel.checkpoint_if_cancelled()  # cancelled: it did not happen
        if self._closed:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return False
        try:
            self._room.acquire_nowait()
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return True
        with trio.CancelScope() as scope:
            self._room_waiters.add(scope)
            try:
                await self._room.acquire()
                return True
            finally:
                self._room_waiters.discard(scope)
        return False  # cancelled by close(): acquire took nothing

    def take_room_nowait(self) -> bool:
        try:
            self._room.acquire_nowait()
        except trio.WouldBlock:
            return False
        return True

    def give_room(self) -> None:
        self._room.release()

    # -- membership -----------------------------------------------------------------------

    def push(self, calling: Calling) -> None:
        """Append ``calling`` (room already taken); its deadline is watched if it has one."""
        if calling.timeout is not None:
            self._seq += 1
            heapq.heappush(self._deadlines, (calling.deadline, self._seq, calling))
            if self._deadlines[0][2] is calling:
                self._changed.set()
        self._queued[calling] = None
        self.tokens += calling.estimated_tokens

    def remove(self, calling: Calling) -> bool:
        """Take ``calling`` off the queue and give its room back; False if not queued."""
        if calling not in self._queued:
            return False
        del self._queued[calling]
        self.tokens -= calling.estimated_tokens
        self._room.release()
        return True

    def clear(self) -> list[Calling]:
        """Empty the queue; the Callings it held, oldest first."""
        leftovers = list(self._queued)
        self._queued.clear()
        self.tokens = 0
        return leftovers

    # -- deadlines ------------------------------------------------------------------------

    async def expire(self, on_timeout: Callable[[Calling], None]) -> None:
        """Forever: take each queued Calling off at its deadline and call ``on_timeout``,
        even while admission is blocked on a limit."""
        deadlines = self._deadlines
        while True:
            now = trio.current_time()
            while deadlines and deadlines[0][0] <= now:
                _, _, calling = heapq.heappop(deadlines)
                if self.remove(calling):  # not yet taken for admission
                    on_timeout(calling)
            self._changed = trio.Event()
            with trio.move_on_at(deadlines[0][0] if deadlines else math.inf):
                await self._changed.wait()
