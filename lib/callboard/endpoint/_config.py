"""EndpointConfig: everything an Endpoint is built from, validated at once, as data.

The config is a frozen attrs value checked when it is built: every bad field is found
and reported together in one :class:`InvalidEndpointConfig`. It serializes through the
project's one cattrs converter; an API key survives serialization only as the *name* of
the environment variable holding it, never as a value.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs
import cattrs

from callboard.errors import CallboardError
from callboard.providers import endpoint_model_type, get_provider
from callboard.resilience import RetryPolicy
from callboard.serialization import converter

from ._errors import InvalidEndpointConfig
from ._secret import Secret
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, Timeouts

__all__ = ["AuthName", "CircuitSettings", "EndpointConfig"]

AuthName = Literal["bearer", "x-api-key", "none"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
_AUTHS = ("bearer", "x-api-key", "none")
_METHODS = ("POST", "PUT", "PATCH", "GET")
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "proxy-authorization", "x-goog-api-key"}
)
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _seconds(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


@attrs.frozen(kw_only=True)
class CircuitSettings:
    """The numbers an Endpoint's :class:`~callboard.resilience.CircuitBreaker` is built from.

    Attributes:
        failure_threshold: consecutive failures that open the circuit.
        recovery_time: seconds the circuit stays open before a probe is let through.
        half_open_probes: probe calls allowed in flight while half-open.
    """

    failure_threshold: int = 5
    recovery_time: float = 30.0
    half_open_probes: int = 1


def _readonly(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class EndpointConfig:
    """How to reach one service: provider, URL, auth, defaults, timeouts, resilience.

    Args:
        provider: a provider name (``"openai"``, ``"anthropic"``, ``"openai_compatible"``
            with ``base_url``, ...; see ``callboard.providers.known_providers()``).
        endpoint: the model type (``"chat"``, ``"embeddings"``, ...) or a provider's
            name for it (``"chat/completions"``, ``"messages"``), resolved as
            ``callboard.providers.endpoint_model_type`` does; with ``path`` it says how
            the request and response look.
        name: shown in events and errors; ``"<provider>:<endpoint>"`` by default.
        base_url: the API root, overriding the provider's (a proxy, a local server).
        path: the request path, overriding the provider's path for ``endpoint``.
        method: the HTTP method.
        auth: how the key is sent (``"bearer"``, ``"x-api-key"``, ``"none"``);
            ``None`` uses the provider's style.
        api_key: the *name* of the environment variable holding the key (a string such
            as ``"OPENAI_API_KEY"``), or the key itself wrapped in :class:`Secret`.
            ``None`` uses the provider's conventional variable when it is set.
        headers: extra non-secret headers sent with every request.
        default_fields: request fields used when a payload lacks them (``model``,
            ``temperature``, ...).
        timeout: seconds to connect and between bytes of an answer; ``None`` waits
            forever.
        timeouts: per-phase deadlines (connect, write, first byte, between chunks);
            a phase left ``None`` takes ``timeout``.
        transport: ``"http"`` (HTTP/1.1 on h11 and trio sockets, the default),
            ``"httpx"`` (httpx2: HTTP/2, custom auth), ``"sdk"`` (the official SDK), or
            any name registered with ``register_transport``.
        retry: the one retry layer.
        circuit: the circuit breaker's settings.
        max_connections: the connection pool's cap; ``None`` sizes it to the
            concurrency of the Executor in front of the Endpoint (no cap without one:
            what is in flight is then up to the rate limits).
        max_response_bytes: the largest response body accepted, after decompression
            (a bigger one, or a compression bomb, fails as ``InvalidResponse``).

    Raises:
        InvalidEndpointConfig: one or more fields are invalid; ``problems`` has them all.

    Example:
        >>> config = EndpointConfig(provider="openai", api_key="OPENAI_API_KEY",
        ...                         default_fields={"model": "gpt-4o-mini"})
        >>> config.name, config.to_dict()["api_key_env"]
        ('openai:chat', 'OPENAI_API_KEY')
        >>> EndpointConfig(provider="openai", api_key=Secret("sk-123")).to_dict()["api_key_env"]
    """

    provider: str
    endpoint: str = "chat"
    name: str = attrs.field(default="")
    base_url: str | None = None
    path: str | None = None
    method: str = "POST"
    auth: AuthName | None = None
    api_key: str | Secret | None = attrs.field(default=None, repr=False)
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_readonly)
    default_fields: Mapping[str, Any] = attrs.field(factory=dict[str, Any], converter=_readonly)
    timeout: float | None = 60.0
    transport: str = "http"
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    circuit: CircuitSettings = attrs.field(factory=CircuitSettings)
    max_connections: int | None = None
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __attrs_post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise InvalidEndpointConfig(problems)
        if not self.name:
            object.__setattr__(self, "name", f"{self.provider}:{self.endpoint}")

    @property
    def api_key_env(self) -> str | None:
        """The environment variable the key comes from, or ``None``."""
        return self.api_key if isinstance(self.api_key, str) else None

    def resolve_api_key(self, default_env: str | None = None) -> Secret | None:
        """The key to send: the Secret, else the environment variable's value.

        Args:
            default_env: the provider's conventional variable, read when ``api_key`` is
                ``None``.

        Returns:
            The key, or ``None`` when there is none (the request builder decides
            whether the provider needs one).
        """
        if isinstance(self.api_key, Secret):
            return self.api_key
        env = self.api_key if self.api_key is not None else default_env
        value = os.environ.get(env) if env else None
        return Secret(value) if value else None

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data, through the project's converter (no secret)."""
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointConfig:
        """Rebuild a config from :meth:`to_dict`'s data.

        Raises:
            InvalidEndpointConfig: the data has unknown keys or invalid values.
        """
        try:
            return converter.structure(dict(data), cls)
        except InvalidEndpointConfig:
            raise
        except cattrs.BaseValidationError as group:
            problems = dict(_group_problems(group))
            raise InvalidEndpointConfig(problems or {"data": str(group)}) from None


