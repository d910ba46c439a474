"""The documented shapes, written out as samples, read alike by the SDKs and by callboard.

Each file of ``samples/`` is a response body or a stream written after the providers'
API references (refusals, ``n`` > 1 with log probabilities, reasoning and cached
tokens, tool calls cut by the output limit, extended thinking with its signature,
redacted thinking, cache writes and reads, a stream that lost its last event or its
final blank line, the Responses API). A raw-socket server sends its bytes unchanged; the
official SDK and callboard (the ``http`` and ``httpx`` transports, and ``sdk`` for
Anthropic) read
them, and agree field by field. Each sample also says what it is there to show.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest
import trio

from callboard import Calling, Executor, NormalizedResponse, RetryPolicy, match_endpoint
from tests.hostile.server import HostileServer, Move, Request, chunked, respond

from .sdk_views import anthropic_view, callboard_view, openai_chat_view, responses_view

SAMPLES = Path(__file__).parent / "samples"
KEY = "sk-sample-key-0000"
sdk_stream = pytest.mark.filterwarnings(
    r"ignore:Async generator '(openai|anthropic|httpx2|httpcore2)\.:ResourceWarning"
)

Check = Callable[[NormalizedResponse], bool]

WHAT: dict[str, Check] = {
    "openai_chat_refusal.json": lambda r: (
        r.refusal == "I'm sorry, I cannot assist with that request." and r.text == ""
    ),
    "openai_chat_refusal.sse": lambda r: (
        r.refusal == "I'm sorry, I cannot assist with that." and r.turn[0]["refusal"] == r.refusal
    ),
    "openai_chat_n2_logprobs.sse": lambda r: (
        [c.text for c in r.choices] == ["Sunny.", "Rainy today."]
        and r.logprobs is not None
        and r.logprobs.content[0].top_logprobs[1].token == "x"
        and r.usage is not None
        and (r.usage.cached_tokens, r.usage.reasoning_tokens) == (1152, 64)
    ),
    "openai_chat_reasoning_tools.json": lambda r: (
        [c.name for c in r.tool_calls] == ["get_weather", "get_time"]
        and r.usage is not None
        and (r.usage.reasoning_tokens, r.usage.cached_tokens) == (256, 1920)
    ),
    "openai_chat_tool_cut.sse": lambda r: (
        r.finish_reason == "length"
        and r.tool_calls[0].incomplete
        and r.tool_calls[0].partial_arguments == {"destination": "Lisbon", "nights": 3}
    ),
    "anthropic_thinking_tool_use.sse": lambda r: (
        r.thinking[0].signature is not None
        and r.thinking[0].signature.startswith("EqQB")
        and r.turn[0]["content"][0]["type"] == "thinking"  # type: ignore[index]
        and r.tool_calls[0].parsed_arguments() == {"city": "Paris", "unit": "celsius"}
    ),
    "anthropic_redacted_thinking_cache.json": lambda r: (
        [t.kind for t in r.thinking] == ["redacted_thinking", "thinking"]
        and r.usage is not None
        and (r.usage.prompt_tokens, r.usage.cached_tokens, r.usage.cache_write_tokens)
        == (2009, 1800, 188)
    ),
    "anthropic_no_message_stop.sse": lambda r: (
        r.text == "Finished answer." and r.finish_reason == "end_turn"
    ),
    "anthropic_no_final_blank_line.sse": lambda r: (
        r.text == "Finished answer." and r.usage is not None and r.usage.cached_tokens == 12
    ),
    "anthropic_tool_cut.sse": lambda r: (
        r.finish_reason == "max_tokens"
        and r.tool_calls[0].incomplete
        and r.tool_calls[0].partial_arguments == {"destination": "Lisbon", "nights": 3}
    ),
    "anthropic_refusal.sse": lambda r: (
        r.refusal == "This looks like malware development." and r.text == "Here is how"
    ),
    "anthropic_tool_use.sse": lambda r: r.tool_calls[0].name == "get_weather",
    "anthropic_empty_tool_input.sse": lambda r: r.tool_calls[0].arguments == "{}",
    "responses_reasoning_tool.json": lambda r: (
        r.thinking[0].text == "**Checking the weather**\n\nParis needs one call."
        and r.thinking[0].data == "gAAAAABoSampleEncrypted"
        and r.tool_calls[0].id == "call_68c"
        and [item["type"] for item in r.turn] == ["reasoning", "function_call"]
    ),
    "responses_text_logprobs.sse": lambda r: (
        r.text == "Hello there!"
        and r.logprobs is not None
        and [t.token for t in r.logprobs.content] == ["Hello", " there!"]
    ),
}


def _api(name: str) -> str:
    return name.split("_", 1)[0] if not name.startswith("openai") else "chat"


CASES = [
    pytest.param(name, transport, id=f"{name}-{transport}")
    for name in sorted(WHAT)
    for transport in (
        ("http", "httpx", "sdk") if name.startswith("anthropic") else ("http", "httpx")
    )
]


def _moves(data: bytes, stream: bool) -> list[Move]:
    if not stream:
        return [respond(200, [("content-type", "application/json")], data)]
    head = [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]
    return [respond(200, head, chunked(data), length=False)]


REQUESTS: dict[str, dict[str, Any]] = {
    "chat": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    "anthropic": {
        "model": "claude-sonnet-4-6",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "hi"}],
    },
    "responses": {"model": "gpt-5-mini", "input": "hi"},
}


async def _sdk(server: HostileServer, api: str, stream: bool) -> dict[str, Any]:
    payload = REQUESTS[api]
    async with httpx2.AsyncClient(timeout=None) as http:
        if api == "anthropic":
            claude = anthropic.AsyncAnthropic(
                api_key=KEY, base_url=server.base_url, http_client=http, max_retries=0
            )
            if not stream:
                return anthropic_view(await claude.messages.create(**payload))
            async with claude.messages.stream(**payload) as events:
                return anthropic_view(await events.get_final_message())
        client = openai.AsyncOpenAI(
            api_key=KEY, base_url=f"{server.base_url}/v1", http_client=http, max_retries=0
        )
        if api == "chat":
            if not stream:
                return openai_chat_view(await client.chat.completions.create(**payload))
            async with client.chat.completions.stream(**payload) as events:
                async for _ in events:
                    pass
                try:
                    return openai_chat_view(await events.get_final_completion())
                except openai.LengthFinishReasonError as cut:
                    return openai_chat_view(cut.completion)
        if not stream:
            return responses_view(await client.responses.create(**payload))
        async with client.responses.stream(**payload) as events:
            async for _ in events:
                pass
            return responses_view(await events.get_final_response())


async def _callboard(
    server: HostileServer, api: str, stream: bool, transport: str
) -> NormalizedResponse:
    endpoint = match_endpoint(
        api if api == "anthropic" else "openai",
        "responses" if api == "responses" else "chat",
        base_url=f"{server.base_url}/v1",
        api_key=KEY,
        timeout=None,
        retry=RetryPolicy.disabled(),
        transport=transport,
    )
    executor = Executor(endpoint)
    endpoint.attach(executor)
    async with trio.open_nursery() as nursery:
        await nursery.start(endpoint.run)
        await nursery.start(executor.run)
        try:
            return await executor.call(Calling(dict(REQUESTS[api]), streaming=stream))
        finally:
            executor.ref.stop()
            endpoint.ref.stop()


@sdk_stream
@pytest.mark.parametrize(("name", "transport"), CASES)
async def test_the_sdk_and_callboard_read_a_sample_alike(name: str, transport: str) -> None:
    data = (SAMPLES / name).read_bytes()
    stream = name.endswith(".sse")
    api = _api(name)

    async def script(request: Request) -> list[Move]:
        return _moves(data, stream)

    async with HostileServer(script) as server:
        with trio.fail_after(20):
            expected = await _sdk(server, api, stream)
            response = await _callboard(server, api, stream, transport)
    assert callboard_view(response, "anthropic" if api == "anthropic" else "openai") == expected
    assert WHAT[name](response), name


def test_every_sample_is_in_the_table() -> None:
    assert {path.name for path in SAMPLES.iterdir()} == set(WHAT)
