"""Error responses become the right typed error, with retry hints and no secrets."""

from __future__ import annotations

import json

import pytest

from callboard.errors import CallboardError
from callboard.resilience import (
    AuthenticationError,
    BadRequest,
    CircuitOpen,
    Conflict,
    ConnectionFailed,
    InvalidResponse,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServerError,
    StreamInterrupted,
    Timeout,
    error_from_response,
    error_from_type,
    mask_secrets,
    parse_retry_after,
)

OPENAI_429 = json.dumps(
    {
        "error": {
            "message": "Rate limit reached for gpt-4o-mini on requests per min (RPM): "
            "Limit 3, Used 3, Requested 1.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
).encode()

ANTHROPIC_529 = json.dumps(
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
).encode()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequest),
        (401, AuthenticationError),
        (403, PermissionDenied),
        (404, NotFound),
        (408, Timeout),
        (409, Conflict),
        (413, BadRequest),
        (422, BadRequest),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
        (529, Overloaded),
    ],
)
def test_every_status_maps_to_its_typed_error(status: int, expected: type[ProviderError]) -> None:
    error = error_from_response(
        status, {}, b'{"error": {"message": "nope"}}', provider="openai", calling_id="c-1"
    )
    assert type(error) is expected
    assert isinstance(error, CallboardError)
    assert error.status == status
    assert error.provider == "openai"
    assert error.calling_id == "c-1"
    assert "nope" in str(error)
    assert str(error).startswith("openai returned HTTP")


def test_unlisted_4xx_is_a_plain_provider_error_and_not_retryable() -> None:
    error = error_from_response(402, {}, b'{"error": "payment required"}')
    assert type(error) is ProviderError
    assert not error.retryable
    assert "payment required" in str(error)


def test_retryable_flags() -> None:
    retryable = {Conflict, RateLimited, ServerError, Overloaded, Timeout, ConnectionFailed}
    final = {BadRequest, AuthenticationError, PermissionDenied, NotFound, InvalidResponse}
    assert all(cls.retryable for cls in retryable)
    assert not any(cls.retryable for cls in final | {StreamInterrupted, CircuitOpen})


def test_openai_error_body_gives_message_and_code() -> None:
    error = error_from_response(429, {}, OPENAI_429, provider="openai")
    assert isinstance(error, RateLimited)
    assert error.error_type == "rate_limit_exceeded"
    assert "Limit 3, Used 3" in str(error)


def test_anthropic_error_body_gives_message_and_type() -> None:
    error = error_from_response(529, {}, ANTHROPIC_529, provider="anthropic")
    assert isinstance(error, Overloaded)
    assert isinstance(error, ServerError)
    assert error.error_type == "overloaded_error"
    assert "Overloaded" in str(error)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b'{"error": "model \\"llama9\\" not found"}', 'model "llama9" not found'),
        (b'{"detail": "Not Found"}', "Not Found"),
        (b'{"message": "bad thing"}', "bad thing"),
        (b'{"detail": [{"loc": ["body", "model"], "msg": "field required"}]}', "field required"),
        (b"upstream connect error", "upstream connect error"),
        (b"", "empty body"),
        (None, "empty body"),
        ({"error": {"message": "as a mapping"}}, "as a mapping"),
        (b"[1, 2]", "unexpected error body"),
    ],
)
def test_other_body_shapes(body: bytes | dict[str, object] | None, needle: str) -> None:
    error = error_from_response(404, {}, body)
    assert needle in str(error)


def test_html_error_page_is_described_not_dumped() -> None:
    page = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head></html>"
    error = error_from_response(502, {"content-type": "text/html"}, page)
    assert isinstance(error, ServerError)
    assert "HTML page" in str(error)
    assert "<title>" not in str(error)


def test_long_messages_are_truncated() -> None:
    error = error_from_response(400, {}, json.dumps({"error": {"message": "x " * 1000}}))
    assert len(str(error)) < 450


def test_secrets_echoed_by_the_provider_are_masked() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "Incorrect API key provided: sk-proj-abcd************************wxyz. "
                "You can find your API key at https://platform.openai.com/account/api-keys.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    )
    error = error_from_response(401, {}, body, provider="openai")
    assert isinstance(error, AuthenticationError)
    assert "sk-proj" not in str(error)
    assert "wxyz" not in str(error)
    assert "***" in str(error)
    assert "api_key environment variable" in str(error)


def test_exact_secret_is_removed_even_if_it_looks_harmless() -> None:
    error = error_from_response(400, {}, b'{"error": "bad key hunter2"}', secret="hunter2")
    assert "hunter2" not in str(error)
    assert "hunter2" not in repr(error)


@pytest.mark.parametrize(
    "key",
    [
        "sk-ant-api03-AbCdEf123456",
        "gsk_abcdef123456",
        "nvapi-abcdef123456",
        "AIzaSyAbcdefghijkl",
        "Bearer abc.def.ghi",
        "x" * 48,
    ],
)
def test_mask_secrets_patterns(key: str) -> None:
    masked = mask_secrets(f"key={key} end")
    assert key not in masked
    assert masked.endswith(" end")


def test_insufficient_quota_429_is_not_retried() -> None:
    body = (
        b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}'
    )
    error = error_from_response(429, {}, body)
    assert isinstance(error, RateLimited)
    assert error.should_retry is False


@pytest.mark.parametrize(("value", "verdict"), [("true", True), ("FALSE", False), ("maybe", None)])
def test_x_should_retry_is_carried(value: str, verdict: bool | None) -> None:
    error = error_from_response(500, {"X-Should-Retry": value}, b"{}")
    assert error.should_retry is verdict


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        (
            {
                "retry-after": "Wed, 21 Oct 2015 07:28:30 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            30.0,
        ),
        (
            {
                "retry-after": "Wed, 21 Oct 2015 07:27:00 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            0.0,
        ),
        # No Date header and no ``now``: measured against the wall clock, long past.
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 0.0),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


def test_parse_retry_after_http_date_against_given_now() -> None:
    # 2015-10-21 07:28:00 UTC is 1445412480 Unix seconds.
    headers = {"retry-after": "Wed, 21 Oct 2015 07:28:12 GMT"}
    assert parse_retry_after(headers, now=1445412480.0) == 12.0


def test_retry_after_lands_on_the_error() -> None:
    error = error_from_response(503, {"retry-after-ms": "1200"}, b"{}")
    assert error.retry_after == 1.2


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("overloaded_error", Overloaded),
        ("rate_limit_error", RateLimited),
        ("api_error", ServerError),
        ("invalid_request_error", BadRequest),
        ("authentication_error", AuthenticationError),
        ("permission_error", PermissionDenied),
        ("not_found_error", NotFound),
        ("timeout_error", Timeout),
        ("something_new", ServerError),
        (None, ServerError),
    ],
)
def test_error_from_type(error_type: str | None, expected: type[ProviderError]) -> None:
    error = error_from_type(error_type, "boom", provider="anthropic", calling_id="c-9")
    assert type(error) is expected
    assert error.status is None
    assert error.calling_id == "c-9"
    assert "boom" in str(error)


def test_stream_interrupted_keeps_partial_text() -> None:
    error = StreamInterrupted("cut", partial_text="Hello, wor", provider="openai", status=200)
    assert error.partial_text == "Hello, wor"
    assert error.status == 200
    assert "Hello" not in repr(error)
