"""Streaming: invoke_stream and StreamChannel over a tiny streaming backend."""

from __future__ import annotations

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.imodel import (
    HookPhase,
    HookRegistry,
    InvocationError,
    StreamChannelError,
    StreamChunkReceived,
    iModel,
)
from callboard.providers import StreamDelta
from tests.model_backends import StreamingBackend

WORDS = ["Once ", "upon ", "a ", "time."]


async def test_invoke_stream_started_yields_chunks_as_they_arrive(autojump_clock: object) -> None:
    backend = StreamingBackend(WORDS, gap=1.0)
    arrivals: list[tuple[str, float]] = []
    async with iModel(backend=backend) as model:
        async for chunk in model.invoke_stream(messages=[]):
            arrivals.append((chunk, trio.current_time()))
    assert [c for c, _ in arrivals] == WORDS
    sent_at = [t for _, t in backend.sent]
    # each chunk reached the reader when it was sent, not at the end
    assert [t for _, t in arrivals] == pytest.approx(sent_at)
    assert sent_at[-1] - sent_at[0] == pytest.approx(3.0)


async def test_invoke_stream_inline_delivers_every_chunk() -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0))
    assert [chunk async for chunk in model.invoke_stream(messages=[])] == WORDS


@pytest.mark.parametrize("started", [False, True])
async def test_a_broken_stream_raises_the_typed_error_after_its_chunks(started: bool) -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0, fail_after=2))
    got: list[str] = []

    async def read() -> None:
        with pytest.raises(InvocationError) as caught:
            async for chunk in model.invoke_stream(messages=[]):
                got.append(chunk)
        assert caught.value.calling.status is CallingStatus.FAILED  # type: ignore[attr-defined]

    if started:
        async with model:
            await read()
    else:
        await read()
    assert got == WORDS[:2]


async def test_three_consumers_one_slow_does_not_stall_the_others(
    autojump_clock: object,
) -> None:
    backend = StreamingBackend(WORDS, gap=1.0)
    fast_sync: list[tuple[str, float]] = []
    fast_async: list[tuple[str, float]] = []
    slow: list[tuple[str, float]] = []

    async def fast_consumer(delta: StreamDelta) -> None:
        fast_async.append((delta.text, trio.current_time()))

    async def slow_consumer(delta: StreamDelta) -> None:
        await trio.sleep(10.0)
        slow.append((delta.text, trio.current_time()))

    async with iModel(backend=backend) as model:
        channel = await model.invoke_stream_with_channel(messages=[])
        channel.add_consumer(lambda d: fast_sync.append((d.text, trio.current_time())))
        channel.add_consumer(fast_consumer)
        channel.add_consumer(slow_consumer)
        read: list[float] = []
        async with channel:
            async for _ in channel:
                read.append(trio.current_time())
            stream_end = trio.current_time()
        block_end = trio.current_time()
    sent_at = [t for _, t in backend.sent]
    assert read == pytest.approx(sent_at)
    assert [t for _, t in fast_sync] == pytest.approx(sent_at)
    assert [t for _, t in fast_async] == pytest.approx(sent_at)
    assert stream_end == pytest.approx(sent_at[-1])  # the slow one held nothing up
    # the slow consumer still got every chunk, in order, and the block waited for it
    assert [text for text, _ in slow] == WORDS
    assert block_end == pytest.approx(sent_at[0] + 40.0)
    assert channel.get_accumulated() == "".join(WORDS)
    assert channel.chunks == 4
    assert channel.consumer_errors == []


async def test_seed_style_sync_consumers_without_a_block() -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0))
    channel = await model.invoke_stream_with_channel(messages=[])
    texts: list[str] = []
    channel.add_consumer(lambda chunk: texts.append(chunk.text))
    async for _ in channel:
        pass
    assert texts == WORDS
    assert channel.get_accumulated() == "Once upon a time."
    assert channel.calling.status is CallingStatus.COMPLETED
    assert channel.calling.response.text == "Once upon a time."


async def test_inline_channel_block_streams_live_in_its_own_nursery(
    autojump_clock: object,
) -> None:
    backend = StreamingBackend(WORDS, gap=1.0)
    model = iModel(backend=backend)  # never started
    channel = await model.invoke_stream_with_channel(messages=[])
    read: list[float] = []
    async with channel:
        async for _ in channel:
            read.append(trio.current_time())
    assert read == pytest.approx([t for _, t in backend.sent])


