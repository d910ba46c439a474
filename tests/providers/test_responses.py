"""Real response bodies (shaped after the providers' API references) normalize correctly."""

from __future__ import annotations

import json

import pytest

from callboard.providers import (
    ModelType,
    ToolCall,
    Usage,
    get_provider,
    parse_response,
    rate_limit_state,
)
from callboard.resilience import (
    AuthenticationError,
    InvalidResponse,
    Overloaded,
    RateLimited,
    ServerError,
)

JSON = {"content-type": "application/json"}

OPENAI_CHAT = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    },
                    {
                        "id": "call_def456",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
                    },
                ],
                "refusal": None,
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 82,
        "completion_tokens": 17,
        "total_tokens": 99,
        "prompt_tokens_details": {"cached_tokens": 64, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    },
    "service_tier": "default",
}

ANTHROPIC_MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"location": "San Francisco, CA"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 20,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 2000,
        "output_tokens": 45,
    },
}


def parse(provider: str, kind: str, body: object, headers: dict[str, str] | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_response(
        get_provider(provider), kind, status=200, headers=headers or JSON, body=raw
    )


def test_openai_chat_with_tool_calls_and_cached_tokens() -> None:
    headers = {
        **JSON,
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-remaining-tokens": "1999917",
        "openai-processing-ms": "312",
    }
    response = parse("openai", "chat", OPENAI_CHAT, headers)
    assert response.text == ""
    assert response.tool_calls == (
        ToolCall(id="call_abc123", name="get_weather", arguments='{"city": "Paris"}'),
        ToolCall(id="call_def456", name="get_time", arguments='{"tz": "CET"}'),
    )
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(
        prompt_tokens=82, completion_tokens=17, cached_tokens=64, total_tokens=99
    )
    assert response.provider == "openai"
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert response.status_code == 200
    assert response.rate_limit == {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-remaining-tokens": "1999917",
    }
    assert response.raw == OPENAI_CHAT


def test_openai_compatible_plain_text_answer() -> None:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "llama-3.3-70b-versatile",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello!"},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 9,
            "completion_tokens": 3,
            "total_tokens": 12,
            "queue_time": 0.02,
        },
        "x_groq": {"id": "req_01"},
    }
    response = parse("groq", "chat", body)
    assert response.text == "Hello!"
    assert response.tool_calls == ()
    assert response.usage == Usage(prompt_tokens=9, completion_tokens=3)
    assert response.rate_limit is None


def test_deepseek_cache_hits_count_as_cached() -> None:
    body = {
        "model": "deepseek-chat",
        "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 5,
            "total_tokens": 125,
            "prompt_cache_hit_tokens": 100,
            "prompt_cache_miss_tokens": 20,
        },
    }
    assert parse("deepseek", "chat", body).usage == Usage(
        prompt_tokens=120, completion_tokens=5, cached_tokens=100
    )


def test_content_as_a_list_of_parts() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "content": [{"type": "text", "text": "Bon"}, {"type": "text", "text": "jour"}]
                },
                "finish_reason": "stop",
            }
        ]
    }
    response = parse("mistral", "chat", body)
    assert response.text == "Bonjour"
    assert response.usage is None
    assert response.model is None


def test_anthropic_message_with_tool_use_and_cache() -> None:
    headers = {
        **JSON,
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-11-21T12:00:01Z",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "request-id": "req_018EeWyXxfu5pfWkrYcMdjWG",
        "x-ratelimit-limit-requests": "ignored for anthropic",
    }
    response = parse("anthropic", "chat", ANTHROPIC_MESSAGE, headers)
    assert response.text == "I'll check the weather."
    assert response.tool_calls == (
        ToolCall(
            id="toolu_01A09q90qw90lq917835lq9",
            name="get_weather",
            arguments='{"location": "San Francisco, CA"}',
        ),
    )
    assert response.finish_reason == "tool_use"
    # Cache reads and writes are part of the prompt and kept apart (they cost differently).
    assert response.usage == Usage(
        prompt_tokens=2120, completion_tokens=45, cached_tokens=2000, cache_write_tokens=100
    )
    assert response.model == "claude-sonnet-4-5-20250929"
    assert response.rate_limit == {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "49",
        "anthropic-ratelimit-requests-reset": "2026-11-21T12:00:01Z",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
    }


def test_embeddings() -> None:
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.0023, -0.0093]},
            {"object": "embedding", "index": 1, "embedding": [0.1, 0.2]},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
    response = parse("openai", "embeddings", body)
    assert response.usage == Usage(prompt_tokens=8, completion_tokens=0, total_tokens=8)
    assert response.model == "text-embedding-3-small"
    assert response.raw == body
    assert response.text == ""


def test_moderation() -> None:
    body = {
        "id": "modr-970d409ef3bef3b70c73d8232df86e7d",
        "model": "omni-moderation-latest",
        "results": [
            {
                "flagged": False,
                "categories": {"violence": False},
                "category_scores": {"violence": 0.0001},
            }
        ],
    }
    response = parse("openai", "moderation", body)
    assert response.model == "omni-moderation-latest"
    assert response.raw == body


def test_image_generation_with_usage() -> None:
    body = {
        "created": 1713833628,
        "data": [{"b64_json": "iVBORw0KGgo="}],
        "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50},
    }
    assert parse("openai", "image_generation", body).usage == Usage(
        prompt_tokens=50, completion_tokens=50, total_tokens=100
    )


