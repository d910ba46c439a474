"""iModel's configuration as data, through the project's one converter.

What a model serializes to is ``ModelConfig``: configuration
only — no identity (``from_dict`` gives a fresh ``id``), no bucket state (fresh, full
buckets), no secret (an API key is kept only as the name of its environment variable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import attrs

from callboard.calling import Backend
from callboard.endpoint import CircuitSettings, Timeouts
from callboard.errors import ConfigError
from callboard.limits import AdmissionPolicy, Limiter
from callboard.resilience import RetryPolicy
from callboard.serialization import converter, structure

from ._backend_codecs import codec_for, codec_named
from ._errors import NotRestorable

if TYPE_CHECKING:
    from ._imodel import iModel

__all__ = ["LimitsConfig", "ModelConfig", "SerializedEndpoint", "model_from_dict", "model_to_dict"]

FORMAT = 2
# Format 1 had no ``backend_data``; it reads the same (that field is then None).
_READABLE = frozenset({1, FORMAT})


@attrs.frozen(kw_only=True)
class SerializedEndpoint:
    """How to rebuild a provider backend: ``match_endpoint(provider, endpoint, **options)``.

    Not [`EndpointConfig`][callboard.EndpointConfig] (an Endpoint's full, validated
    configuration): this is the part of a model's data that names its provider.
    """

    provider: str
    endpoint: str
    api_key_env: str | None = None
    options: dict[str, Any] = attrs.field(factory=dict[str, Any])


@attrs.frozen(kw_only=True)
class LimitsConfig:
    """The numbers the model's buckets and Executor are built from (never their state)."""

    limit_requests: float | None = None
    limit_tokens: float | None = None
    capacity_refresh_time: float = 60.0
    queue_capacity: int = 100
    concurrency_limit: int | None = None
    admission_policy: AdmissionPolicy | None = None


@attrs.frozen(kw_only=True)
class ModelConfig:
    """An iModel as data. ``backend`` is ``None`` for a Tool or custom backend (code,
    not data); ``backend_type`` then names it for the error ``from_dict`` raises, and
    ``backend_data`` holds what its codec wrote (a Tool: its function's import path)."""

    format: int = FORMAT
    name: str
    version: str | None = None
    tags: list[str] = attrs.field(factory=list[str])
    provider_metadata: dict[str, Any] = attrs.field(factory=dict[str, Any])
    backend: SerializedEndpoint | None = None
    backend_type: str
    backend_data: dict[str, Any] | None = None
    limits: LimitsConfig = attrs.field(factory=LimitsConfig)


def _json_safe(value: object, field: str) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{field} must hold only JSON values (str, numbers, bool, None, lists, dicts) "
            "to be serialized",
            field=field,
        ) from None


# Endpoint options that are config values of their own: (un)structured by the converter.
_TYPED_OPTIONS: dict[str, type[Any]] = {
    "retry": RetryPolicy,
    "circuit": CircuitSettings,
    "timeouts": Timeouts,
}


def _options_to_data(options: Mapping[str, Any]) -> dict[str, Any]:
    data = {
        key: converter.unstructure(value) if key in _TYPED_OPTIONS else value
        for key, value in options.items()
    }
    for key, value in data.items():
        _json_safe(value, f"endpoint_options[{key!r}]")
    return data


def _options_from_data(options: Mapping[str, Any]) -> dict[str, Any]:
    built = dict(options)
    for key, kind in _TYPED_OPTIONS.items():
        if built.get(key) is not None:
            built[key] = structure(built[key], kind, f"the {key} option of an iModel")
    return built


