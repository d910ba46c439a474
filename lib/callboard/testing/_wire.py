"""The shapes of what the fake provider sends: replies, SSE frames and error bodies.

A route handler turns a request into a ``Prepared`` (what it would send and what it
costs) before the rate limiter runs, because the replies are deterministic: the server
knows the exact usage up front and can charge, refund and inject faults around it.
"""

from __future__ import annotations

import json
from typing import Literal

import attrs

__all__ = [
    "BadRequest",
    "Body",
    "Prepared",
    "Sse",
    "anthropic_error",
    "error_reply",
    "json_bytes",
    "openai_error",
    "sse_frame",
]

Family = Literal["openai", "anthropic"]


def json_bytes(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@attrs.frozen
class Body:
    """A complete response body."""

    status: int
    content_type: str
    data: bytes
    headers: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Sse:
    """A server-sent event stream.

    ``frames`` are complete ``event:``/``data:`` frames; the last ``tail`` of them are
    the closing events (usage, ``message_stop``, ``[DONE]``) that a truncated stream
    never delivers. ``error_frame`` is what an ``SSE_ERROR`` fault sends halfway.
    """

    frames: tuple[bytes, ...]
    tail: int
    error_frame: bytes


@attrs.frozen
class Prepared:
    """A valid request, answered before admission: the reply and its token accounting.

    ``charge`` is what the token bucket takes on admission (prompt estimate plus
    ``max_tokens``); ``used`` is what the reply actually consumed (prompt plus output);
    the difference is refunded when the response is done. ``output_tokens`` is the
    output part of ``used`` and ``cache_read_tokens`` the part of its prompt read from
    the prompt cache (the rate limits that count input and output apart need them).
    """

    reply: Body | Sse
    charge: int
    used: int
    output_tokens: int = 0
    cache_read_tokens: int = 0


@attrs.frozen
class BadRequest(Exception):
    """A request the route refuses with a 4xx in the provider's shape."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None


_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error(
    status: int,
    message: str,
    *,
    type: str | None = None,
    param: str | None = None,
    code: str | None = None,
) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}`` as OpenAI sends it."""
    kind = type or _OPENAI_TYPES.get(status, "server_error")
    return json_bytes({"error": {"message": message, "type": kind, "param": param, "code": code}})


def anthropic_error(status: int, message: str, *, type: str | None = None) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}`` as Anthropic sends it."""
    kind = type or _ANTHROPIC_TYPES.get(status, "api_error")
    return json_bytes({"type": "error", "error": {"type": kind, "message": message}})


def error_reply(
    family: Family,
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
) -> Body:
    """An error response in the family's JSON shape."""
    if family == "anthropic":
        data = anthropic_error(status, message)
    else:
        data = openai_error(status, message, param=param, code=code)
    return Body(status, "application/json", data, headers)


def sse_frame(data: object, event: str | None = None) -> bytes:
    """One SSE frame; ``data`` is JSON-encoded unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()
