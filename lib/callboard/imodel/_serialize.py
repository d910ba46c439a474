"""iModel's configuration as data, through the project's one converter.

What a model serializes to is :class:`ModelConfig`: configuration
only — no identity (``from_dict`` gives a fresh ``id``), no bucket state (fresh, full
buckets), no secret (an API key is kept only as the name of its environment variable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from callboard.calling import Backend
from callboard.errors import ConfigError
from callboard.limits import AdmissionPolicy
from callboard.serialization import converter, structure

from ._errors import NotRestorable

if TYPE_CHECKING:
    from ._imodel import iModel

__all__ = ["LimitsConfig", "ModelConfig", "SerializedEndpoint", "model_from_dict", "model_to_dict"]

FORMAT = 1


@attrs.frozen(kw_only=True)
class SerializedEndpoint:
    """How to rebuild a provider backend: ``match_endpoint(provider, endpoint, **options)``.

    Not :class:`~callboard.EndpointConfig` (an Endpoint's full, validated
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
    not data); ``backend_type`` then names it for the error ``from_dict`` raises."""

    format: int = FORMAT
    name: str
    version: str | None = None
    tags: list[str] = attrs.field(factory=list[str])
    provider_metadata: dict[str, Any] = attrs.field(factory=dict[str, Any])
    backend: SerializedEndpoint | None = None
    backend_type: str
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


def model_to_dict(model: iModel) -> dict[str, Any]:
    """:meth:`iModel.to_dict`. Raises ConfigError when metadata or options are not JSON."""
    backend: SerializedEndpoint | None = None
    if model.provider is not None:
        _json_safe(model.endpoint_options, "endpoint_options")
        backend = SerializedEndpoint(
            provider=model.provider,
            endpoint=model.endpoint,
            api_key_env=model.api_key_env,
            options=dict(model.endpoint_options),
        )
    _json_safe(model.provider_metadata, "provider_metadata")
    config = ModelConfig(
        name=model.name,
        version=model.version,
        tags=sorted(model.tags),
        provider_metadata=dict(model.provider_metadata),
        backend=backend,
        backend_type=type(model.backend).__name__,
        limits=LimitsConfig(
            limit_requests=model.limit_requests,
            limit_tokens=model.limit_tokens,
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


def model_from_dict(data: Mapping[str, Any], *, backend: Backend | None) -> iModel:
    """:meth:`iModel.from_dict`."""
    from ._imodel import iModel

    config = structure(data, ModelConfig, "an iModel configuration")
    if config.format != FORMAT:
        raise ConfigError(
            f"iModel data format {config.format} is not supported (expected {FORMAT})",
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
    options = dict(endpoint.options)
    if endpoint.api_key_env is not None:
        if endpoint.api_key_env not in os.environ:
            raise NotRestorable(
                f"model {config.name!r} takes its API key from the environment variable "
                f"{endpoint.api_key_env}, which is not set; set it and load again",
                field="api_key_env",
            )
        options["api_key"] = endpoint.api_key_env
    return iModel(provider=endpoint.provider, endpoint=endpoint.endpoint, **options, **common)
