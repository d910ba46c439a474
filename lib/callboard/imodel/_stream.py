"""StreamChannel: one streamed call fanned out to any number of consumers."""

from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import attrs
import trio

from callboard.actors._block import BlockNursery
from callboard.calling import Calling
from callboard.providers import StreamDelta

from ._errors import StreamChannelError

__all__ = ["StreamChannel", "StreamSource"]

Consumer = Callable[[StreamDelta], Any]
"""A sync or async callable taking each [`StreamDelta`][callboard.StreamDelta]."""


@attrs.frozen
class StreamSource:
    """How a StreamChannel gets its deltas (built by ``iModel``).

    ``open(nursery)`` starts the call (in ``nursery`` when it must run in a task of its
    own) and returns the receiving end of its stream sink plus an ``abandon`` function
    that cancels the call; ``on_chunk(index, delta)`` reports a chunk; ``finish()``
    raises the call's error, if it failed.
    """

    open: Callable[
        [trio.Nursery | None],
        Awaitable[tuple[trio.MemoryReceiveChannel[StreamDelta], Callable[[], None]]],
    ]
    on_chunk: Callable[[int, StreamDelta], Awaitable[None]]
    finish: Callable[[], None]


class _AsyncConsumer:
    __slots__ = ("fn", "name", "receive", "send")

    def __init__(self, fn: Consumer, name: str) -> None:
        self.fn = fn
        self.name = name
        # Unbounded on purpose: a stream is finite, and a slow consumer must fall behind
        # rather than stall the stream or the other consumers (memory ≤ the response).
        self.send, self.receive = trio.open_memory_channel[StreamDelta](math.inf)


class StreamChannel:
    """A streamed call whose chunks go to every consumer and to the iterating task.

    Iterate it (``async for delta in channel``) to drive the stream; each
    [`StreamDelta`][callboard.StreamDelta] is accumulated (``get_accumulated()``), handed to every
    consumer and yielded. A consumer reads the text as ``delta.text`` or, as in
    lionpride, ``delta.content``:
    ``channel.add_consumer(lambda chunk: print(chunk.content, end=""))``. After the
    last chunk, the call's error (if it failed) is raised by the iteration.

    Consumers (``add_consumer()``) get every chunk from the moment they are added, in
    order:

    - a **sync** consumer is called in the iterating task (keep it quick);
    - an **async** consumer runs in its own task with its own unbounded buffer, inside
      the nursery of ``async with channel:`` (required for async consumers). A slow one
      falls behind without stalling the stream or the others; leaving the block waits
      for every consumer to finish its backlog.

    A consumer that raises is dropped and recorded in ``consumer_errors``; the
    stream goes on. Breaking out of the iteration (or an error in the block) cancels
    the call.

    Where the model is not running (no ``async with model``) and the channel has no
    nursery either, there is no task to run the call in while you iterate: the call then
    runs to its end first and the chunks are delivered afterwards. Use ``async with
    model:`` or ``async with channel:`` for chunks as they arrive.
    """

    def __init__(self, calling: Calling, source: StreamSource) -> None:
        self.calling = calling
        self._source = source
        self._sync: list[tuple[str, Consumer]] = []
        self._async: list[_AsyncConsumer] = []
        self._text: list[str] = []
        self._chunks = 0
        self._nursery: trio.Nursery | None = None
        self._block: BlockNursery | None = None
        self._pump: _Pump | None = None
        self.consumer_errors: list[tuple[str, Exception]] = []
        """``(consumer name, exception)`` for every consumer that raised and was dropped."""

    def __repr__(self) -> str:
        return (
            f"<StreamChannel calling={self.calling.id} chunks={self._chunks} "
            f"consumers={len(self._sync) + len(self._async)}>"
        )

    @property
    def chunks(self) -> int:
        """Chunks received so far."""
        return self._chunks

    def get_accumulated(self) -> str:
        """The text received so far, concatenated (the first choice's, when the request
        asked for several)."""
        return "".join(self._text)

    def add_consumer(self, consumer: Consumer, *, name: str | None = None) -> None:
        """Hand every chunk from now on to ``consumer`` (sync or async).

        Raises:
            StreamChannelError: ``consumer`` is not callable.
        """
        if not callable(consumer):
            raise StreamChannelError(f"a consumer must be callable, got {consumer!r}")
        label = name if name is not None else getattr(consumer, "__name__", repr(consumer))
        if inspect.iscoroutinefunction(consumer):
            entry = _AsyncConsumer(consumer, label)
            self._async.append(entry)
            if self._nursery is not None:
                self._nursery.start_soon(self._run_consumer, entry)
        else:
            self._sync.append((label, consumer))

    async def _run_consumer(self, entry: _AsyncConsumer) -> None:
        async with entry.receive:
            async for delta in entry.receive:
                try:
                    await entry.fn(delta)
                except Exception as exc:
                    self._drop(entry.name, exc)
                    entry.send.close()
                    return

    def _drop(self, name: str, error: Exception) -> None:
        self.consumer_errors.append((name, error))

    # -- the block -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        block = BlockNursery()
        self._nursery = await block.open()
        self._block = block
        for entry in self._async:
            self._nursery.start_soon(self._run_consumer, entry)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block, self._block = self._block, None
        assert block is not None
        error = exc
        if error is None and self._pump is None:
            try:  # nobody iterated: drive the stream for the consumers
                async for _ in self:
                    pass
            except BaseException as raised:
                error = raised
        if self._pump is not None:
            self._pump.abandon()  # a no-op once the stream ended
        self._close_consumers()
        self._nursery = None
        await block.close(error)
        if error is not None and error is not exc:
            raise error

    def _close_consumers(self) -> None:
        for entry in self._async:
            entry.send.close()

    # -- iteration -------------------------------------------------------------------

    def __aiter__(self) -> _Pump:
        if self._pump is not None:
            raise StreamChannelError(
                "a StreamChannel can be iterated once; its text is in get_accumulated()"
            )
        if self._async and self._nursery is None:
            raise StreamChannelError(
                "async consumers run in tasks: enter the channel first "
                "(async with channel: async for delta in channel: ...)"
            )
        self._pump = _Pump(self)
        return self._pump

    def abandon(self) -> None:
        """Stop reading: cancel the call if it is still running (a no-op once the
        stream ended)."""
        if self._pump is not None:
            self._pump.abandon()
        self._close_consumers()

    async def aclose(self) -> None:
        """``abandon()``, as an awaitable (for ``contextlib.aclosing``)."""
        self.abandon()
        await trio.lowlevel.checkpoint()

    def _on_delta(self, delta: StreamDelta) -> None:
        self._chunks += 1
        if delta.choice == 0:  # with n > 1, the others' text is theirs (delta.choice)
            self._text.append(delta.text)
        for entry in list(self._sync):
            name, consumer = entry
            try:
                consumer(delta)
            except Exception as exc:
                self._sync.remove(entry)
                self._drop(name, exc)
        for consumer in self._async:
            with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
                consumer.send.send_nowait(delta)


