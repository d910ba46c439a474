"""A tool loop through callboard: the model's turn goes back with the tool results.

With extended thinking and tools, Anthropic requires the signed thinking block back,
unchanged, at the start of the assistant turn that precedes the tool results; the
Responses API requires a function call's reasoning item back with it. The fake provider
checks both as the APIs do (a 400 otherwise), so these tests pass only when
``NormalizedResponse.turn`` carries what the provider sent, from a JSON body and from a
stream, over each transport.
"""

from __future__ import annotations

from typing import Any

import pytest

from callboard import BadRequest, NormalizedResponse, RetryPolicy, iModel
from callboard.testing import FakeProvider

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
THINKING = {"type": "enabled", "budget_tokens": 1024}


def _model(fp: FakeProvider, provider: str, endpoint: str = "chat", **options: Any) -> iModel:
    return iModel(
        provider=provider,
        endpoint=endpoint,
        base_url=f"{fp.base_url}/v1",
        api_key="test-key",
        timeout=None,
        retry=RetryPolicy.disabled(),
        **options,
    )


async def _ask(model: iModel, stream: bool, **request: Any) -> NormalizedResponse:
    if stream:
        channel = await model.invoke_stream_with_channel(**request)
        async for _ in channel:
            pass
        response = channel.calling.response
    else:
        response = (await model.invoke(**request)).response
    assert isinstance(response, NormalizedResponse)
    return response


@pytest.mark.parametrize("transport", ["http", "httpx", "sdk"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_extended_thinking_with_tools_round_trips(stream: bool, transport: str) -> None:
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]
    async with FakeProvider() as fp:
        model = _model(fp, "anthropic", transport=transport, model="claude-sonnet-4-6")
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Paris"}]
        request = {"max_tokens": 2048, "thinking": THINKING, "tools": tools}
        first = await _ask(model, stream, messages=messages, **request)
        assert first.finish_reason == "tool_use"
        assert first.thinking[0].kind == "thinking" and first.thinking[0].signature
        call = first.tool_calls[0]
        results = {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}
            ],
        }
        final = await _ask(model, stream, messages=[*messages, *first.turn, results], **request)
        assert final.text.endswith("18 C and sunny")  # the fake echoes the tool result
        assert final.finish_reason == "end_turn"
        sent = fp.requests[-1].json()["messages"][1]["content"]
        assert sent[0] == {
            "type": "thinking",
            "thinking": first.thinking[0].text,
            "signature": first.thinking[0].signature,
        }

        # What a client that drops or edits the thinking block gets: the API's 400.
        bare = {"role": "assistant", "content": [b for b in sent if b["type"] == "tool_use"]}
        with pytest.raises(BadRequest, match="Expected `thinking` or `redacted_thinking`"):
            await _ask(model, stream, messages=[*messages, bare, results], **request)
        edited = {"role": "assistant", "content": [{**sent[0], "thinking": "edited"}, *sent[1:]]}
        with pytest.raises(BadRequest, match="Invalid `signature`"):
            await _ask(model, stream, messages=[*messages, edited, results], **request)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_redacted_thinking_round_trips(stream: bool) -> None:
    trigger = (
        "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
        "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
    )
    tools = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]
    async with FakeProvider() as fp:
        model = _model(fp, "anthropic", model="claude-sonnet-4-6")
        messages: list[dict[str, Any]] = [{"role": "user", "content": trigger}]
        request = {"max_tokens": 2048, "thinking": THINKING, "tools": tools}
        first = await _ask(model, stream, messages=messages, **request)
        assert [t.kind for t in first.thinking] == ["redacted_thinking"]
        results = {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": first.tool_calls[0].id, "content": "ok"}
            ],
        }
        final = await _ask(model, stream, messages=[*messages, *first.turn, results], **request)
        assert final.text.endswith("ok")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_responses_reasoning_goes_back_with_the_function_call(stream: bool) -> None:
    tools = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}]
    async with FakeProvider() as fp:
        model = _model(fp, "openai", "responses", model="o4-mini")
        request = {
            "tools": tools,
            "reasoning": {"effort": "low"},
            "store": False,
            "include": ["reasoning.encrypted_content"],
        }
        question = [{"role": "user", "content": "Paris"}]
        first = await _ask(model, stream, input=question, **request)
        assert [item["type"] for item in first.turn] == ["reasoning", "function_call"]
        output = {
            "type": "function_call_output",
            "call_id": first.tool_calls[0].id,
            "output": "18 C",
        }
        final = await _ask(model, stream, input=[*question, *first.turn, output], **request)
        assert final.text.endswith("18 C")
        without = [item for item in first.turn if item["type"] != "reasoning"]
        with pytest.raises(BadRequest, match="without its required 'reasoning' item"):
            await _ask(model, stream, input=[*question, *without, output], **request)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_chat_tool_calls_round_trip(stream: bool) -> None:
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
    ]
    async with FakeProvider() as fp:
        model = _model(fp, "openai", model="gpt-4o")
        messages: list[dict[str, Any]] = [{"role": "user", "content": "Paris"}]
        first = await _ask(model, stream, messages=messages, tools=tools)
        assert first.finish_reason == "tool_calls" and first.turn[0]["content"] is None
        call = first.tool_calls[0]
        assert call.parsed_arguments() == {"city": "Paris"}
        result = {"role": "tool", "tool_call_id": call.id, "content": "18 C"}
        final = await _ask(model, stream, messages=[*messages, *first.turn, result], tools=tools)
        assert final.text.endswith("18 C") and final.tool_calls == ()
