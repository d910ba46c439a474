"""What a stream consumer sees, over loopback against the fake provider.

- lionpride's spelling works: ``channel.add_consumer(lambda chunk: print(chunk.content))``
  (a StreamDelta's ``content`` is its text) while ``invoke_stream`` still yields strings;
- with ``n`` > 1 the choices stay apart: ``invoke_stream`` and ``get_accumulated`` are the
  first choice's, each delta names its ``choice``, the response keeps them all;
- a stream cut while a tool call was arriving raises StreamInterrupted with the partial
  tool calls, the unfinished one marked incomplete with what parses of it;
- ``retry-after: 0`` is not an immediate retry: it waits the RetryPolicy's floor.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from callboard import RetryPolicy, StreamDelta, StreamInterrupted, iModel
from callboard.testing import FakeProvider, Fault
from tests.hostile.server import HostileServer, Move, Request, respond

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
        },
    },
}


def _model(base_url: str, **options: Any) -> iModel:
    return iModel(
        provider="openai",
        base_url=f"{base_url}/v1",
        api_key="test-key",
        model="gpt-4o",
        timeout=None,
        **options,
    )


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
async def test_a_consumer_reads_chunk_content_as_in_lionpride(started: bool) -> None:
    async with FakeProvider() as fp:
        model = _model(fp.base_url)
        printed: list[str] = []

        async def run() -> None:
            channel = await model.invoke_stream_with_channel(
                messages=[{"role": "user", "content": "tell me a story"}]
            )
            channel.add_consumer(lambda chunk: printed.append(chunk.content))
            async for _ in channel:
                pass
            assert "".join(printed) == channel.get_accumulated() == channel.calling.response.text
            pieces = [
                p async for p in model.invoke_stream(messages=[{"role": "user", "content": "x"}])
            ]
            assert all(isinstance(piece, str) for piece in pieces) and pieces[0] == "echo"

        if started:
            async with model:
                await run()
        else:
            await run()
    words = [piece for piece in printed if piece]  # usage and finish deltas carry no text
    assert words[0] == "echo" and words[-1] == " story"


async def test_n_choices_stay_apart_in_a_stream() -> None:
    async with FakeProvider() as fp:
        model = _model(fp.base_url)
        async with model:
            request = {"messages": [{"role": "user", "content": "pick"}], "n": 3}
            channel = await model.invoke_stream_with_channel(**request)
            deltas: list[StreamDelta] = [delta async for delta in channel]
            texts = [p async for p in model.invoke_stream(**request)]
    response = channel.calling.response
    assert [c.index for c in response.choices] == [0, 1, 2]
    assert channel.get_accumulated() == response.text == response.choices[0].text
    assert "".join(texts) == response.choices[0].text
    for choice in response.choices:
        mine = "".join(d.text for d in deltas if d.choice == choice.index)
        assert mine == choice.text
    assert response.choices[1].text.startswith("echo ") and "/1:" in response.choices[1].text


async def test_a_cut_stream_keeps_its_partial_tool_calls() -> None:
    async with FakeProvider() as fp:
        model = _model(fp.base_url, retry=RetryPolicy.disabled())
        # The fake sends the call's arguments in pieces; a reset halfway cuts them off.
        fp.script("/v1/chat/completions", [Fault.reset()])
        request = {
            "messages": [{"role": "user", "content": "Lisbon in the spring time"}],
            "tools": [WEATHER],
        }
        with pytest.raises(StreamInterrupted) as caught:
            async for _ in model.invoke_stream(**request):
                pass
    calls = caught.value.partial_tool_calls
    assert [call.name for call in calls] == ["get_weather"]
    call = calls[0]
    assert call.incomplete
    assert call.arguments.startswith('{"city":')
    assert call.partial_arguments in ({}, {"city": "Lisbon in the spring time"})  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(ValueError):
        json.loads(call.arguments)


async def test_a_zero_retry_after_waits_the_floor(autojump_clock: trio.abc.Clock) -> None:
    answered: list[float] = []
    body = {
        "id": "c",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
    }

    async def script(request: Request) -> list[Move]:
        answered.append(trio.current_time())
        if len(answered) == 1:
            return [
                respond(
                    429,
                    [("retry-after", "0"), ("content-type", "application/json")],
                    b'{"error":{"message":"slow down","type":"rate_limit_error"}}',
                )
            ]
        return [respond(200, [("content-type", "application/json")], json.dumps(body).encode())]

    async with HostileServer(script) as server:
        model = _model(server.base_url, retry=RetryPolicy(max_retries=1, jitter="none"))
        calling = await model.invoke(messages=[{"role": "user", "content": "hi"}])
    assert calling.response.text == "ok"
    assert answered[1] - answered[0] == pytest.approx(0.5, abs=0.01)
