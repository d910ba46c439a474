from __future__ import annotations

import pytest

from callboard.limits import (
    RateLimitState,
    parse_anthropic_headers,
    parse_go_duration,
    parse_openai_headers,
    parse_retry_after,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("12ms", 0.012),
        ("1m30.5s", 90.5),
        ("2h3m", 7380.0),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        ("17.466s", 17.466),
        ("0s", 0.0),
        ("0", 0.0),
        ("1h0m0s", 3600.0),
        ("250ns", 2.5e-7),
    ],
)
def test_go_durations(text: str, seconds: float):
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "1", "1x", "-1s", "1s2", "abc", "1 s"])
def test_bad_go_durations_are_none(text: str):
    assert parse_go_duration(text) is None


def test_openai_sample_from_its_rate_limit_guide():
    headers = {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-limit-tokens": "150000",
        "x-ratelimit-remaining-requests": "59",
        "x-ratelimit-remaining-tokens": "149984",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert parse_openai_headers(headers) == RateLimitState(
        limit_requests=60,
        remaining_requests=59,
        reset_requests=1.0,
        limit_tokens=150000,
        remaining_tokens=149984,
        reset_tokens=360.0,
    )


def test_openai_429_with_mixed_case_names_and_retry_after_ms():
    headers = {
        "Date": "Tue, 01 Oct 2024 12:00:00 GMT",
        "X-RateLimit-Limit-Requests": "10000",
        "X-RateLimit-Remaining-Requests": "0",
        "X-RateLimit-Reset-Requests": "8.64ms",
        "X-RateLimit-Remaining-Tokens": "0",
        "X-RateLimit-Reset-Tokens": "1m30.144s",
        "Retry-After": "2",
        "retry-after-ms": "1500",
    }
    state = parse_openai_headers(headers)
    assert state.remaining_requests == 0
    assert state.reset_requests == pytest.approx(0.00864)
    assert state.reset_tokens == pytest.approx(90.144)
    assert state.retry_after == pytest.approx(1.5)  # the millisecond header wins


def test_anthropic_sample_resets_are_relative_to_the_date_header():
    headers = {
        "date": "Thu, 03 Oct 2024 20:36:14 GMT",
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": "2024-10-03T20:36:15Z",
        "anthropic-ratelimit-tokens-limit": "400000",
        "anthropic-ratelimit-tokens-remaining": "398000",
        "anthropic-ratelimit-tokens-reset": "2024-10-03T20:36:44.5Z",
        "anthropic-ratelimit-input-tokens-limit": "200000",
        "anthropic-ratelimit-input-tokens-remaining": "199000",
        "anthropic-ratelimit-input-tokens-reset": "2024-10-03T20:36:15Z",
    }
    # The token figures are the tightest separate limit's (here the only one sent), not
    # the combined tokens-* headers, which add input and output up.
    assert parse_anthropic_headers(headers) == RateLimitState(
        limit_requests=4000,
        remaining_requests=3999,
        reset_requests=1.0,
        limit_tokens=200000,
        remaining_tokens=199000,
        reset_tokens=1.0,
        limit_input_tokens=200000,
        remaining_input_tokens=199000,
        reset_input_tokens=1.0,
        tokens_rounding=1000,
    )


def test_anthropic_tokens_are_the_tightest_of_input_and_output():
    headers = {
        "date": "Thu, 03 Oct 2024 20:36:14 GMT",
        "anthropic-ratelimit-tokens-limit": "48000",
        "anthropic-ratelimit-tokens-remaining": "46000",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "39000",
        "anthropic-ratelimit-input-tokens-reset": "2024-10-03T20:36:15Z",
        "anthropic-ratelimit-output-tokens-limit": "8000",
        "anthropic-ratelimit-output-tokens-remaining": "7000",
        "anthropic-ratelimit-output-tokens-reset": "2024-10-03T20:36:20Z",
    }
    state = parse_anthropic_headers(headers)
    # 7000/8000 = 87.5% left beats 39000/40000 = 97.5%: output is the tightest.
    assert (state.limit_tokens, state.remaining_tokens, state.reset_tokens) == (8000, 7000, 6.0)
    assert (state.limit_input_tokens, state.remaining_input_tokens) == (40000, 39000)
    assert state.remaining_output_tokens == 7000


def test_anthropic_429_without_combined_token_headers():
    headers = {
        "Date": "Thu, 03 Oct 2024 20:36:14 GMT",
        "retry-after": "7",
        "anthropic-ratelimit-input-tokens-limit": "40000",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2024-10-03T20:36:20+00:00",
    }
    state = parse_anthropic_headers(headers)
    assert state.limit_tokens == 40000
    assert state.remaining_tokens == 0
    assert state.reset_tokens == pytest.approx(6.0)
    assert state.retry_after == pytest.approx(7.0)


def test_past_resets_become_zero_and_junk_is_ignored():
    headers = {
        "date": "Thu, 03 Oct 2024 20:36:14 GMT",
        "anthropic-ratelimit-requests-reset": "2024-10-03T20:36:00Z",
        "anthropic-ratelimit-requests-remaining": "many",
        "anthropic-ratelimit-tokens-reset": "tomorrow",
    }
    state = parse_anthropic_headers(headers)
    assert state.reset_requests == 0.0
    assert state.remaining_requests is None
    assert state.reset_tokens is None


def test_retry_after_http_date_uses_the_response_date():
    headers = {
        "Date": "Wed, 21 Oct 2015 07:28:00 GMT",
        "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT",
    }
    assert parse_retry_after(headers) == pytest.approx(30.0)


def test_retry_after_absent_or_bad():
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_openai_headers({}).empty
    assert not RateLimitState(retry_after=0.0).empty
