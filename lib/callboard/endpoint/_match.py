"""match_endpoint: a provider name and an endpoint in, a ready Endpoint out."""

from __future__ import annotations

import re
from typing import Any

from callboard.providers import endpoint_model_type, get_provider

from ._config import EndpointConfig
from ._endpoint import Endpoint
from ._secret import Secret

__all__ = ["match_endpoint"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")

_CONFIG_FIELDS = frozenset(
    {
        "name",
        "base_url",
        "path",
        "method",
        "auth",
        "headers",
        "default_fields",
        "timeout",
        "transport",
        "retry",
        "circuit",
        "max_connections",
        "timeouts",
        "max_response_bytes",
    }
)


def match_endpoint(provider: str, endpoint: str = "chat", **kwargs: Any) -> Endpoint:
    """A ready :class:`~callboard.Endpoint` for ``provider``'s ``endpoint``.

    Args:
        provider: a provider name (see :func:`known_providers`); ``"openai_compatible"``
            with ``base_url`` reaches any server speaking the OpenAI API.
        endpoint: a model type (``"chat"``, ``"embeddings"``, ...) or the provider's path
            for it (``"chat/completions"``, ``"messages"``).
        **kwargs: ``api_key`` (an environment variable's name such as
            ``"OPENAI_API_KEY"``, the key itself, or a :class:`Secret`; a raw key is
            wrapped at once so it never shows), ``executor`` and ``broadcast`` (for the
            Endpoint), any :class:`EndpointConfig` field (``base_url``, ``timeout``,
            ``retry``, ``transport``, ...); everything else (``model``,
            ``temperature``, ...) becomes a default request field.

    Raises:
        UnknownProvider: no provider has that name; the message lists the known ones.
        UnsupportedModelType: the provider does not offer that endpoint.
        InvalidEndpointConfig: an option is invalid (every bad one is listed).
        MissingApiKey: the provider needs a key and none was found.

    Example:
        >>> endpoint = match_endpoint("vllm", "embeddings", base_url="http://127.0.0.1:8000/v1",
        ...                           model="bge-small")
        >>> endpoint.config.name, endpoint.config.default_fields["model"]
        ('vllm:embeddings', 'bge-small')
    """
    executor = kwargs.pop("executor", None)
    broadcast = kwargs.pop("broadcast", None)
    api_key = kwargs.pop("api_key", None)
    if isinstance(api_key, str) and not _ENV_NAME.match(api_key):
        api_key = Secret(api_key)
    spec = get_provider(provider, base_url=kwargs.get("base_url"))
    kind = endpoint_model_type(spec, endpoint, own_path=kwargs.get("path") is not None)
    options = {key: kwargs.pop(key) for key in list(kwargs) if key in _CONFIG_FIELDS}
    defaults = {**dict(options.pop("default_fields", None) or {}), **kwargs}
    config = EndpointConfig(
        provider=provider,
        endpoint=str(kind),
        api_key=api_key,
        default_fields=defaults,
        **options,
    )
    return Endpoint(config, executor=executor, broadcast=broadcast)