async def test_a_failing_consumer_is_dropped_and_the_stream_goes_on() -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0))
    channel = await model.invoke_stream_with_channel(messages=[])
    good: list[str] = []

    def bad(delta: StreamDelta) -> None:
        raise ValueError("consumer bug")

    channel.add_consumer(bad)
    channel.add_consumer(lambda d: good.append(d.text))
    async for _ in channel:
        pass
    assert good == WORDS
    assert [(name, type(error)) for name, error in channel.consumer_errors] == [("bad", ValueError)]


async def test_async_consumers_need_the_block() -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0))
    channel = await model.invoke_stream_with_channel(messages=[])

    async def consumer(delta: StreamDelta) -> None:
        await trio.lowlevel.checkpoint()

    channel.add_consumer(consumer)
    with pytest.raises(StreamChannelError, match="async with channel"):
        async for _ in channel:
            pass


async def test_the_block_drives_the_stream_when_nobody_iterates() -> None:
    got: list[str] = []

    async def consumer(delta: StreamDelta) -> None:
        got.append(delta.text)

    async with iModel(backend=StreamingBackend(WORDS, gap=0.0)) as model:
        channel = await model.invoke_stream_with_channel(messages=[])
        channel.add_consumer(consumer)
        async with channel:
            pass
    assert got == WORDS
    with pytest.raises(StreamChannelError, match="once"):
        async for _ in channel:
            pass


async def test_leaving_early_cancels_the_call(autojump_clock: object) -> None:
    backend = StreamingBackend(WORDS, gap=1.0)
    async with iModel(backend=backend, limit_requests=5) as model:
        channel = await model.invoke_stream_with_channel(messages=[])
        async with channel:
            async for delta in channel:
                assert delta.text == WORDS[0]
                break
        await channel.calling.wait_finished()
        assert channel.calling.status is CallingStatus.CANCELLED
        assert len(backend.sent) == 1
        assert model.executor.in_flight == 0


async def test_stream_chunk_observers_see_every_chunk() -> None:
    seen: list[tuple[int, str]] = []
    hooks = HookRegistry()

    def on_chunk(event: StreamChunkReceived) -> None:
        seen.append((event.index, event.delta.text))

    hooks.register(HookPhase.StreamChunk, on_chunk)
    async with iModel(backend=StreamingBackend(WORDS, gap=0.0), hook_registry=hooks) as model:
        assert [c async for c in model.invoke_stream(messages=[])] == WORDS
    assert seen == list(enumerate(WORDS))


async def test_inline_stream_chunk_observers_see_every_chunk() -> None:
    seen: list[tuple[int, str]] = []
    hooks = HookRegistry()
    hooks.register(
        HookPhase.StreamChunk, lambda event: seen.append((event.index, event.delta.text))
    )
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0), hook_registry=hooks)
    assert [c async for c in model.invoke_stream(messages=[])] == WORDS  # never started
    assert seen == list(enumerate(WORDS))


async def test_streams_reconcile_tokens_from_the_final_usage(autojump_clock: object) -> None:
    model = iModel(backend=StreamingBackend(WORDS, gap=0.0), limit_tokens=1000)
    async for _ in model.invoke_stream(messages=[{"role": "user", "content": "hi"}]):
        pass
    assert model.token_limiter is not None
    # the final usage (3 + 4 tokens) replaced the estimate in the configured bucket
    ceiling = model.token_limiter.ceiling
    assert ceiling.available == pytest.approx(1000 - 7, abs=0.01)  # type: ignore[attr-defined]


async def test_a_broken_stream_leaves_the_channel_block_unwrapped() -> None:
    async with iModel(backend=StreamingBackend(WORDS, gap=0.0, fail_after=1)) as model:
        channel = await model.invoke_stream_with_channel(messages=[])
        with pytest.raises(InvocationError):
            async with channel:
                async for _ in channel:
                    pass
        assert channel.get_accumulated() == WORDS[0]


async def test_closing_invoke_stream_early_cancels_the_call(autojump_clock: object) -> None:
    backend = StreamingBackend(WORDS, gap=1.0)
    async with iModel(backend=backend) as model:
        stream = model.invoke_stream(messages=[])
        assert await anext(stream) == WORDS[0]
        await stream.aclose()
        await trio.sleep(10)
        assert len(backend.sent) == 1
        assert model.executor.in_flight == 0
