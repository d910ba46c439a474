"""Keywords for the official SDK's client constructor (lionfuncs'
``client_constructor_kwargs``): checked when a config is built, hidden once accepted.

The ``sdk`` transport builds the SDK client itself, so some constructor keywords are
callboard's to set: the key, the base URL and the HTTP client (pooled and sized by the
Endpoint), and the retries (off in the SDK: the Endpoint's ``RetryPolicy`` is the one
retry layer). What has a meaning of callboard's own maps onto it
(``timeout``, ``default_headers``, ``max_retries``); the rest goes to the constructor
as given, after its names are checked against the constructor's signature.

A value may be a credential (``webhook_secret``, a token in ``default_query``): each
text value is wrapped in a [`Secret`][callboard.Secret] when accepted and revealed only
into the constructor call, so no repr, error or serialized config shows one.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, cast

from ._secret import Secret

__all__ = [
    "MAPPED",
    "hide_kwargs",
    "kwargs_problems",
    "reveal_kwargs",
    "sdk_parameters",
    "serializable_kwargs",
]

# Constructor keywords that callboard sets itself, with where the user's value belongs.
_OWNED: Mapping[str, str] = MappingProxyType(
    {
        "api_key": "give the key as api_key",
        "auth_token": "give the key as api_key",
        "admin_api_key": "give the key as api_key",
        "credentials": "give the key as api_key",
        "workload_identity": "give the key as api_key",
        "base_url": "give it as base_url",
        "http_client": "the Endpoint opens and sizes the HTTP client (max_connections)",
    }
)

MAPPED: Mapping[str, str] = MappingProxyType(
    {
        "timeout": "the endpoint's timeout",
        "default_headers": "the endpoint's headers",
        "max_retries": "the endpoint's RetryPolicy(max_retries=...)",
    }
)
"""Constructor keywords with a meaning of callboard's own, and what they set."""


def sdk_parameters(sdk: str, client_class: str) -> frozenset[str] | None:
    """The keyword names of the SDK client's constructor, or ``None`` when the SDK is
    not installed (the names are checked again when the transport opens)."""
    try:
        module = importlib.import_module(sdk)
    except ImportError:
        return None
    signature = inspect.signature(getattr(module, client_class))
    return frozenset(
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not name.startswith("_")
    )


def kwargs_problems(
    kwargs: Mapping[str, object], *, transport: str, sdk: str | None, client_class: str | None
) -> dict[str, str]:
    """What is wrong with ``kwargs`` as the SDK client's constructor keywords; the
    problems name keys, never values."""
    problems: dict[str, str] = {}
    if not kwargs:
        return problems
    if transport != "sdk" or sdk is None or client_class is None:
        key = sorted(kwargs)[0]
        problems[f"client_kwargs.{key}"] = (
            f"{key!r}: only the sdk transport builds an SDK client to pass keywords to; "
            "set the endpoint's own fields (timeout, headers, retry) instead"
        )
        return problems
    known = sdk_parameters(sdk, client_class)
    for key in sorted(kwargs):
        where = f"client_kwargs.{key}"
        if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            problems["client_kwargs"] = "keys must be strings"
        elif key in _OWNED:
            problems[where] = f"{key!r} is set by callboard: {_OWNED[key]}"
        elif key in MAPPED:
            problems[where] = f"{key!r} belongs in {MAPPED[key]}, not in client_kwargs"
        elif known is not None and key not in known:
            valid = ", ".join(sorted(known - _OWNED.keys() - MAPPED.keys()))
            problems[where] = f"{key!r} is not a keyword of {sdk}.{client_class}; valid: {valid}"
    return problems


def _hide(value: object) -> object:
    if isinstance(value, str):
        return Secret(value)
    if isinstance(value, Mapping):
        inner = cast(Mapping[str, object], value)
        return MappingProxyType({name: _hide(item) for name, item in inner.items()})
    return value


def hide_kwargs(kwargs: Mapping[str, object]) -> Mapping[str, object]:
    """``kwargs`` read-only, every text value (also one level down) wrapped in a Secret.

    Example:
        >>> hide_kwargs({"organization": "org-1", "default_query": {"t": "x"}})["organization"]
        Secret('***')
    """
    return MappingProxyType({key: _hide(value) for key, value in kwargs.items()})


def _reveal(value: object) -> Any:
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, Mapping):
        inner = cast(Mapping[str, object], value)
        return {name: _reveal(item) for name, item in inner.items()}
    return value


def reveal_kwargs(kwargs: Mapping[str, object]) -> dict[str, Any]:
    """The keywords as the constructor takes them (do not log this)."""
    return {key: _reveal(value) for key, value in kwargs.items()}


def serializable_kwargs(kwargs: Mapping[str, object]) -> dict[str, object]:
    """What of ``kwargs`` a serialized config keeps: numbers, booleans and ``None``
    (no secret can hide in them); text and mappings are left out, like a raw key."""
    return {
        key: value
        for key, value in kwargs.items()
        if value is None or isinstance(value, bool | int | float)
    }
