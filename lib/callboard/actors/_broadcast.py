"""Broadcast: a lossy fan-out bus where a slow reader never slows the publisher.

Each subscriber owns a bounded deque. ``publish`` appends to every deque (dropping the
oldest entry of a full one and counting it) and wakes readers that wait: it never blocks
and costs O(subscribers). A reader that fell behind gets one [`Lagged`][callboard.Lagged] telling it
exactly how many events it lost, then continues from the oldest event still retained.
"""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Generic, Self, TypeVar

import trio

from callboard.errors import ConfigError

from ._errors import BroadcastClosed, Lagged

__all__ = ["Broadcast", "Subscription"]

T = TypeVar("T")


def _check_size(value: int, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{field} must be an int >= 1 (events kept per subscriber), got {value!r}",
            field=field,
        )
    return value


class Broadcast(Generic[T]):
    """Publish events to every current subscriber without ever blocking.

    Args:
        buffer_size: events kept per subscriber before the oldest are dropped (>= 1);
            ``subscribe`` may override it per subscriber.

    Raises:
        ConfigError: ``buffer_size`` is not an int >= 1.

    Example::

        bus: Broadcast[str] = Broadcast(buffer_size=2)
        with bus.subscribe() as sub:
            bus.publish("a")
            assert sub.receive_nowait() == "a"
    """

    def __init__(self, buffer_size: int = 1024) -> None:
        self._buffer_size = _check_size(buffer_size, "buffer_size")
        self._subscribers: dict[Subscription[T], None] = {}
        self._closed = False
        self.published = 0
        """Events published so far (whether or not anyone received them)."""

    @property
    def subscriber_count(self) -> int:
        """Subscriptions currently attached."""
        return len(self._subscribers)

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, event: T) -> None:
        """Hand ``event`` to every subscriber. Synchronous, never blocks, O(subscribers).

        Raises:
            BroadcastClosed: the broadcast was closed.
        """
        if self._closed:
            raise BroadcastClosed
        self.published += 1
        for subscription in self._subscribers:
            subscription._push(event)  # pyright: ignore[reportPrivateUsage]

    def subscribe(self, buffer_size: int | None = None) -> Subscription[T]:
        """Attach a new subscriber that sees every event published from now on.

        Args:
            buffer_size: this subscriber's buffer (>= 1); the broadcast's by default.

        Raises:
            ConfigError: ``buffer_size`` is not an int >= 1.
            BroadcastClosed: the broadcast was closed.
        """
        size = self._buffer_size if buffer_size is None else _check_size(buffer_size, "buffer_size")
        if self._closed:
            raise BroadcastClosed
        subscription = Subscription[T](self, size)
        self._subscribers[subscription] = None
        return subscription

    def close(self) -> None:
        """End every subscriber's iteration once it drained what it holds. Idempotent."""
        if self._closed:
            return
        self._closed = True
        subscribers = list(self._subscribers)
        self._subscribers.clear()
        for subscription in subscribers:
            subscription._end()  # pyright: ignore[reportPrivateUsage]

    def _detach(self, subscription: Subscription[T]) -> None:
        self._subscribers.pop(subscription, None)


class Subscription(Generic[T]):
    """One subscriber's view of a [`Broadcast`][callboard.Broadcast]: an async iterator of events.

    Iteration raises [`Lagged`][callboard.Lagged] once after events were dropped, then goes on; it
    stops when the broadcast is closed (after the buffered events were read) or when this
    subscription is closed. Leaving the ``with`` / ``async with`` block unsubscribes.
    Only this subscription's reader is affected by its lag, close or crash.
    """

    def __init__(self, broadcast: Broadcast[T], buffer_size: int) -> None:
        self._broadcast = broadcast
        # maxlen makes append drop the oldest event itself; _push only counts the drop.
        self._buffer: deque[T] = deque(maxlen=buffer_size)
        self._capacity = buffer_size
        self._missed = 0
        self._reported = 0
        self._ended = False
        self._waiting = False
        self._lot = trio.lowlevel.ParkingLot()
        self.received = 0
        """Events handed to this subscriber's reader so far."""

    @property
    def missed_total(self) -> int:
        """Events dropped from this subscriber's buffer so far (reported or not)."""
        return self._reported + self._missed

    @property
    def buffer_size(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        """Events waiting in the buffer."""
        return len(self._buffer)

    def _push(self, event: T) -> None:
        buffer = self._buffer
        if len(buffer) == self._capacity:
            self._missed += 1
        buffer.append(event)
        if self._waiting:
            self._lot.unpark_all()

    def _end(self) -> None:
        self._ended = True
        self._lot.unpark_all()

    def receive_nowait(self) -> T:
        """Return the next event without waiting.

        Raises:
            Lagged: events were dropped since the last read (raised once per gap).
            trio.WouldBlock: nothing buffered yet.
            trio.EndOfChannel: the broadcast or this subscription was closed and the
                buffer is drained.
        """
        if self._missed:
            missed, self._missed = self._missed, 0
            self._reported += missed
            raise Lagged(missed)
        if self._buffer:
            self.received += 1
            return self._buffer.popleft()
        if self._ended:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> T:
        """Wait for the next event (see ``receive_nowait()`` for what it raises).

        Cancellation means no event was consumed. Raising ``Lagged`` does not yield
        to other tasks, so reading again right away returns the oldest retained event.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                event = self.receive_nowait()
            except trio.WouldBlock:
                self._waiting = True
                try:
                    await self._lot.park()
                finally:
                    self._waiting = bool(self._lot)
                continue
            except Lagged:
                # No schedule point here: a reader that catches this and reads again at
                # once gets the oldest retained event, not a second report of a new gap.
                raise
            except trio.EndOfChannel:
                await trio.lowlevel.cancel_shielded_checkpoint()
                raise
            await trio.lowlevel.cancel_shielded_checkpoint()
            return event

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    def close(self) -> None:
        """Unsubscribe: drop the buffer and end iteration. Idempotent."""
        self._broadcast._detach(self)  # pyright: ignore[reportPrivateUsage]
        self._buffer.clear()
        self._reported += self._missed
        self._missed = 0
        self._end()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