def model_to_dict(model: iModel) -> dict[str, Any]:
    """``to_dict()``.

    Raises:
        ConfigError: metadata or options are not JSON, or a limit is a live object.
    """
    live = model.limiter_objects
    if live:
        raise ConfigError(
            f"{live[0]} was given as an object (a Limiter or an Executor), which is live "
            "state, not data: to_dict() keeps numeric limits only; give the limits as "
            "numbers, or pass the object again to the model you rebuild",
            field=live[0],
        )
    backend: SerializedEndpoint | None = None
    if model.provider is not None:
        backend = SerializedEndpoint(
            provider=model.provider,
            endpoint=model.endpoint,
            api_key_env=model.api_key_env,
            options=_options_to_data(model.endpoint_options),
        )
    backend_data: dict[str, Any] | None = None
    codec = codec_for(model.backend) if backend is None else None
    if codec is not None:
        backend_data = {"kind": codec.kind, **codec.dump(model.backend)}
    _json_safe(model.provider_metadata, "provider_metadata")
    numeric = (model.limit_requests, model.limit_tokens)
    requests, tokens = (None if isinstance(n, Limiter) else n for n in numeric)
    config = ModelConfig(
        name=model.name,
        version=model.version,
        tags=sorted(model.tags),
        provider_metadata=dict(model.provider_metadata),
        backend=backend,
        backend_type=type(model.backend).__name__,
        backend_data=backend_data,
        limits=LimitsConfig(
            limit_requests=requests,
            limit_tokens=tokens,
            capacity_refresh_time=model.capacity_refresh_time,
            queue_capacity=model.queue_capacity,
            concurrency_limit=model.concurrency_limit,
            admission_policy=None
            if model.admission_policy == AdmissionPolicy()
            else model.admission_policy,
        ),
    )
    data: dict[str, Any] = converter.unstructure(config)
    return data


def model_from_dict(data: object, *, backend: Backend | None) -> iModel:
    """``from_dict()``."""
    from ._imodel import iModel

    if not isinstance(data, Mapping):
        raise ConfigError(
            "iModel.from_dict() takes the mapping iModel.to_dict() returned (possibly "
            f"through json.dumps / json.loads), got {type(data).__name__}",
            field="data",
        )
    config = structure(cast(Mapping[str, Any], data), ModelConfig, "an iModel configuration")
    if config.format not in _READABLE:
        raise ConfigError(
            f"iModel data format {config.format} is not supported (expected "
            f"{' or '.join(map(str, sorted(_READABLE)))})",
            field="format",
        )
    limits = config.limits
    common: dict[str, Any] = {
        "queue_capacity": limits.queue_capacity,
        "capacity_refresh_time": limits.capacity_refresh_time,
        "limit_requests": limits.limit_requests,
        "limit_tokens": limits.limit_tokens,
        "name": config.name,
        "version": config.version,
        "tags": frozenset(config.tags),
        "provider_metadata": config.provider_metadata,
        "concurrency_limit": limits.concurrency_limit,
    }
    if limits.admission_policy is not None:
        common["admission_policy"] = limits.admission_policy
    if backend is None and config.backend is None and config.backend_data is not None:
        backend = _load_backend(config.name, config.backend_data)
    if backend is not None:
        return iModel(backend=backend, **common)
    endpoint = config.backend
    if endpoint is None:
        raise NotRestorable(
            f"model {config.name!r} was built on a {config.backend_type} backend, which is "
            "code and was not serialized; pass it again: "
            "iModel.from_dict(data, backend=...)",
            field="backend",
        )
    options = _options_from_data(endpoint.options)
    if endpoint.api_key_env is not None:
        if endpoint.api_key_env not in os.environ:
            raise NotRestorable(
                f"model {config.name!r} takes its API key from the environment variable "
                f"{endpoint.api_key_env}, which is not set; set it and load again",
                field="api_key_env",
            )
        options["api_key_env"] = endpoint.api_key_env
    return iModel(provider=endpoint.provider, endpoint=endpoint.endpoint, **options, **common)


def _load_backend(name: str, data: Mapping[str, Any]) -> Backend:
    kind = data.get("kind")
    codec = codec_named(kind) if isinstance(kind, str) else None
    if codec is None:
        raise NotRestorable(
            f"model {name!r} has a {kind!r} backend and nothing registered that kind; "
            "import the package that defines it (callboard itself for a Tool), or pass "
            "iModel.from_dict(data, backend=...)",
            field="backend_data",
        )
    return codec.load(data)
