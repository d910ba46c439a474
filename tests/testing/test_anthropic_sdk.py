"""The official anthropic SDK parses Messages API responses, streams and errors."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import httpx2
import pytest

from callboard.testing import DEFAULT_MODELS, FakeProvider, Fault

from .conftest import KEY, sdk_stream


@pytest.fixture
async def sdk(fp: FakeProvider) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with httpx2.AsyncClient(timeout=None) as http:
        yield anthropic.AsyncAnthropic(
            api_key=KEY, base_url=fp.base_url, http_client=http, max_retries=0
        )


async def test_message(sdk: anthropic.AsyncAnthropic) -> None:
    reply = await sdk.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system="be brief",
        messages=[{"role": "user", "content": "what is trio"}],
    )
    block = reply.content[0]
    assert block.type == "text"
    assert block.text.startswith("echo ") and block.text.endswith(": what is trio")
    assert reply.stop_reason == "end_turn"
    assert reply.usage.output_tokens == len(block.text.split())
    # 3 per request + (4 + ceil(8 / 4)) for the system + (4 + ceil(12 / 4)) for the message
    assert reply.usage.input_tokens == 3 + 6 + 7


@sdk_stream
async def test_stream_events_and_final_message(sdk: anthropic.AsyncAnthropic) -> None:
    async with sdk.messages.stream(
        model="claude-haiku-4-5",
        max_tokens=100,
        messages=[{"role": "user", "content": "stream this please"}],
    ) as stream:
        kinds = [event.type async for event in stream]
        final = await stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-1] == "message_stop"
    assert {"content_block_start", "content_block_stop", "message_delta"} <= set(kinds)
    text = "".join(b.text for b in final.content if b.type == "text")
    assert text.endswith(": stream this please")
    # message_delta carries cumulative usage: the final message holds the whole count.
    assert final.usage.output_tokens == len(text.split())
    assert final.stop_reason == "end_turn"


@sdk_stream
async def test_raw_stream_ping_and_max_tokens(sdk: anthropic.AsyncAnthropic) -> None:
    stream = await sdk.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=2,
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
    )
    events = [event async for event in stream]
    deltas = [e for e in events if e.type == "message_delta"]
    assert len(deltas) == 1
    assert deltas[0].delta.stop_reason == "max_tokens"
    assert deltas[0].usage.output_tokens == 2


@sdk_stream
async def test_sse_error_event_raises(fp: FakeProvider, sdk: anthropic.AsyncAnthropic) -> None:
    fp.script("/v1/messages", [Fault.sse_error()])
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        async with sdk.messages.stream(
            model="claude-sonnet-4-6",
            max_tokens=100,
            messages=[{"role": "user", "content": "a b c d e f g h"}],
        ) as stream:
            async for _ in stream:
                pass


async def test_errors_map_to_sdk_exceptions(
    fp: FakeProvider, sdk: anthropic.AsyncAnthropic
) -> None:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "x"}]
    with pytest.raises(anthropic.AuthenticationError) as auth:
        await sdk.with_options(api_key="nope").messages.create(
            model="claude-sonnet-4-6", max_tokens=5, messages=messages
        )
    assert auth.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
    }
    with pytest.raises(anthropic.BadRequestError, match="invalid_request_error"):
        await sdk.messages.create(model="claude-nope", max_tokens=0, messages=messages)
    fp.script("/v1/messages", [Fault.error(529), Fault.rate_limited()])
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        await sdk.messages.create(model="claude-sonnet-4-6", max_tokens=5, messages=messages)
    assert overloaded.value.status_code == 529
    assert "overloaded_error" in str(overloaded.value)
    with pytest.raises(anthropic.RateLimitError) as limited:
        await sdk.messages.create(model="claude-sonnet-4-6", max_tokens=5, messages=messages)
    assert limited.value.response.headers["retry-after-ms"] == "1000"


async def test_any_model_is_served_unless_an_allow_list_is_given(
    sdk: anthropic.AsyncAnthropic,
) -> None:
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "x"}]
    reply = await sdk.messages.create(model="claude-x", max_tokens=5, messages=messages)
    assert reply.model == "claude-x"
    async with FakeProvider(models=DEFAULT_MODELS) as strict, httpx2.AsyncClient() as http:
        client = anthropic.AsyncAnthropic(
            api_key=KEY, base_url=strict.base_url, http_client=http, max_retries=0
        )
        with pytest.raises(anthropic.NotFoundError) as missing:
            await client.messages.create(model="claude-x", max_tokens=5, messages=messages)
        assert missing.value.body["error"]["type"] == "not_found_error"  # pyright: ignore[reportIndexIssue, reportUnknownMemberType, reportOptionalSubscript, reportCallIssue, reportArgumentType]
        served = await client.messages.create(
            model="claude-haiku-4-5", max_tokens=5, messages=messages
        )
        assert served.content[0].type == "text" and served.content[0].text.endswith(": x")
