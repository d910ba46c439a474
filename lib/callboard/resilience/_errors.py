"""Typed errors for everything that can go wrong talking to a provider.

One class per thing a caller would handle differently: fix the key (401), fix the request
(400), wait and retry (429, 5xx), give up for now (circuit open). Every error carries the
status, the provider, the Calling id and the server's retry hint when there is one, and
never a secret: messages are built from names, numbers and the provider's own error text
with anything that looks like a key masked out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from callboard.errors import CallboardError

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "CircuitOpen",
    "Conflict",
    "ConnectionFailed",
    "InvalidResponse",
    "NotFound",
    "Overloaded",
    "PartialToolCall",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "ServerError",
    "StreamInterrupted",
    "Timeout",
]


class ProviderError(CallboardError):
    """A call to a provider failed.

    Args:
        message: what went wrong and how to fix it; must not contain a secret.
        status: the HTTP status, or ``None`` when no response arrived.
        provider: the provider spec's name, when known.
        calling_id: the id of the Calling that failed, when known.
        retry_after: seconds the server asked us to wait, when it said.
        should_retry: the server's ``x-should-retry`` verdict, which overrides the
            retry policy's own judgement; ``None`` when the server did not say.
        error_type: the provider's machine-readable error type or code
            (``"rate_limit_exceeded"``, ``"overloaded_error"``), when it sent one.

    ``retryable`` says whether the error is worth retrying when the server gave no
    verdict; subclasses set it.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str | None = None,
        calling_id: str | None = None,
        retry_after: float | None = None,
        should_retry: bool | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.provider = provider
        self.calling_id = calling_id
        self.retry_after = retry_after
        self.should_retry = should_retry
        self.error_type = error_type

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"provider={self.provider!r}, calling_id={self.calling_id!r}, "
            f"retry_after={self.retry_after!r})"
        )


class BadRequest(ProviderError):
    """The provider rejected the request as malformed (400, 413, 422): fix the payload."""


class AuthenticationError(ProviderError):
    """The API key is missing, wrong or revoked (401): check the key's environment variable."""


class PermissionDenied(ProviderError):
    """The key is valid but may not use this model or resource (403)."""


class NotFound(ProviderError):
    """The path or model does not exist (404): check the model name and base URL."""


class Conflict(ProviderError):
    """The provider saw a conflicting concurrent request (409); retrying usually succeeds."""

    retryable = True


class RateLimited(ProviderError):
    """The provider's rate limit was hit (429); ``retry_after`` says how long to wait."""

    retryable = True


class ServerError(ProviderError):
    """The provider failed internally (5xx); usually transient."""

    retryable = True


class Overloaded(ServerError):
    """The provider is overloaded (529, Anthropic's ``overloaded_error``)."""


class Timeout(ProviderError):
    """No complete answer arrived in time (client timeout, or the server's 408)."""

    retryable = True


class ConnectionFailed(ProviderError):
    """No connection could be made or it dropped before a response arrived."""

    retryable = True


class InvalidResponse(ProviderError):
    """The provider answered with something we cannot read.

    A body that is not JSON, an HTML error page from a proxy, or JSON missing the fields
    its model type must have. Retrying rarely helps, so it is not retried.
    """


class PartialToolCall(Protocol):
    """What [`StreamInterrupted`][callboard.StreamInterrupted] keeps of each tool call (a
    [`ToolCall`][callboard.ToolCall]; typed by its fields here, below the providers layer)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def arguments(self) -> str: ...

    @property
    def incomplete(self) -> bool: ...


class StreamInterrupted(ProviderError):
    """A stream ended before its final event.

    ``partial_text`` keeps the text that did arrive, so the caller can show or resume it,
    and ``partial_tool_calls`` the tool calls (a call whose arguments were cut off is
    marked ``incomplete``, with what parses in ``partial_arguments``); the Executor
    charges the tokens it consumed. Not retried: the caller already saw part of the
    answer.

    Args:
        partial_text: the text received before the stream broke.
        partial_tool_calls: the tool calls received before it broke
            ([`ToolCall`][callboard.ToolCall] values).
    """

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        partial_tool_calls: Sequence[PartialToolCall] = (),
        status: int | None = None,
        provider: str | None = None,
        calling_id: str | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=status,
            provider=provider,
            calling_id=calling_id,
            error_type=error_type,
        )
        self.partial_text = partial_text
        self.partial_tool_calls: tuple[PartialToolCall, ...] = tuple(partial_tool_calls)


class CircuitOpen(ProviderError):
    """The circuit breaker is open: the call was refused without contacting the provider.

    ``retry_after`` is the time until the breaker lets a probe through, or ``None`` when
    a probe is already in flight and its outcome decides.
    """
