"""API-key checks in each provider's style, with each provider's error bodies."""

from __future__ import annotations

from collections.abc import Container

from ._http import HttpRequest
from ._wire import Body, Family, error_reply

__all__ = ["authenticate"]


def _bearer(request: HttpRequest) -> str | None:
    auth = request.header("authorization") or ""
    key = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    return key or None


def authenticate(
    family: Family, request: HttpRequest, keys: Container[str]
) -> tuple[str | None, Body | None]:
    """The configured key the request carries, and the error to send if any.

    OpenAI routes take ``Authorization: Bearer KEY``; ``/v1/messages`` takes
    ``x-api-key`` (or a Bearer token) and requires ``anthropic-version``. Messages never
    repeat the key that was sent.
    """
    if family == "anthropic":
        key = request.header("x-api-key") or _bearer(request)
        if key is None:
            return None, error_reply(family, 401, "x-api-key header is required")
        if key not in keys:
            return None, error_reply(family, 401, "invalid x-api-key")
        if request.header("anthropic-version") is None:
            return key, error_reply(family, 400, "anthropic-version: header is required")
        return key, None
    key = _bearer(request)
    if key is None:
        return None, error_reply(
            family,
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    if key not in keys:
        return None, error_reply(family, 401, "Incorrect API key provided.", code="invalid_api_key")
    return key, None
