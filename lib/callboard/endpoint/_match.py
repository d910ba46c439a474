"""match_endpoint: a provider name and an endpoint in, a ready Endpoint out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from callboard.actors import Broadcast, LifecycleEvent
from callboard.providers import endpoint_model_type, get_provider
from callboard.resilience import RetryPolicy

from ._api_key import key_source
from ._config import DEFAULT_TIMEOUT, AuthName, CircuitSettings, EndpointConfig
from ._endpoint import Endpoint
from ._request_fields import check_request_fields
from ._secret import Secret
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, Timeouts

if TYPE_CHECKING:
    from callboard.executor import Executor

__all__ = ["ENDPOINT_OPTIONS", "match_endpoint"]

ENDPOINT_OPTIONS = (
    "model",
    "api_key",
    "api_key_env",
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
    "executor",
    "broadcast",
)
"""The keyword options of ``match_endpoint`` (every other keyword is a request field)."""


def match_endpoint(
    provider: str,
    endpoint: str = "chat",
    *,
    model: str | None = None,
    api_key: str | Secret | None = None,
    api_key_env: str | None = None,
    name: str = "",
    base_url: str | None = None,
    path: str | None = None,
    method: str = "POST",
    auth: AuthName | None = None,
    headers: Mapping[str, str] | None = None,
    default_fields: Mapping[str, Any] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    transport: str = "http",
    retry: RetryPolicy | None = None,
    circuit: CircuitSettings | None = None,
    max_connections: int | None = None,
    timeouts: Timeouts | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    executor: Executor | None = None,
    broadcast: Broadcast[LifecycleEvent] | None = None,
    **request_fields: Any,
) -> Endpoint:
    """A ready [`Endpoint`][callboard.Endpoint] for ``provider``'s ``endpoint``.

    Args:
        provider: a provider name (see ``known_providers``); ``"openai_compatible"``
            with ``base_url`` reaches any server speaking the OpenAI API.
        endpoint: a model type (``"chat"``, ``"embeddings"``, ...) or the provider's path
            for it (``"chat/completions"``, ``"messages"``).
        model: the request's ``model`` field, used when a payload has none.
        api_key: the key as ``Secret(key)``, or a bare string (capitals, digits and
            underscores name an environment variable; anything else is the key itself,
            wrapped in a Secret at once so it never shows).
        api_key_env: the name of the environment variable holding the key (explicit).
        name: the Endpoint's name (``"provider:endpoint"`` by default).
        base_url: where the API is (``EndpointConfig``'s fields, as below).
        path: the endpoint's own path, for a server with other paths.
        method: the HTTP method.
        auth: how the key is sent (``None``: the provider's way).
        headers: extra non-secret headers.
        timeout: seconds to connect and between bytes of an answer.
        transport: ``"http"`` (h11), ``"httpx"``, ``"sdk"`` or a registered one.
        retry: a [`RetryPolicy`][callboard.RetryPolicy] (its defaults when ``None``).
        circuit: [`CircuitSettings`][callboard.CircuitSettings] (its defaults when ``None``).
        max_connections: the connection pool's size.
        timeouts: per-phase [`Timeouts`][callboard.Timeouts].
        max_response_bytes: the largest answer read.
        default_fields: request fields used when a payload lacks them; the way to send
            a field the provider's API reference does not list.
        executor: the Executor in front of the Endpoint (rate-limit feedback, retries).
        broadcast: where the Endpoint publishes its events.
        **request_fields: more request defaults (``temperature=0.2``, ``max_tokens``),
            each a field the provider documents for this endpoint.

    Raises:
        UnknownProvider: no provider has that name; the message lists the known ones.
        UnsupportedModelType: the provider does not offer that endpoint.
        ConfigError: a keyword is neither an option nor a request field of the provider
            (with a did-you-mean), or ``api_key`` / ``api_key_env`` are wrong.
        InvalidEndpointConfig: an option is invalid (every bad one is listed).
        MissingApiKey: the provider needs a key and none was found.

    Example:
        >>> endpoint = match_endpoint("vllm", "embeddings", base_url="http://127.0.0.1:8000/v1",
        ...                           model="bge-small")
        >>> endpoint.config.name, endpoint.config.default_fields["model"]
        ('vllm:embeddings', 'bge-small')
    """
    source = key_source(api_key, api_key_env)
    spec = get_provider(provider, base_url=base_url)
    kind = endpoint_model_type(spec, endpoint, own_path=path is not None)
    check_request_fields(
        spec, kind, request_fields, options=ENDPOINT_OPTIONS, where="match_endpoint"
    )
    defaults = dict(default_fields or {})
    if model is not None:
        defaults["model"] = model
    defaults.update(request_fields)
    config = EndpointConfig(
        provider=provider,
        endpoint=str(kind),
        name=name,
        base_url=base_url,
        path=path,
        method=method,
        auth=auth,
        # A bare name stays bare (so a missing variable's error says how it was read).
        api_key=source if api_key_env is None else None,
        api_key_env=api_key_env,
        headers=dict(headers or {}),
        default_fields=defaults,
        timeout=timeout,
        transport=transport,
        retry=retry if retry is not None else RetryPolicy(),
        circuit=circuit if circuit is not None else CircuitSettings(),
        max_connections=max_connections,
        timeouts=timeouts if timeouts is not None else Timeouts(),
        max_response_bytes=max_response_bytes,
    )
    return Endpoint(config, executor=executor, broadcast=broadcast)
