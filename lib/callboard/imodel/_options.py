"""How iModel's keyword arguments are checked and resolved before anything is built."""

from __future__ import annotations

import math
import re
from typing import Any

from callboard.calling import Backend
from callboard.endpoint import match_endpoint
from callboard.errors import CallboardError, ConfigError
from callboard.limits import AdaptiveLimiter, AdmissionPolicy

from ._errors import ProviderUnavailable

__all__ = ["ENV_NAME", "OWN_KWARGS", "backend_attr", "bucket", "match", "positive"]

OWN_KWARGS = frozenset(
    {
        "name",
        "version",
        "tags",
        "provider_metadata",
        "concurrency_limit",
        "token_estimator",
        "event_buffer_size",
        "stream_buffer_size",
        "api_key_env",
        "admission_policy",
    }
)
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")


def positive(value: object, field: str, *, integer: bool = False) -> None:
    ok = (
        not isinstance(value, bool)
        and isinstance(value, int if integer else int | float)
        and 0 < value < math.inf  # pyright: ignore[reportOperatorIssue]
    )
    if not ok:
        kind = "an int >= 1" if integer else "a positive finite number"
        raise ConfigError(f"{field} must be {kind}, got {value!r}", field=field)


def backend_attr(backend: object, name: str, default: Any) -> Any:
    value = getattr(backend, name, default)
    return None if callable(value) else value


def bucket(
    limit: float | None, period: float, unit: str, policy: AdmissionPolicy
) -> AdaptiveLimiter | None:
    # An AdaptiveLimiter, not a bare TokenBucket: a limit given as a number is paced
    # (smoothly by default) and learns the provider's real limit, as in the Executor.
    if limit is None:
        return None
    kind = "requests" if unit == "requests" else "tokens"
    return AdaptiveLimiter(limit, period, unit=kind, policy=policy)


def match(provider: str, endpoint: str, kwargs: dict[str, Any]) -> Backend:
    try:
        backend: Backend = match_endpoint(provider, endpoint, **kwargs)
    except CallboardError:
        raise
    except (LookupError, ValueError) as error:
        raise ProviderUnavailable(
            f"no endpoint matched provider={provider!r}, endpoint={endpoint!r} "
            f"({type(error).__name__})",
            field="provider",
        ) from None
    return backend
