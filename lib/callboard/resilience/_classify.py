"""Turn an HTTP error response (status, headers, body) into the right typed error.

Both error body shapes in use are understood: OpenAI's ``{"error": {"message", "type",
"code"}}`` (which every OpenAI-compatible server imitates, some with ``{"error": "text"}``
or FastAPI's ``{"detail": ...}``) and Anthropic's ``{"type": "error", "error": {"type",
"message"}}``. The server's retry hints (``retry-after-ms``, ``retry-after`` in seconds or
as an HTTP date, ``x-should-retry``) are read here too, so the retry policy only ever looks
at the typed error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Protocol

from callboard.limits import parse_retry_after

from ._errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
)

__all__ = [
    "Revealable",
    "error_from_response",
    "error_from_type",
    "mask_secrets",
    "parse_retry_after",
]
# parse_retry_after lives in callboard.limits with the other header parsers; it is
# re-exported here because deciding when to retry is this layer's business too.

_MAX_MESSAGE = 300

_BY_STATUS: dict[int, type[ProviderError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    408: Timeout,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
    429: RateLimited,
    529: Overloaded,
}

# Error type names from both providers' bodies, for errors that arrive without a status
# (an ``error`` event in the middle of a stream).
_BY_TYPE: dict[str, type[ProviderError]] = {
    "invalid_request_error": BadRequest,
    "request_too_large": BadRequest,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "permission_error": PermissionDenied,
    "not_found_error": NotFound,
    "rate_limit_error": RateLimited,
    "rate_limit_exceeded": RateLimited,
    "tokens": RateLimited,
    "requests": RateLimited,
    "api_error": ServerError,
    "server_error": ServerError,
    "overloaded_error": Overloaded,
    "timeout_error": Timeout,
}

_HINTS: dict[type[ProviderError], str] = {
    BadRequest: "fix the request payload",
    AuthenticationError: "check the API key in the endpoint's api_key environment variable",
    PermissionDenied: "this key may not use this model or resource",
    NotFound: "check the model name, the path and the base_url",
    RateLimited: "slow down or raise the limits",
    ServerError: "the provider failed; retrying later usually works",
    Overloaded: "the provider is overloaded; retry later",
    Timeout: "the provider did not answer in time",
    Conflict: "a conflicting request was in flight; retrying usually works",
}

_SECRET_PATTERNS = re.compile(
    r"(?:\b(?:sk|pk|rk)-[A-Za-z0-9_\-\*]{6,})"  # OpenAI, Anthropic (sk-ant-...), masked keys
    r"|(?:\bgsk_[A-Za-z0-9]{6,})"  # Groq
    r"|(?:\bnvapi-[A-Za-z0-9_\-]{6,})"  # NVIDIA
    r"|(?:\bAIza[0-9A-Za-z_\-]{10,})"  # Google
    r"|(?:\b[Bb]earer\s+\S+)"
    r"|(?:[A-Za-z0-9_\-]{40,})"  # anything long enough to be a token
)


class Revealable(Protocol):
    """A secret held masked (``callboard.Secret``): its text only through ``reveal()``.

    Passing the key around as one of these instead of a ``str`` keeps it out of every
    repr, and so out of a traceback's captured locals.
    """

    def reveal(self) -> str:
        """The secret text."""
        ...


def mask_secrets(text: str, *, secret: str | Revealable | None = None) -> str:
    """Replace anything in ``text`` that looks like an API key with ``***``.

    Providers echo (partly masked) keys back in their error messages; those messages end up
    in our exceptions and logs, so they are scrubbed first.

    Args:
        text: the text to clean.
        secret: an exact secret to remove as well (the key that was sent).

    Example:
        >>> mask_secrets("Incorrect API key provided: sk-proj-abc123XYZ.")
        'Incorrect API key provided: ***.'
    """
    if secret:
        # Revealed inside the call, never into a local: a frame of this function in a
        # traceback shows only the masked object.
        text = text.replace(secret if isinstance(secret, str) else secret.reveal(), "***")
    return _SECRET_PATTERNS.sub("***", text)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _should_retry(headers: Mapping[str, str]) -> bool | None:
    verdict = _lower(headers).get("x-should-retry", "").strip().lower()
    return {"true": True, "false": False}.get(verdict)


def _describe_body(body: bytes | str | Mapping[str, object] | None) -> tuple[str, str | None]:
    """The provider's error message and type from a body, whatever its shape."""
    if body is None or body in (b"", ""):
        return "empty body", None
    if isinstance(body, Mapping):
        data: object = body
    else:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            data = json.loads(text)
        except ValueError:
            stripped = text.lstrip().lower()
            if stripped.startswith(("<!doctype html", "<html")):
                return "an HTML page instead of JSON (a proxy or gateway error page)", None
            return " ".join(text.split())[:_MAX_MESSAGE], None
    return _from_json(data)


