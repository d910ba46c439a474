"""How iModel's keyword arguments are checked and resolved before anything is built.

Every check names the argument and says how to fix it, at construction: a bad value must
not wait for the first call (or the first stream) to surface, far from the line that
caused it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

from callboard.calling import Backend
from callboard.endpoint import match_endpoint
from callboard.endpoint._api_key import KeySource
from callboard.endpoint._config import DEFAULT_TIMEOUT
from callboard.endpoint._match import ENDPOINT_OPTIONS
from callboard.endpoint._request_fields import check_request_fields
from callboard.endpoint._transport import DEFAULT_MAX_RESPONSE_BYTES
from callboard.errors import CallboardError, ConfigError
from callboard.executor import Executor
from callboard.limits import AdaptiveLimiter, AdmissionPolicy, Limiter
from callboard.providers import endpoint_model_type, get_provider

from ._errors import ProviderUnavailable
from ._hooks import HookRegistry

__all__ = [
    "DEFAULTED_OPTIONS",
    "IMODEL_OPTIONS",
    "OWN_CHECKED",
    "backend_attr",
    "ceiling_of",
    "check_own",
    "given_options",
    "limiter_for",
    "limiters",
    "live_objects",
    "positive",
    "resolve_backend",
]

IMODEL_OPTIONS = (
    "backend",
    "provider",
    "endpoint",
    "rate_limiter",
    "executor",
    "hook_registry",
    "queue_capacity",
    "capacity_refresh_time",
    "limit_requests",
    "limit_tokens",
    "name",
    "version",
    "tags",
    "provider_metadata",
    "concurrency_limit",
    "token_estimator",
    "admission_policy",
    "event_buffer_size",
    "stream_buffer_size",
    *ENDPOINT_OPTIONS,
)
"""Every option iModel names (its own and the endpoint's): a keyword close to one of
these is a typo, never a request field."""

_ENDPOINT_DEFAULTS: dict[str, Any] = {
    "model": None,
    "base_url": None,
    "path": None,
    "method": "POST",
    "auth": None,
    "headers": None,
    "default_fields": None,
    "timeout": DEFAULT_TIMEOUT,
    "transport": "http",
    "retry": None,
    "circuit": None,
    "max_connections": None,
    "timeouts": None,
    "max_response_bytes": DEFAULT_MAX_RESPONSE_BYTES,
}
"""The endpoint options as iModel's signature defaults them: only those given
otherwise are passed on (and serialized)."""


def positive(value: object, field: str, *, integer: bool = False) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int if integer else int | float)
        and 0 < value < math.inf  # pyright: ignore[reportOperatorIssue]
    )
    if not ok:
        kind = "an int >= 1" if integer else "a positive finite number"
        raise ConfigError(f"{field} must be {kind}, got {value!r}", field=field)


def _limit(value: object, field: str) -> None:
    if value is None or isinstance(value, Limiter):
        return
    ok = not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < math.inf
    if not ok:
        raise ConfigError(
            f"{field} must be a positive finite number per capacity_refresh_time, or a "
            f"Limiter (a TokenBucket, a RedisLimiter), got {value!r}",
            field=field,
        )


def check_own(
    *,
    endpoint: object,
    rate_limiter: object,
    executor: object,
    hook_registry: object,
    queue_capacity: object,
    capacity_refresh_time: object,
    limit_requests: object,
    limit_tokens: object,
    name: object,
    version: object,
    tags: object,
    provider_metadata: object,
    token_estimator: object,
    event_buffer_size: object,
    stream_buffer_size: object,
) -> None:
    """Check iModel's own options (the Executor checks ``concurrency_limit``).

    Raises:
        ConfigError: the first bad option, named in ``field``.
    """
    if not isinstance(endpoint, str) or not endpoint.strip("/"):
        raise ConfigError(
            f"endpoint must name one, e.g. 'chat' or 'embeddings', got {endpoint!r}",
            field="endpoint",
        )
    positive(capacity_refresh_time, "capacity_refresh_time")
    positive(queue_capacity, "queue_capacity", integer=True)
    _limit(limit_requests, "limit_requests")
    _limit(limit_tokens, "limit_tokens")
    _kind(rate_limiter, Limiter, "rate_limiter", "a Limiter (a TokenBucket, a RedisLimiter)")
    _kind(executor, Executor, "executor", "an Executor whose limiters the model shares")
    _kind(hook_registry, HookRegistry, "hook_registry", "a HookRegistry")
    if rate_limiter is not None and limit_requests is not None:
        raise ConfigError(
            "give rate_limiter or limit_requests, not both (both limit requests)",
            field="rate_limiter",
        )
    if executor is not None and (
        limit_requests is not None or limit_tokens is not None or rate_limiter is not None
    ):
        raise ConfigError(
            "executor= brings its own limits; drop limit_requests, limit_tokens and "
            "rate_limiter, or drop executor",
            field="executor",
        )
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigError(f"name must be a non-empty string, got {name!r}", field="name")
    if version is not None and not isinstance(version, str):
        raise ConfigError(f"version must be a string, got {version!r}", field="version")
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise ConfigError(
            f"tags must be a collection of strings, e.g. {{'llm'}}, got {tags!r}", field="tags"
        )
    if not all(isinstance(tag, str) for tag in tags):  # pyright: ignore[reportUnknownVariableType]
        raise ConfigError("tags must be strings", field="tags")
    _kind(provider_metadata, Mapping, "provider_metadata", "a mapping")
    if token_estimator is not None and not callable(token_estimator):
        raise ConfigError(
            "token_estimator must be a function payload -> tokens to reserve, got "
            f"{type(token_estimator).__name__}",
            field="token_estimator",
        )
    positive(event_buffer_size, "event_buffer_size", integer=True)
    if (
        isinstance(stream_buffer_size, bool)
        or not isinstance(stream_buffer_size, int)
        or stream_buffer_size < 0
    ):
        raise ConfigError(
            "stream_buffer_size must be an int >= 0 (chunks buffered for a slow reader), "
            f"got {stream_buffer_size!r}",
            field="stream_buffer_size",
        )


def _kind(value: object, kind: type, field: str, what: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise ConfigError(f"{field} must be {what}, got {type(value).__name__}", field=field)


def backend_attr(backend: object, name: str, default: Any) -> Any:
    value = getattr(backend, name, default)
    return None if callable(value) else value


def limiter_for(
    limit: float | Limiter | None, period: float, unit: str, policy: AdmissionPolicy
) -> Limiter | None:
    """A limit as iModel takes it: a number per ``period`` (an AdaptiveLimiter, paced
    smoothly by default and learning the provider's real limit, as in the Executor), a
    Limiter (used as it is: a RedisLimiter drops in unchanged) or ``None``."""
    if limit is None or isinstance(limit, Limiter):
        return limit
    kind = "requests" if unit == "requests" else "tokens"
    return AdaptiveLimiter(limit, period, unit=kind, policy=policy)


OWN_CHECKED = tuple(inspect.signature(check_own).parameters)
"""iModel's own options that ``check_own`` checks, by name."""

DEFAULTED_OPTIONS = tuple(_ENDPOINT_DEFAULTS)
"""iModel's endpoint options with their defaults, by name (what ``given_options``
sorts)."""


def ceiling_of(limiter: Limiter | None) -> Limiter | None:
    """The limiter an AdaptiveLimiter paces in front of (the one the user gave, or the
    TokenBucket a number built); any other limiter itself."""
    return limiter.ceiling if isinstance(limiter, AdaptiveLimiter) else limiter


def limiters(
    options: Mapping[str, Any], policy: AdmissionPolicy
) -> tuple[Limiter | None, Limiter | None]:
    """The request and token limiters iModel's options ask for: an ``executor``'s own,
    else ``rate_limiter`` or ``limit_requests``, and ``limit_tokens``."""
    executor: Executor | None = options["executor"]
    if executor is not None:
        return executor.requests_limiter, executor.tokens_limiter
    period = options["capacity_refresh_time"]
    requests = options["rate_limiter"] or limiter_for(
        options["limit_requests"], period, "requests", policy
    )
    return requests, limiter_for(options["limit_tokens"], period, "tokens", policy)


def live_objects(options: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of the limit options given as live objects (a Limiter, an Executor),
    which serialization cannot write as numbers."""
    names = ("executor", "rate_limiter", "limit_requests", "limit_tokens")
    return tuple(key for key in names if isinstance(options[key], Limiter | Executor))


def given_options(**options: Any) -> dict[str, Any]:
    """The endpoint options that differ from iModel's defaults: those are passed on to
    the Endpoint and serialized, the rest is left to EndpointConfig's own defaults."""
    return {key: value for key, value in options.items() if value != _ENDPOINT_DEFAULTS[key]}


def resolve_backend(
    backend: Backend | None,
    provider: str | None,
    endpoint: str,
    *,
    key: KeySource,
    explicit_env: bool,
    options: Mapping[str, Any],
    request_fields: Mapping[str, Any],
) -> Backend:
    """The model's backend: the one given, or the Endpoint ``provider`` matches.

    Raises:
        ConfigError: endpoint options, request fields or a key given with ``backend=``
            (they would be ignored); the errors of ``provider_backend``.
    """
    if backend is None:
        assert provider is not None
        return provider_backend(
            provider,
            endpoint,
            key=key,
            explicit_env=explicit_env,
            options=options,
            request_fields=request_fields,
        )
    if options or request_fields or key is not None:
        named: set[str] = {*options, *request_fields, *(["api_key"] if key is not None else [])}
        extra = sorted(named)
        raise ConfigError(
            f"{', '.join(extra)} configure a provider's endpoint (with provider=); with "
            "backend= configure the backend itself",
            field=extra[0],
        )
    return backend


def provider_backend(
    provider: str,
    endpoint: str,
    *,
    key: KeySource,
    explicit_env: bool,
    options: Mapping[str, Any],
    request_fields: Mapping[str, Any],
) -> Backend:
    """The Endpoint ``iModel(provider=...)`` matches, after checking that every keyword
    that is not an option is a request field the provider documents.

    Raises:
        ConfigError: an unknown keyword (did-you-mean), or a bad option.
        ProviderUnavailable: the provider or endpoint matched nothing.
    """
    try:
        spec = get_provider(provider, base_url=options.get("base_url"))
        kind = endpoint_model_type(spec, endpoint, own_path=options.get("path") is not None)
        check_request_fields(spec, kind, request_fields, options=IMODEL_OPTIONS, where="iModel")
        backend: Backend = match_endpoint(
            provider,
            endpoint,
            api_key=None if explicit_env else key,
            api_key_env=key if explicit_env and isinstance(key, str) else None,
            **options,
            **request_fields,
        )
    except CallboardError:
        raise
    except (LookupError, ValueError) as error:
        raise ProviderUnavailable(
            f"no endpoint matched provider={provider!r}, endpoint={endpoint!r} "
            f"({type(error).__name__})",
            field="provider",
        ) from None
    return backend