def _problems(config: EndpointConfig) -> dict[str, str]:
    problems: dict[str, str] = {}
    _check_provider(config, problems)
    if not isinstance(config.endpoint, str) or not config.endpoint.strip("/"):  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["endpoint"] = "must name a model type or path, e.g. 'chat' or 'embeddings'"
    if not isinstance(config.name, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["name"] = "must be a string"
    if config.base_url is not None and not (
        isinstance(config.base_url, str)  # pyright: ignore[reportUnnecessaryIsInstance]
        and config.base_url.startswith(("http://", "https://"))
    ):
        problems["base_url"] = "must start with http:// or https://"
    if config.path is not None and not (
        isinstance(config.path, str) and config.path.startswith("/")  # pyright: ignore[reportUnnecessaryIsInstance]
    ):
        problems["path"] = "must start with '/', e.g. '/v1/chat/completions'"
    if config.method not in _METHODS:
        problems["method"] = f"must be one of {', '.join(_METHODS)}"
    if config.auth is not None and config.auth not in _AUTHS:
        problems["auth"] = f"must be one of {', '.join(_AUTHS)} or None (the provider's)"
    _check_api_key(config.api_key, problems)
    _check_headers(config.headers, problems)
    if not all(isinstance(key, str) for key in config.default_fields):  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["default_fields"] = "keys must be strings"
    if config.timeout is not None and not (_seconds(config.timeout) and config.timeout > 0):
        problems["timeout"] = "must be a positive finite number of seconds, or None"
    _check_transport(config.transport, problems)
    if not isinstance(config.retry, RetryPolicy):  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["retry"] = "must be a RetryPolicy"
    _check_circuit(config.circuit, problems)
    if config.max_connections is not None and not _positive_int(config.max_connections):
        problems["max_connections"] = "must be an int >= 1, or None (sized to the executor)"
    if not isinstance(config.timeouts, Timeouts):  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["timeouts"] = "must be a Timeouts (connect=, write=, first_byte=, ...)"
    if not _positive_int(config.max_response_bytes):
        problems["max_response_bytes"] = "must be an int >= 1 (bytes)"
    return problems


def _check_provider(config: EndpointConfig, problems: dict[str, str]) -> None:
    if not isinstance(config.provider, str) or not config.provider:  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["provider"] = "must be a provider name, e.g. 'openai'"
        return
    try:
        spec = get_provider(config.provider, base_url=config.base_url)
    except CallboardError as error:
        field = getattr(error, "field", None) or "provider"
        problems.setdefault(field if field in ("provider", "base_url") else "provider", str(error))
        return
    if isinstance(config.endpoint, str) and config.endpoint.strip("/"):  # pyright: ignore[reportUnnecessaryIsInstance]
        # The same resolution the Endpoint makes, so a config that validates builds.
        try:
            endpoint_model_type(spec, config.endpoint, own_path=config.path is not None)
        except CallboardError as error:
            problems["endpoint"] = str(error)


def _check_api_key(value: object, problems: dict[str, str]) -> None:
    if value is None or isinstance(value, Secret):
        return
    if not isinstance(value, str):
        problems["api_key"] = "must be an environment variable's name or a Secret"
    elif not _ENV_NAME.match(value):
        # The value itself never goes into the message: it may be the key.
        problems["api_key"] = (
            "a string must name an environment variable (like OPENAI_API_KEY); this one "
            "does not look like one, so if it is the key itself wrap it: Secret(key)"
        )


def _check_headers(headers: Mapping[str, str], problems: dict[str, str]) -> None:
    for header, value in headers.items():
        if not isinstance(header, str) or not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            problems["headers"] = "names and values must be strings"
            return
        if header.lower() in _CREDENTIAL_HEADERS:
            problems["headers"] = (
                f"header {header!r} carries a credential; give the key as api_key instead"
            )
            return
        if not _HEADER_NAME.match(header):
            problems["headers"] = f"header name {header!r} is not an HTTP token"
            return
        if not _HEADER_VALUE.match(value):
            problems["headers"] = (
                f"header {header!r} has a line break, a control character or a character "
                "outside latin-1 in its value"
            )
            return


def _check_transport(name: object, problems: dict[str, str]) -> None:
    from ._transport import known_transports

    if name not in known_transports():
        problems["transport"] = f"must be one of {', '.join(known_transports())}"


def _check_circuit(circuit: object, problems: dict[str, str]) -> None:
    if not isinstance(circuit, CircuitSettings):
        problems["circuit"] = "must be a CircuitSettings"
        return
    if not _positive_int(circuit.failure_threshold):
        problems["circuit.failure_threshold"] = "must be an int >= 1"
    if not _seconds(circuit.recovery_time):
        problems["circuit.recovery_time"] = "must be a finite number of seconds >= 0"
    if not _positive_int(circuit.half_open_probes):
        problems["circuit.half_open_probes"] = "must be an int >= 1"


def _group_problems(group: cattrs.BaseValidationError) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for line in cattrs.transform_error(group, path="config"):
        where, _, why = line.partition(" @ ")
        found.append((why.removeprefix("config.") or "config", where))
    return found


def _unstructure(config: EndpointConfig) -> dict[str, Any]:
    return {
        "provider": config.provider,
        "endpoint": config.endpoint,
        "name": config.name,
        "base_url": config.base_url,
        "path": config.path,
        "method": config.method,
        "auth": config.auth,
        "api_key_env": config.api_key_env,  # a Secret is dropped, never written
        "headers": dict(config.headers),
        "default_fields": dict(config.default_fields),
        "timeout": config.timeout,
        "transport": config.transport,
        "retry": converter.unstructure(config.retry),
        "circuit": converter.unstructure(config.circuit),
        "max_connections": config.max_connections,
        "timeouts": converter.unstructure(config.timeouts),
        "max_response_bytes": config.max_response_bytes,
    }


@attrs.frozen(kw_only=True)
class _EndpointData:
    """The serialized shape: what cattrs checks key by key before the config validates."""

    provider: str
    endpoint: str = "chat"
    name: str = ""
    base_url: str | None = None
    path: str | None = None
    method: str = "POST"
    auth: str | None = None
    api_key_env: str | None = None
    headers: dict[str, str] = attrs.field(factory=dict[str, str])
    default_fields: dict[str, Any] = attrs.field(factory=dict[str, Any])
    timeout: float | None = 60.0
    transport: str = "http"
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    circuit: CircuitSettings = attrs.field(factory=CircuitSettings)
    max_connections: int | None = None
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def _structure(data: Any, _type: Any) -> EndpointConfig:
    raw = converter.structure(data, _EndpointData)
    fields = attrs.asdict(raw, recurse=False)
    fields["api_key"] = fields.pop("api_key_env")
    return EndpointConfig(**fields)


converter.register_unstructure_hook(EndpointConfig, _unstructure)
converter.register_structure_hook(EndpointConfig, _structure)
