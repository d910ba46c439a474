"""What a failed attempt means for a routed call: try another deployment, fall back to
another model for this kind of failure, or stop.

A deployment that cannot serve the call (rate limited beyond what the call's deadline
allows, overloaded, a server error, no connection, its circuit open, its actor tree
stopped, its key refused) is a reason to try another deployment of the same model. A
request the provider refused as such (a bad request) would fail the same way anywhere,
unless it is one of the named kinds a fallback is configured for: a context window too
small for the prompt, content a provider's filter refused.
"""

from __future__ import annotations

import enum
import re

from callboard.actors import ActorStopped
from callboard.calling import (
    CallingAbortedError,
    CallingCancelledError,
    CallingTimeoutError,
)
from callboard.endpoint import EndpointRestarted
from callboard.imodel import HookAborted
from callboard.resilience import (
    AuthenticationError,
    BadRequest,
    CircuitOpen,
    ConnectionFailed,
    NotFound,
    PermissionDenied,
    ProviderError,
    RateLimited,
    ServerError,
    StreamInterrupted,
    Timeout,
)

__all__ = ["FALLBACK_KINDS", "Verdict", "fallback_kind", "verdict"]


class Verdict(enum.Enum):
    """What to do after an attempt failed."""

    ANOTHER = "another"
    """Try another deployment; this one keeps its health."""
    ANOTHER_AND_REST = "another_and_rest"
    """Try another deployment, and rest this one now (its server is gone, its tree
    stopped, its circuit is open or its key was refused)."""
    STOP = "stop"
    """The call's own end: no other deployment would do better."""


FALLBACK_KINDS = ("context_window", "content_filter")
"""The failure kinds ``Router(fallback_on=...)`` can name."""

_CONTEXT_TYPES = frozenset(
    {"context_length_exceeded", "string_above_max_length", "request_too_large"}
)
_CONTEXT_TEXT = re.compile(
    r"context (length|window)|maximum context|prompt is too long|too many tokens|"
    r"input is too long|reduce the length",
    re.IGNORECASE,
)
_FILTER_TYPES = frozenset({"content_filter", "content_policy_violation"})
_FILTER_TEXT = re.compile(r"content (filter|policy|management)", re.IGNORECASE)


def verdict(error: BaseException) -> Verdict:
    """The verdict on an attempt that failed with ``error``."""
    if isinstance(error, CallingTimeoutError | CallingCancelledError | HookAborted):
        return Verdict.STOP  # the call's own deadline, its caller's cancel, a hook's refusal
    if isinstance(error, ConnectionFailed | CircuitOpen | AuthenticationError | PermissionDenied):
        return Verdict.ANOTHER_AND_REST
    if isinstance(error, ActorStopped | EndpointRestarted | CallingAbortedError):
        return Verdict.ANOTHER_AND_REST  # the deployment's actor tree stopped under it
    if isinstance(error, NotFound):
        return Verdict.ANOTHER_AND_REST  # this deployment does not serve the model
    if isinstance(error, RateLimited | ServerError | Timeout | StreamInterrupted):
        return Verdict.ANOTHER
    if isinstance(error, ProviderError) and error.retryable:
        return Verdict.ANOTHER
    return Verdict.STOP


def fallback_kind(error: BaseException) -> str | None:
    """The named failure kind of ``error`` (one of ``FALLBACK_KINDS``), if any."""
    if not isinstance(error, BadRequest):
        return None
    kind = (error.error_type or "").lower()
    if kind in _CONTEXT_TYPES or _CONTEXT_TEXT.search(error.message):
        return "context_window"
    if kind in _FILTER_TYPES or _FILTER_TEXT.search(error.message):
        return "content_filter"
    return None
