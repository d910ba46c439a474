"""Streams: OpenAI chunks and Anthropic message events become deltas and a final response.

The samples are raw server-sent-event text shaped after each provider's streaming
reference, split into events by httpx2's own SSE parser (the one the Endpoint uses).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from callboard.providers import (
    StreamDecoder,
    StreamDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
    get_provider,
    stream_decoder,
)
from callboard.resilience import (
    InvalidResponse,
    Overloaded,
    RateLimited,
    ServerError,
    StreamInterrupted,
)

SAMPLES = Path(__file__).parent / "samples"


def events(raw: str) -> list[tuple[str, str]]:
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        content=raw.encode(),
        request=httpx2.Request("POST", "http://127.0.0.1/stream"),
    )
    return [(event.event, event.data) for event in httpx2.EventSource(response)]


def feed_all(decoder: StreamDecoder, raw: str) -> list[StreamDelta]:
    out: list[StreamDelta] = []
    for name, data in events(raw):
        out.extend(decoder.feed(name, data))
    return out


def chunk(
    delta: dict[str, object] | None = None, finish: str | None = None, **extra: object
) -> str:
    body: dict[str, object] = {
        "id": "chatcmpl-123",
        "object": "chat.completion.chunk",
        "created": 1694268190,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_44709d6fcb",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        **extra,
    }
    return f"data: {json.dumps(body)}\n\n"


OPENAI_TEXT_STREAM = (
    chunk({"role": "assistant", "content": "", "refusal": None})
    + chunk({"content": "Hello"})
    + chunk({"content": ", world"})
    + chunk({}, finish="stop")
    + chunk(
        None,
        usage={
            "prompt_tokens": 11,
            "completion_tokens": 4,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    )
    + "data: [DONE]\n\n"
)


def test_openai_text_stream_with_usage_chunk() -> None:
    decoder = stream_decoder(
        get_provider("openai"),
        headers={"x-ratelimit-remaining-requests": "42", "content-type": "text/event-stream"},
        calling_id="c-1",
    )
    deltas = feed_all(decoder, OPENAI_TEXT_STREAM)
    assert [d.text for d in deltas if d.text] == ["Hello", ", world"]
    assert deltas[-2] == StreamDelta(finish_reason="stop")
    assert deltas[-1] == StreamDelta(usage=Usage(prompt_tokens=11, completion_tokens=4))
    assert decoder.done
    result = decoder.result()
    assert result.text == "Hello, world"
    assert result.usage == Usage(prompt_tokens=11, completion_tokens=4, total_tokens=15)
    assert result.finish_reason == "stop"
    assert result.model == "gpt-4o-mini-2024-07-18"
    assert result.provider == "openai"
    assert result.status_code == 200
    assert result.rate_limit == {"x-ratelimit-remaining-requests": "42"}


def test_openai_tool_call_stream() -> None:
    raw = (
        chunk(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_DdmO9pD3xa9XTPNJ32zg2hcA",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ],
            }
        )
        + chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"loc'}}]})
        + chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ation": "Boston"}'}}]})
        + chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "now", "arguments": "{}"},
                    }
                ]
            }
        )
        + chunk({}, finish="tool_calls")
        + "data: [DONE]\n\n"
    )
    decoder = stream_decoder(get_provider("vllm"))
    deltas = feed_all(decoder, raw)
    assert deltas[0].tool_call == ToolCallDelta(
        index=0, id="call_DdmO9pD3xa9XTPNJ32zg2hcA", name="get_weather", arguments=""
    )
    assert deltas[1].tool_call == ToolCallDelta(index=0, arguments='{"loc')
    result = decoder.result()
    assert result.tool_calls == (
        ToolCall(
            id="call_DdmO9pD3xa9XTPNJ32zg2hcA",
            name="get_weather",
            arguments='{"location": "Boston"}',
        ),
        ToolCall(id="call_2", name="now", arguments="{}"),
    )
    assert result.finish_reason == "tool_calls"
    assert result.usage is None


def test_groq_usage_in_x_groq() -> None:
    raw = (
        chunk({"content": "Hi"})
        + chunk(
            {},
            finish="stop",
            x_groq={
                "id": "req_1",
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
            },
        )
        + "data: [DONE]\n\n"
    )
    decoder = stream_decoder(get_provider("groq"))
    feed_all(decoder, raw)
    assert decoder.result().usage == Usage(prompt_tokens=5, completion_tokens=1)


def test_openai_stream_cut_before_the_end_keeps_partial_text() -> None:
    decoder = stream_decoder(get_provider("openai"), calling_id="c-9")
    feed_all(decoder, chunk({"content": "Once upon"}) + chunk({"content": " a time"}))
    assert not decoder.done
    assert decoder.text == "Once upon a time"
    with pytest.raises(StreamInterrupted) as info:
        decoder.result()
    assert info.value.partial_text == "Once upon a time"
    assert info.value.calling_id == "c-9"
    assert info.value.provider == "openai"


def test_openai_finish_reason_without_done_still_completes() -> None:
    decoder = stream_decoder(get_provider("ollama"))
    feed_all(decoder, chunk({"content": "ok"}) + chunk({}, finish="stop"))
    assert decoder.result().text == "ok"


def test_openai_error_chunk_is_raised_typed() -> None:
    decoder = stream_decoder(get_provider("openrouter"))
    feed_all(decoder, chunk({"content": "par"}))
    error = {
        "error": {
            "message": "Rate limit exceeded: free-models-per-min",
            "code": "rate_limit_exceeded",
        }
    }
    with pytest.raises(RateLimited) as info:
        decoder.feed("message", json.dumps(error))
    assert "free-models-per-min" in str(info.value)
    assert info.value.provider == "openrouter"
    assert decoder.text == "par"


def test_openai_error_event_with_plain_text_error() -> None:
    decoder = stream_decoder(get_provider("vllm"))
    with pytest.raises(ServerError):
        decoder.feed("error", '{"error": "engine dead"}')


def test_openai_bad_json_is_invalid() -> None:
    decoder = stream_decoder(get_provider("openai"))
    with pytest.raises(InvalidResponse):
        decoder.feed("message", "{not json")
    assert decoder.feed("message", "   ") == []


def test_other_choices_are_kept_apart_from_the_first() -> None:
    decoder = stream_decoder(get_provider("openai"))
    body = {"choices": [{"index": 1, "delta": {"content": "second"}, "finish_reason": None}]}
    assert decoder.feed("message", json.dumps(body)) == [StreamDelta(text="second", choice=1)]
    assert decoder.text == ""  # the first choice's text


ANTHROPIC_STREAM = (SAMPLES / "anthropic_tool_use.sse").read_text()


def test_anthropic_stream_every_event_type() -> None:
    decoder = stream_decoder(
        get_provider("anthropic"), headers={"anthropic-ratelimit-tokens-remaining": "9000"}
    )
    deltas = feed_all(decoder, ANTHROPIC_STREAM)
    assert [d.text for d in deltas if d.text] == ["Okay, let me check", " the weather."]
    usages = [d.usage for d in deltas if d.usage is not None]
    # message_start, then message_delta's cumulative output count merged with the input.
    assert usages == [
        Usage(prompt_tokens=600, completion_tokens=2, cached_tokens=128),
        Usage(prompt_tokens=600, completion_tokens=89, cached_tokens=128),
    ]
    tool_deltas = [d.tool_call for d in deltas if d.tool_call is not None]
    assert tool_deltas[0] == ToolCallDelta(
        index=0, id="toolu_01T1x1fJ34qAmk2tNTrN7Up6", name="get_weather"
    )
    assert decoder.done
    result = decoder.result()
    assert result.text == "Okay, let me check the weather."
    assert result.tool_calls == (
        ToolCall(
            id="toolu_01T1x1fJ34qAmk2tNTrN7Up6",
            name="get_weather",
            arguments='{"location": "San Francisco, CA"}',
        ),
    )
    assert json.loads(result.tool_calls[0].arguments) == {"location": "San Francisco, CA"}
    assert result.finish_reason == "tool_use"
    assert result.usage == Usage(prompt_tokens=600, completion_tokens=89, cached_tokens=128)
    assert result.model == "claude-sonnet-4-5-20250929"
    assert result.rate_limit == {"anthropic-ratelimit-tokens-remaining": "9000"}


def test_anthropic_tool_without_input_deltas_gets_its_start_input() -> None:
    raw = (SAMPLES / "anthropic_empty_tool_input.sse").read_text()
    decoder = stream_decoder(get_provider("anthropic"))
    feed_all(decoder, raw)
    assert decoder.result().tool_calls == (ToolCall(id="t1", name="now", arguments="{}"),)
    assert decoder.result().usage == Usage(prompt_tokens=3, completion_tokens=7)


def test_anthropic_thinking_is_streamed_apart_and_unknown_events_are_ignored() -> None:
    decoder = stream_decoder(get_provider("anthropic"))
    assert decoder.feed(
        "content_block_start",
        '{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}',
    ) == [StreamDelta(thinking=ThinkingDelta(index=0, kind="thinking"))]
    assert decoder.feed(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}',
    ) == [StreamDelta(thinking=ThinkingDelta(index=0, text="hmm"))]
    assert decoder.feed(
        "content_block_delta",
        '{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}',
    ) == [StreamDelta(thinking=ThinkingDelta(index=0, signature="EqQB"))]
    assert decoder.feed("brand_new_event", '{"type":"brand_new_event"}') == []
    assert decoder.text == ""  # thinking is not text


def test_anthropic_error_event_is_raised_typed() -> None:
    decoder = stream_decoder(get_provider("anthropic"), calling_id="c-3")
    feed_all(decoder, "\n".join(ANTHROPIC_STREAM.split("\n")[:12]) + "\n\n")
    assert decoder.text == "Okay, let me check"
    with pytest.raises(Overloaded) as info:
        decoder.feed(
            "error",
            '{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
        )
    assert info.value.calling_id == "c-3"
    assert info.value.status is None


def test_anthropic_truncated_stream_is_interrupted_with_partial_text() -> None:
    decoder = stream_decoder(get_provider("anthropic"))
    truncated = ANTHROPIC_STREAM.split("event: content_block_stop")[0]
    feed_all(decoder, truncated)
    assert not decoder.done
    assert decoder.usage == Usage(prompt_tokens=600, completion_tokens=2, cached_tokens=128)
    with pytest.raises(StreamInterrupted) as info:
        decoder.result()
    assert info.value.partial_text == "Okay, let me check the weather."


def test_anthropic_bad_event_data() -> None:
    decoder = stream_decoder(get_provider("anthropic"))
    with pytest.raises(InvalidResponse):
        decoder.feed("message_start", "{oops")
    with pytest.raises(InvalidResponse):
        decoder.feed("message_start", '{"type": "message_start"}')
