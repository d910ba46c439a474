"""How a streaming call runs behind its StreamChannel: started, through the Executor;
inline, in a task of the reader's nursery or, without one, to its end and buffered."""

from __future__ import annotations

import math
from collections.abc import Callable

import trio

from callboard.actors import ActorStopped
from callboard.calling import Calling, CallingStatus
from callboard.executor import Executor
from callboard.providers import StreamDelta

from ._errors import ModelStopped
from ._hooks import StreamChunkReceived
from ._inline import InlineRunner
from ._outcome import outcome, settle_refused
from ._pipeline import Emitter
from ._stream import StreamChannel, StreamSource

__all__ = ["stream_channel"]

_Opened = tuple[trio.MemoryReceiveChannel[StreamDelta], Callable[[], None]]


def stream_channel(
    calling: Calling,
    *,
    model: str,
    executor: Executor,
    inline: InlineRunner,
    emitter: Emitter,
    buffer: int,
    failure: Callable[[], BaseException | None],
    refused: Callable[[Calling], None],
) -> StreamChannel:
    """A StreamChannel over ``calling`` (not running yet: it starts when first read).

    Args:
        calling: the Calling to stream (marked streaming here).
        model: the model's name, for the chunk events.
        executor: the model's Executor; a started model submits to it.
        inline: the model's inline runner, used when the Executor is not running.
        emitter: where a chunk event goes when somebody listens.
        buffer: deltas buffered between the call and a slow reader (started).
        failure: why the model's tree stopped, if it failed (the call is then refused).
        refused: finishes a Calling the Executor stopped before it was queued.
    """
    calling.streaming = True

    async def open_(nursery: trio.Nursery | None) -> _Opened:
        started = executor.ref.is_alive
        size = math.inf if not started and nursery is None else buffer
        send, receive = trio.open_memory_channel[StreamDelta](size)
        if calling.finished:  # a PreEventCreate hook aborted it: an empty stream
            send.close()
            await trio.lowlevel.checkpoint()
            return receive, _nothing
        calling.stream_sink = send
        if started:
            try:
                await executor.submit(calling)
            except ActorStopped:
                if calling.status is not CallingStatus.PENDING:
                    raise
                refused(calling)  # the model stopped while it waited for queue room
                return receive, _nothing
            except BaseException as error:
                settle_refused(calling, error)  # never queued: finish it all the same
                raise
            return receive, calling.cancel
        stopped = failure()
        if stopped is not None:
            calling.abort(error=ModelStopped(calling.id, model, stopped))
            return receive, _nothing
        if nursery is None:
            await inline.run(calling)  # no task to run it in: buffer it all
            return receive, _nothing
        scope = trio.CancelScope()

        async def run_inline() -> None:
            with scope:
                await inline.run(calling)

        nursery.start_soon(run_inline)
        return receive, scope.cancel

    async def on_chunk(index: int, delta: StreamDelta) -> None:
        if not emitter.listening:
            return  # no event per chunk for nobody
        await emitter.emit(
            StreamChunkReceived(model=model, calling_id=calling.id, index=index, delta=delta)
        )

    def finish() -> None:
        outcome(calling)

    return StreamChannel(calling, StreamSource(open_, on_chunk, finish))


def _nothing() -> None:
    pass
