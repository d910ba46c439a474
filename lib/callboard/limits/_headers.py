"""Parse OpenAI's and Anthropic's rate-limit headers into a ``RateLimitState``.

Both providers describe continuously refilling buckets. OpenAI reports resets as Go-style
durations (``1s``, ``6m0s``, ``12ms``); Anthropic reports them as RFC 3339 instants, which
are turned into relative seconds against the response's own ``Date`` header so that a
skewed local clock does not matter. Both may send ``retry-after`` (seconds or an HTTP
date) and OpenAI also ``retry-after-ms``.

A malformed header is ignored (its field stays ``None``): a provider's typo must never
fail the call that carried it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from ._state import RateLimitState

__all__ = [
    "parse_anthropic_headers",
    "parse_go_duration",
    "parse_openai_headers",
    "parse_retry_after",
]

_GO_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,  # Go prints the micro sign
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Seconds in a Go ``time.Duration`` string such as ``6m0s``, ``1m30.5s`` or ``12ms``.

    Returns ``None`` when ``text`` is not a valid non-negative duration. A bare ``0`` is
    zero, as in Go.

    Example:
        >>> parse_go_duration("6m0s"), parse_go_duration("12ms"), parse_go_duration("2h3m")
        (360.0, 0.012, 7380.0)
    """
    text = text.strip()
    if text == "0":
        return 0.0
    position = 0
    total = 0.0
    for match in _GO_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        position = match.end()
    if position == 0 or position != len(text):
        return None
    return total


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, else ``retry-after`` (seconds or HTTP date).

    ``retry-after-ms`` wins (it is the most precise). A negative or malformed value is
    ignored. An HTTP date is measured against the response's own ``Date`` header (the
    server's clock, so client clock skew does not matter), else against ``now`` (Unix
    seconds) when given, and only as a last resort against the local wall clock. A date
    already past means "retry now" (0.0).

    Args:
        headers: response headers; names are matched case-insensitively.
        now: the current Unix time, for a date without a ``Date`` header.

    Example:
        >>> parse_retry_after({"Retry-After": "2"})
        2.0
        >>> parse_retry_after({"retry-after-ms": "1500", "retry-after": "2"})
        1.5
    """
    lowered = _lower(headers)
    millis = _number(lowered.get("retry-after-ms"))
    if millis is not None and millis >= 0:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return seconds if seconds >= 0 else None
    when = _http_date(raw)
    if when is None:
        return None
    if "date" not in lowered and now is not None:
        return max(0.0, when.timestamp() - now)
    return max(0.0, (when - _now(lowered)).total_seconds())


def parse_openai_headers(headers: Mapping[str, str]) -> RateLimitState:
    """Read OpenAI's ``x-ratelimit-*`` headers (and ``retry-after``) from a response.

    Args:
        headers: response headers; names are matched case-insensitively.

    Example:
        >>> state = parse_openai_headers({
        ...     "x-ratelimit-limit-requests": "60",
        ...     "x-ratelimit-remaining-requests": "59",
        ...     "x-ratelimit-reset-requests": "1s",
        ...     "x-ratelimit-reset-tokens": "6m0s",
        ... })
        >>> state.remaining_requests, state.reset_requests, state.reset_tokens
        (59, 1.0, 360.0)
    """
    lowered = _lower(headers)
    return RateLimitState(
        limit_requests=_integer(lowered.get("x-ratelimit-limit-requests")),
        remaining_requests=_integer(lowered.get("x-ratelimit-remaining-requests")),
        reset_requests=_duration(lowered.get("x-ratelimit-reset-requests")),
        limit_tokens=_integer(lowered.get("x-ratelimit-limit-tokens")),
        remaining_tokens=_integer(lowered.get("x-ratelimit-remaining-tokens")),
        reset_tokens=_duration(lowered.get("x-ratelimit-reset-tokens")),
        retry_after=parse_retry_after(lowered),
    )


_ANTHROPIC_TOKEN_ROUNDING = 1000  # "rounded to the nearest thousand", Anthropic documents


def parse_anthropic_headers(headers: Mapping[str, str]) -> RateLimitState:
    """Read Anthropic's ``anthropic-ratelimit-*`` headers (and ``retry-after``).

    Anthropic limits input tokens (ITPM) and output tokens (OTPM) separately and
    reports each (``input-tokens-*``, ``output-tokens-*``); the combined ``tokens-*``
    headers add them up, which says nothing about the one that runs out first. So the
    token figures of the state (``limit_tokens``, ``remaining_tokens``, ``reset_tokens``)
    are those of the *tightest* of the separate limits (the smallest share remaining),
    and the combined headers are read only when neither is sent. Both are kept apart in
    the ``*_input_tokens`` and ``*_output_tokens`` fields. Remaining-token counts are
    rounded to the nearest thousand by Anthropic (``tokens_rounding=1000``). RFC 3339
    resets become seconds after the response's ``Date`` header.

    Args:
        headers: response headers; names are matched case-insensitively.

    Example:
        >>> state = parse_anthropic_headers({
        ...     "anthropic-ratelimit-input-tokens-limit": "40000",
        ...     "anthropic-ratelimit-input-tokens-remaining": "39000",
        ...     "anthropic-ratelimit-output-tokens-limit": "8000",
        ...     "anthropic-ratelimit-output-tokens-remaining": "1000",
        ...     "anthropic-ratelimit-tokens-limit": "48000",
        ...     "anthropic-ratelimit-tokens-remaining": "40000",
        ... })
        >>> state.limit_tokens, state.remaining_tokens  # output is the tightest
        (8000, 1000)
    """
    lowered = _lower(headers)
    now = _now(lowered)
    prefix = "anthropic-ratelimit-"

    def read(name: str) -> tuple[int | None, int | None, float | None]:
        return (
            _integer(lowered.get(f"{prefix}{name}-limit")),
            _integer(lowered.get(f"{prefix}{name}-remaining")),
            _until(lowered.get(f"{prefix}{name}-reset"), now),
        )

    requests = read("requests")
    input_tokens = read("input-tokens")
    output_tokens = read("output-tokens")
    separate = [t for t in (input_tokens, output_tokens) if t[1] is not None]
    tokens = min(separate, key=_share_left) if separate else read("tokens")
    return RateLimitState(
        limit_requests=requests[0],
        remaining_requests=requests[1],
        reset_requests=requests[2],
        limit_tokens=tokens[0],
        remaining_tokens=tokens[1],
        reset_tokens=tokens[2],
        retry_after=parse_retry_after(lowered),
        limit_input_tokens=input_tokens[0],
        remaining_input_tokens=input_tokens[1],
        reset_input_tokens=input_tokens[2],
        limit_output_tokens=output_tokens[0],
        remaining_output_tokens=output_tokens[1],
        reset_output_tokens=output_tokens[2],
        tokens_rounding=_ANTHROPIC_TOKEN_ROUNDING,
    )


def _share_left(figures: tuple[int | None, int | None, float | None]) -> float:
    limit, remaining, _ = figures
    assert remaining is not None
    return remaining / limit if limit else float(remaining)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _integer(raw: str | None) -> int | None:
    value = _number(raw)
    if value is None or value < 0:
        return None
    return int(value)


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _duration(raw: str | None) -> float | None:
    return None if raw is None else parse_go_duration(raw)


def _http_date(raw: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _now(lowered: Mapping[str, str]) -> datetime:
    date = lowered.get("date")
    when = None if date is None else _http_date(date)
    if when is not None:
        return when
    return datetime.now(UTC)  # wall-clock ok: no Date header to measure against


def _until(raw: str | None, now: datetime) -> float | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
