"""Whatever the official SDKs give the user, callboard gives too: one table of shapes.

For each shape the fake provider produces (text, tool calls single and parallel, a tool
call cut off by the output limit, refusals, extended thinking with its signature,
redacted thinking, prompt-cache writes and reads, reasoning tokens, ``n`` > 1 choices,
log probabilities, the Responses API with reasoning), over JSON and SSE, over the
``http`` (h11) and ``httpx`` transports and, for Anthropic, the ``sdk`` one (it sends
Messages requests only): the official SDK parses the fake provider's bytes (``create``,
or its stream helper's final object), callboard normalizes the same bytes through an
Endpoint and an Executor, and the two agree field by field (see ``sdk_views``). The
fake provider is deterministic and each side gets a fresh one on a MockClock, so both
read byte-identical answers.

Streams also check what was forwarded on the way: the deltas' text, refusal and
thinking pieces add up to the final response's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anthropic
import attrs
import httpx2
import openai
import pytest
import trio

from callboard import (
    Calling,
    Executor,
    NormalizedResponse,
    RetryPolicy,
    StreamDelta,
    match_endpoint,
)
from callboard.testing import FakeProvider

from .sdk_views import anthropic_view, callboard_view, openai_chat_view, responses_view

KEY = "test-key"
sdk_stream = pytest.mark.filterwarnings(
    r"ignore:Async generator '(openai|anthropic|httpx2|httpcore2)\.:ResourceWarning"
)

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["celsius", "fahrenheit"]}},
        "required": ["city", "unit"],
    },
}
CLOCK = {
    "name": "get_time",
    "description": "The time in a city.",
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "hour24": {"type": "boolean"}},
        "required": ["city", "hour24"],
    },
}
LONG = "The cached preamble of a long conversation. " * 120  # ~1,300 tokens: cacheable
REDACT = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
    "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)


def chat_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "function": {"name": t["name"], "description": t["description"],
                                           "parameters": t["schema"]}}
        for t in tools
    ]  # fmt: skip


def messages_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": t["name"], "description": t["description"], "input_schema": t["schema"]}
        for t in tools
    ]


def responses_tools(*tools: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "function", "name": t["name"], "description": t["description"],
         "parameters": t["schema"], "strict": True}
        for t in tools
    ]  # fmt: skip


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


@attrs.frozen
class Shape:
    """A request that makes the fake provider answer in one documented shape."""

    name: str
    api: str  # "chat", "messages" or "responses"
    payload: dict[str, Any]
    warm: bool = False  # send it once first: the answer compared is the second one
    expect: Callable[[NormalizedResponse], object] | None = None  # the shape is really there


CHAT = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-6"
THINK = {"type": "enabled", "budget_tokens": 1024}

SHAPES = [
    Shape("text", "chat", {"model": CHAT, "messages": user("hello there")}),
    Shape(
        "tool call",
        "chat",
        {
            "model": CHAT,
            "messages": user("Paris"),
            "tools": chat_tools(WEATHER, CLOCK),
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        },
        expect=lambda r: [c.name for c in r.tool_calls] == ["get_weather"],
    ),
    Shape(
        "parallel tool calls",
        "chat",
        {"model": CHAT, "messages": user("Paris"), "tools": chat_tools(WEATHER, CLOCK)},
        expect=lambda r: [c.name for c in r.tool_calls] == ["get_weather", "get_time"],
    ),
    Shape(
        "tool call cut by max_tokens",
        "chat",
        {
            "model": CHAT,
            "messages": user("Paris in spring"),
            "tools": chat_tools(WEATHER),
            "max_tokens": 4,
        },
        expect=lambda r: r.tool_calls[-1].incomplete and r.finish_reason == "length",
    ),
    Shape(
        "refusal",
        "chat",
        {"model": CHAT, "messages": user("FLAGME please")},
        expect=lambda r: r.refusal == "I'm sorry, but I can't help with that." and not r.text,
    ),
    Shape(
        "reasoning tokens",
        "chat",
        {"model": "o4-mini", "messages": user("think"), "reasoning_effort": "high"},
        expect=lambda r: r.usage is not None and r.usage.reasoning_tokens == 64,
    ),
    Shape(
        "cached prompt tokens",
        "chat",
        {"model": CHAT, "messages": [{"role": "system", "content": LONG}, *user("hi")]},
        warm=True,
        expect=lambda r: r.usage is not None and r.usage.cached_tokens >= 1024,
    ),
    Shape(
        "n choices",
        "chat",
        {"model": CHAT, "messages": user("pick one"), "n": 3},
        expect=lambda r: [c.index for c in r.choices] == [0, 1, 2],
    ),
    Shape(
        "logprobs",
        "chat",
        {"model": CHAT, "messages": user("rate this"), "logprobs": True, "top_logprobs": 2, "n": 2},
        expect=lambda r: r.logprobs is not None and len(r.logprobs.content[0].top_logprobs) == 2,
    ),
    Shape(
        "refusal logprobs",
        "chat",
        {"model": CHAT, "messages": user("FLAGME"), "logprobs": True},
        expect=lambda r: r.logprobs is not None and len(r.logprobs.refusal) == 8,
    ),
    Shape("text", "messages", {"model": CLAUDE, "max_tokens": 64, "messages": user("hello")}),
    Shape(
        "tool use",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 200,
            "messages": user("Paris"),
            "tools": messages_tools(WEATHER, CLOCK),
            "tool_choice": {"type": "tool", "name": "get_time"},
        },
        expect=lambda r: [c.name for c in r.tool_calls] == ["get_time"],
    ),
    Shape(
        "parallel tool use",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 200,
            "messages": user("Paris"),
            "tools": messages_tools(WEATHER, CLOCK),
        },
        expect=lambda r: len(r.tool_calls) == 2 and r.text == "calling get_weather get_time",
    ),
    Shape(
        "tool use cut by max_tokens",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 6,
            "messages": user("Paris in spring"),
            "tools": messages_tools(WEATHER),
        },
        expect=lambda r: r.tool_calls[-1].incomplete and r.finish_reason == "max_tokens",
    ),
    Shape(
        "thinking",
        "messages",
        {"model": CLAUDE, "max_tokens": 2048, "thinking": THINK, "messages": user("why")},
        expect=lambda r: r.thinking[0].kind == "thinking" and bool(r.thinking[0].signature),
    ),
    Shape(
        "thinking with tool use",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 2048,
            "thinking": THINK,
            "messages": user("Paris"),
            "tools": messages_tools(WEATHER),
        },
        expect=lambda r: bool(r.thinking) and bool(r.tool_calls),
    ),
    Shape(
        "redacted thinking",
        "messages",
        {"model": CLAUDE, "max_tokens": 2048, "thinking": THINK, "messages": user(REDACT)},
        expect=lambda r: r.thinking[0].kind == "redacted_thinking" and bool(r.thinking[0].data),
    ),
    Shape(
        "refusal",
        "messages",
        {"model": CLAUDE, "max_tokens": 64, "messages": user("FLAGME")},
        expect=lambda r: r.finish_reason == "refusal" and bool(r.refusal),
    ),
    Shape(
        "cache write",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 64,
            "messages": user("hi"),
            "system": [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}],
        },
        expect=lambda r: r.usage is not None and r.usage.cache_write_tokens >= 1024,
    ),
    Shape(
        "cache read",
        "messages",
        {
            "model": CLAUDE,
            "max_tokens": 64,
            "messages": user("hi"),
            "system": [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}],
        },
        warm=True,
        expect=lambda r: (
            r.usage is not None
            and r.usage.cached_tokens >= 1024
            and r.usage.cache_write_tokens == 0
        ),
    ),
    Shape("text", "responses", {"model": "gpt-5-mini", "input": "hello there"}),
    Shape(
        "function calls",
        "responses",
        {"model": "gpt-5-mini", "input": "Paris", "tools": responses_tools(WEATHER, CLOCK)},
        expect=lambda r: len(r.tool_calls) == 2 and r.tool_calls[0].id.startswith("call_"),
    ),
    Shape(
        "reasoning with summary",
        "responses",
        {
            "model": "o4-mini",
            "input": "Paris",
            "tools": responses_tools(WEATHER),
            "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
        },
        expect=lambda r: r.thinking[0].text.startswith("Reasoned") and bool(r.thinking[0].data),
    ),
    Shape(
        "refusal",
        "responses",
        {"model": "gpt-5-mini", "input": "FLAGME"},
        expect=lambda r: r.refusal == "I'm sorry, but I can't help with that.",
    ),
    Shape(
        "logprobs",
        "responses",
        {
            "model": "gpt-5-mini",
            "input": "rate it",
            "top_logprobs": 3,
            "include": ["message.output_text.logprobs"],
        },
        expect=lambda r: r.logprobs is not None and len(r.logprobs.content) == 4,
    ),
    Shape(
        "cut by max_output_tokens",
        "responses",
        {
            "model": "gpt-5-mini",
            "input": "Paris",
            "tools": responses_tools(WEATHER),
            "max_output_tokens": 3,
        },
        expect=lambda r: r.finish_reason == "max_output_tokens" and r.tool_calls[0].incomplete,
    ),
    Shape(
        "cached input tokens",
        "responses",
        {"model": "gpt-5-mini", "instructions": LONG, "input": "hi"},
        warm=True,
        expect=lambda r: r.usage is not None and r.usage.cached_tokens >= 1024,
    ),
]

CASES = [
    pytest.param(shape, stream, transport, id=f"{shape.api}-{shape.name}-{mode}-{transport}")
    for shape in SHAPES
    for stream, mode in ((False, "json"), (True, "sse"))
    for transport in (("http", "httpx", "sdk") if shape.api == "messages" else ("http", "httpx"))
]


async def _sdk_answer(fp: FakeProvider, shape: Shape, stream: bool) -> dict[str, Any]:
    """The official SDK's parse of the fake provider's answer."""
    payload = dict(shape.payload)
    async with httpx2.AsyncClient(timeout=None) as http:
        if shape.api == "messages":
            claude = anthropic.AsyncAnthropic(
                api_key=KEY, base_url=fp.base_url, http_client=http, max_retries=0, timeout=None
            )

            async def ask_claude() -> Any:
                if not stream:
                    return await claude.messages.create(**payload)
                async with claude.messages.stream(**payload) as events:
                    return await events.get_final_message()

            return anthropic_view(await _twice(shape, ask_claude))
        client = openai.AsyncOpenAI(
            api_key=KEY, base_url=f"{fp.base_url}/v1", http_client=http, max_retries=0,
            timeout=None,
        )  # fmt: skip
        if shape.api == "chat":
            if stream:
                payload["stream_options"] = {"include_usage": True}  # as callboard asks

            async def ask_chat() -> Any:
                if not stream:
                    return await client.chat.completions.create(**payload)
                async with client.chat.completions.stream(**payload) as events:
                    async for _ in events:
                        pass
                    try:
                        return await events.get_final_completion()
                    except openai.LengthFinishReasonError as cut:  # the helper's own refusal
                        return cut.completion  # to "parse" a cut answer: what it did read

            return openai_chat_view(await _twice(shape, ask_chat))

        async def ask_responses() -> Any:
            if not stream:
                return await client.responses.create(**payload)
            final = None
            async with client.responses.stream(**payload) as events:
                async for event in events:
                    # get_final_response() knows only response.completed; a cut response
                    # ends with response.incomplete, which carries the response as well.
                    if event.type in ("response.completed", "response.incomplete"):
                        final = event.response
            return final

        return responses_view(await _twice(shape, ask_responses))


async def _twice(shape: Shape, ask: Callable[[], Awaitable[Any]]) -> Any:
    if shape.warm:
        await ask()
    return await ask()


async def _callboard_answer(
    fp: FakeProvider, shape: Shape, stream: bool, transport: str
) -> tuple[NormalizedResponse, list[StreamDelta]]:
    """callboard's normalized answer: match_endpoint -> Endpoint -> Executor -> loopback."""
    endpoint = match_endpoint(
        "anthropic" if shape.api == "messages" else "openai",
        "responses" if shape.api == "responses" else "chat",
        base_url=f"{fp.base_url}/v1",
        api_key=KEY,
        timeout=None,
        retry=RetryPolicy.disabled(),
        transport=transport,
    )
    executor = Executor(endpoint, concurrency_limit=2)
    endpoint.attach(executor)
    deltas: list[StreamDelta] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(endpoint.run)
        await nursery.start(executor.run)
        try:
            if shape.warm:
                await executor.call(Calling(dict(shape.payload)))
            send, receive = trio.open_memory_channel[StreamDelta](1000)
            calling = Calling(
                dict(shape.payload), streaming=stream, stream_sink=send if stream else None
            )
            response = await executor.call(calling)
            send.close()
            async with receive:
                deltas = [delta async for delta in receive]
        finally:
            executor.ref.stop()
            endpoint.ref.stop()
    assert isinstance(response, NormalizedResponse)
    return response, deltas


@sdk_stream
@pytest.mark.parametrize(("shape", "stream", "transport"), CASES)
async def test_callboard_and_the_official_sdk_agree(
    shape: Shape, stream: bool, transport: str, autojump_clock: trio.abc.Clock
) -> None:
    async with FakeProvider(keys=[KEY]) as fp:
        expected = await _sdk_answer(fp, shape, stream)
    async with FakeProvider(keys=[KEY]) as fp:
        response, deltas = await _callboard_answer(fp, shape, stream, transport)
        sent = fp.requests[-1].json()
    assert sent.get("stream", False) is stream
    dialect = "anthropic" if shape.api == "messages" else "openai"
    assert callboard_view(response, dialect) == expected
    if shape.expect is not None:
        assert shape.expect(response), shape.name
    if stream:
        first = [d for d in deltas if d.choice == 0]
        assert "".join(d.text for d in first) == response.text
        assert "".join(d.refusal for d in first) == (response.refusal or "")
        thought = "".join(d.thinking.text for d in deltas if d.thinking is not None)
        assert thought == "".join(t.text for t in response.thinking)
        for choice in response.choices:
            mine = [d for d in deltas if d.choice == choice.index]
            assert "".join(d.text for d in mine) == choice.text