class _Pump:
    """The one iterator of a StreamChannel: opens the call on the first read."""

    def __init__(self, channel: StreamChannel) -> None:
        self._channel = channel
        self._receive: trio.MemoryReceiveChannel[StreamDelta] | None = None
        self._abandon: Callable[[], None] | None = None
        self._done = False

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StreamDelta:
        channel = self._channel
        if self._done:
            raise StopAsyncIteration
        if self._receive is None:
            self._receive, self._abandon = await channel._source.open(channel._nursery)  # pyright: ignore[reportPrivateUsage]
        try:
            delta = await self._receive.receive()
        except trio.EndOfChannel:
            self._done = True
            self._receive.close()
            channel._close_consumers()  # pyright: ignore[reportPrivateUsage]
            await channel.calling.wait_finished()
            channel._source.finish()  # pyright: ignore[reportPrivateUsage]
            raise StopAsyncIteration from None
        except BaseException:
            self.abandon()
            await self._settled()
            raise
        await channel._source.on_chunk(channel.chunks, delta)  # pyright: ignore[reportPrivateUsage]
        channel._on_delta(delta)  # pyright: ignore[reportPrivateUsage]
        return delta

    async def _settled(self) -> None:
        """Wait, shielded, for the abandoned call to finish: its owner gives back the
        slot and settles the tokens first, so a reader that was cancelled lets
        ``Cancelled`` propagate only once that happened (as ``Executor.call`` does)."""
        calling = self._channel.calling
        if self._abandon is None or calling.finished:
            return
        with trio.CancelScope(shield=True):
            await calling.wait_finished()

    def abandon(self) -> None:
        """Cancel the call unless it finished; stop handing out chunks."""
        if self._done:
            return
        self._done = True
        if self._receive is not None:
            self._receive.close()
        if self._abandon is not None and not self._channel.calling.finished:
            self._abandon()
        self._channel._close_consumers()  # pyright: ignore[reportPrivateUsage]
