"""Streaming through the Endpoint: deltas as they come, the final response, what is charged."""

from __future__ import annotations

import pytest
import trio

from callboard.calling import Calling
from callboard.providers import StreamDelta
from callboard.resilience import Overloaded, RetryPolicy, StreamInterrupted
from callboard.testing import FakeProvider, Fault, Latency

from .endpoint_rig import CHAT, ROUTES, rig


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_stream_forwards_deltas_and_returns_the_final_response(provider: str) -> None:
    async with rig(provider) as r:
        send, receive = trio.open_memory_channel[StreamDelta](100)
        calling = Calling(dict(CHAT), streaming=True, stream_sink=send)
        response = await r.executor.call(calling)
        deltas = [delta async for delta in receive]
    text = "".join(d.text for d in deltas)
    assert text == response.text
    assert response.text.endswith(": hello there")
    assert response.usage is not None
    assert response.usage.completion_tokens == 4  # "echo", "<digest>:", "hello", "there"
    assert calling.actual_tokens == response.usage.total_tokens
    assert r.fp.requests[0].json()["stream"] is True


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_a_truncated_stream_keeps_the_partial_text_and_is_charged(provider: str) -> None:
    async with rig(provider) as r:
        r.fp.script(ROUTES[provider], [Fault.truncated_sse()])
        send, receive = trio.open_memory_channel[StreamDelta](100)
        calling = Calling(dict(CHAT), streaming=True, stream_sink=send)
        with pytest.raises(StreamInterrupted) as caught:
            await r.executor.call(calling)
        deltas = [delta async for delta in receive]
        assert len(r.fp.requests) == 1  # not retried: the caller saw part of it
    partial = caught.value.partial_text
    assert partial
    assert partial == "".join(d.text for d in deltas)
    assert caught.value.calling_id == calling.id
    assert calling.actual_tokens is not None
    assert calling.actual_tokens > 0


async def test_an_error_event_after_text_is_typed_and_not_retried() -> None:
    async with rig("anthropic") as r:
        r.fp.script(ROUTES["anthropic"], [Fault.sse_error(), None])
        send, _receive = trio.open_memory_channel[StreamDelta](100)
        calling = Calling(dict(CHAT), streaming=True, stream_sink=send)
        with pytest.raises(Overloaded) as caught:
            await r.executor.call(calling)
        assert len(r.fp.requests) == 1
    assert caught.value.should_retry is False


async def test_an_error_before_the_stream_is_retried() -> None:
    async with rig(retry=RetryPolicy(max_retries=1, base_delay=0.0)) as r:
        r.fp.script(ROUTES["openai"], [Fault.error(503), None])
        send, receive = trio.open_memory_channel[StreamDelta](100)
        response = await r.executor.call(Calling(dict(CHAT), streaming=True, stream_sink=send))
        deltas = [delta async for delta in receive]
    assert "".join(d.text for d in deltas) == response.text
    assert [q.status for q in r.fp.requests] == [503, 200]


async def test_a_cancelled_stream_is_charged_what_it_consumed(autojump_clock: object) -> None:
    latency = Latency(per_chunk=1.0)
    fp = FakeProvider(latency=latency)
    async with rig(fp=fp, executor_options={"limit_tokens": 10_000}) as r:
        send, receive = trio.open_memory_channel[StreamDelta](100)
        payload = {**CHAT, "max_tokens": 500}
        calling = Calling(payload, streaming=True, stream_sink=send)
        with trio.move_on_after(2.5):
            await r.executor.call(calling)
        seen = "".join([d.text async for d in receive])
    assert calling.status.value == "cancelled"
    assert seen  # some text arrived before the cancel
    assert calling.actual_tokens is not None
    # charged the prompt and what was seen, far below the 500-token reservation
    assert 0 < calling.actual_tokens < 50