def test_speech_to_text_json_and_plain_text() -> None:
    body = {
        "text": "Imagine the wildest idea that you've ever had.",
        "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 45, "total_tokens": 59},
    }
    response = parse("openai", "speech_to_text", body)
    assert response.text == "Imagine the wildest idea that you've ever had."
    assert response.usage == Usage(prompt_tokens=14, completion_tokens=45, total_tokens=59)
    plain = parse(
        "groq", "speech_to_text", b"Hello there.\n", {"content-type": "text/plain; charset=utf-8"}
    )
    assert plain.text == "Hello there.\n"


def test_text_to_speech_keeps_the_audio_bytes() -> None:
    audio = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90"
    response = parse("openai", "text_to_speech", audio, {"content-type": "audio/mpeg"})
    assert response.raw == audio
    assert response.text == ""


def test_text_to_speech_json_body_is_invalid() -> None:
    with pytest.raises(InvalidResponse):
        parse("openai", "text_to_speech", {"weird": True}, JSON)


@pytest.mark.parametrize("provider", ["together", "vllm"])
def test_rerank(provider: str) -> None:
    body = {
        "id": "rerank-1",
        "model": "Salesforce/Llama-Rank-V1",
        "results": [
            {"index": 1, "relevance_score": 0.93, "document": {"text": "y"}},
            {"index": 0, "relevance_score": 0.12, "document": {"text": "x"}},
        ],
        "usage": {"prompt_tokens": 40, "completion_tokens": 0, "total_tokens": 40},
    }
    response = parse(provider, "rerank", body)
    assert response.usage == Usage(prompt_tokens=40)
    assert response.raw == body


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            401,
            {
                "error": {
                    "message": "Incorrect API key provided: sk-abc***xyz.",
                    "code": "invalid_api_key",
                }
            },
            AuthenticationError,
        ),
        (429, {"error": {"message": "Rate limit reached", "type": "requests"}}, RateLimited),
        (500, {"error": {"message": "The server had an error"}}, ServerError),
    ],
)
def test_error_statuses_raise_typed_errors(
    status: int, body: dict[str, object], expected: type[Exception]
) -> None:
    with pytest.raises(expected) as info:
        parse_response(
            get_provider("openai"),
            "chat",
            status=status,
            headers={"retry-after": "1"},
            body=json.dumps(body).encode(),
            calling_id="c-42",
        )
    assert info.value.provider == "openai"  # type: ignore[attr-defined]
    assert info.value.calling_id == "c-42"  # type: ignore[attr-defined]
    assert info.value.retry_after == 1.0  # type: ignore[attr-defined]
    assert "sk-abc" not in str(info.value)


def test_anthropic_overloaded() -> None:
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    with pytest.raises(Overloaded):
        parse_response(get_provider("anthropic"), "chat", status=529, headers={}, body=body)


@pytest.mark.parametrize(
    ("body", "headers", "needle"),
    [
        (
            b"<!DOCTYPE html><html><body>502</body></html>",
            {"content-type": "text/html"},
            "HTML page",
        ),
        (b"<html>oops</html>", {}, "HTML page"),
        (b"not json at all", JSON, "not JSON"),
        (b"[1, 2, 3]", JSON, "JSON object"),
        (b'{"object": "chat.completion"}', JSON, "choices"),
        (b'{"choices": []}', JSON, "no choices"),
        (b'{"choices": [{"message": "hi"}]}', JSON, "message"),
        (b'{"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}', JSON, "function"),
    ],
)
def test_unreadable_success_bodies_are_invalid_responses(
    body: bytes, headers: dict[str, str], needle: str
) -> None:
    with pytest.raises(InvalidResponse) as info:
        parse_response(get_provider("openai"), "chat", status=200, headers=headers, body=body)
    assert needle in str(info.value)
    assert info.value.status == 200
    assert info.value.provider == "openai"


@pytest.mark.parametrize(
    ("kind", "body", "needle"),
    [
        (ModelType.EMBEDDINGS, {"object": "list"}, "data"),
        (ModelType.MODERATION, {"id": "x"}, "results"),
        (ModelType.SPEECH_TO_TEXT, {"language": "en"}, "text"),
    ],
)
def test_missing_fields_per_model_type(kind: ModelType, body: object, needle: str) -> None:
    with pytest.raises(InvalidResponse) as info:
        parse("openai", kind, body)
    assert needle in str(info.value)


def test_anthropic_body_of_the_wrong_type() -> None:
    with pytest.raises(InvalidResponse):
        parse("anthropic", "chat", {"type": "completion", "completion": "hi"})
    with pytest.raises(InvalidResponse):
        parse("anthropic", "chat", {"type": "message", "content": [{"type": "text"}]})


def test_rate_limit_state_always_includes_retry_hints() -> None:
    headers = {"Retry-After": "3", "retry-after-ms": "2500", "x-ratelimit-remaining-tokens": "5"}
    assert rate_limit_state(get_provider("deepseek"), headers) == {
        "retry-after": "3",
        "retry-after-ms": "2500",
    }
    assert rate_limit_state(get_provider("openai"), headers) == {
        "retry-after": "3",
        "retry-after-ms": "2500",
        "x-ratelimit-remaining-tokens": "5",
    }
    assert rate_limit_state(get_provider("openai"), {"date": "x"}) is None