def _from_json(data: object) -> tuple[str, str | None]:
    if not isinstance(data, Mapping):
        return "unexpected error body", None
    fields: Mapping[str, object] = data  # pyright: ignore[reportUnknownVariableType]
    error = fields.get("error")
    if isinstance(error, Mapping):
        details: Mapping[str, object] = error  # pyright: ignore[reportUnknownVariableType]
        message = details.get("message")
        code = details.get("code")
        kind = code if isinstance(code, str) and code else details.get("type")
        return (
            str(message) if message is not None else "no message",
            kind if isinstance(kind, str) else None,
        )
    for key in ("error", "message", "detail"):
        value = fields.get(key)
        if isinstance(value, str):
            return value, None
        if value is not None:
            return json.dumps(value)[:_MAX_MESSAGE], None
    return "no error message", None


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes | str | Mapping[str, object] | None,
    *,
    provider: str | None = None,
    calling_id: str | None = None,
    secret: str | Revealable | None = None,
    now: float | None = None,
) -> ProviderError:
    """Build the typed error for a failed HTTP response.

    Args:
        status: the HTTP status code.
        headers: the response headers (retry hints are read from them).
        body: the raw or decoded body.
        provider: the provider's name, for the message and the error.
        calling_id: the Calling's id, carried on the error.
        secret: the API key that was sent, removed from the message if echoed back.
        now: current Unix time, for an HTTP-date ``retry-after`` without a ``date`` header.

    Returns:
        The error (not raised): the caller decides whether to raise or retry.

    Example:
        >>> err = error_from_response(429, {"retry-after": "3"},
        ...     b'{"error": {"message": "slow down", "type": "requests"}}', provider="openai")
        >>> type(err).__name__, err.retry_after
        ('RateLimited', 3.0)
    """
    message, error_type = _describe_body(body)
    if status in _BY_STATUS:
        cls = _BY_STATUS[status]
    elif 500 <= status <= 599:
        cls = ServerError
    else:
        cls = ProviderError
    should_retry = _should_retry(headers)
    if should_retry is None and error_type == "insufficient_quota":
        # A 429 that means "out of credit": no amount of waiting fixes it.
        should_retry = False
    text = _format(cls, provider, f"HTTP {status}", error_type, message, secret)
    return cls(
        text,
        status=status,
        provider=provider,
        calling_id=calling_id,
        retry_after=parse_retry_after(headers, now=now),
        should_retry=should_retry,
        error_type=error_type,
    )


def error_from_type(
    error_type: str | None,
    message: str,
    *,
    provider: str | None = None,
    calling_id: str | None = None,
    secret: str | Revealable | None = None,
) -> ProviderError:
    """Build the typed error for an error reported inside a stream (no HTTP status).

    Args:
        error_type: the provider's error type (``"overloaded_error"``, ...).
        message: the provider's message.
        provider: the provider's name.
        calling_id: the Calling's id.
        secret: the API key that was sent, removed from the message if echoed back.
    """
    cls = _BY_TYPE.get(error_type or "", ServerError)
    text = _format(cls, provider, "a stream error", error_type, message, secret)
    return cls(text, provider=provider, calling_id=calling_id, error_type=error_type)


def _format(
    cls: type[ProviderError],
    provider: str | None,
    what: str,
    error_type: str | None,
    message: str,
    secret: str | Revealable | None,
) -> str:
    clean = mask_secrets(message, secret=secret)
    if len(clean) > _MAX_MESSAGE:
        clean = clean[: _MAX_MESSAGE - 3] + "..."
    kind = f" ({error_type})" if error_type else ""
    hint = _HINTS.get(cls)
    suffix = f"; {hint}" if hint else ""
    return f"{provider or 'the provider'} returned {what}{kind}: {clean}{suffix}"
