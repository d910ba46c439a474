"""EndpointConfig: everything an Endpoint is built from, validated at once, as data.

The config is a frozen attrs value checked when it is built: every bad field is found
and reported together in one ``InvalidEndpointConfig``. It serializes through the
project's one cattrs converter; an API key survives serialization only as the *name* of
the environment variable holding it, never as a value.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs
import cattrs

from callboard.errors import CallboardError, ConfigError
from callboard.providers import endpoint_model_type, get_provider
from callboard.resilience import (
    CircuitBreaker,
    CircuitTransition,
    RetryPolicy,
    default_counts_as_failure,
)
from callboard.serialization import converter

from ._api_key import KeySource, key_source, missing_key_hint
from ._client_kwargs import hide_kwargs, kwargs_problems, serializable_kwargs
from ._errors import InvalidEndpointConfig
from ._sdk_methods import SDK_PACKAGES, sdk_for_dialect, sdk_method
from ._secret import Secret
from ._transport import DEFAULT_MAX_RESPONSE_BYTES, Timeouts

__all__ = ["DEFAULT_TIMEOUT", "AuthName", "CircuitSettings", "EndpointConfig"]

AuthName = Literal["bearer", "x-api-key", "none"]

DEFAULT_TIMEOUT = 60.0
"""Seconds an Endpoint waits to connect and between bytes of an answer, by default."""

_BAD_URL = re.compile(r"[\s\x00-\x1f\x7f]")
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
    """The numbers an Endpoint's [`CircuitBreaker`][callboard.CircuitBreaker] is built from
    (checked, with the rest of the config, by [`EndpointConfig`][callboard.EndpointConfig]).

    Attributes:
        failure_rate: the share of recent calls that failed that opens the circuit
            (``None``: consecutive failures only).
        window: seconds of recent calls the rate is taken over.
        minimum_calls: calls within ``window`` before the rate counts.
        failure_threshold: consecutive failures that open the circuit too (the seeds'
            rule; ``None``, the default: the rate alone decides).
        recovery_time: seconds the circuit stays open before a probe is let through.
        half_open_probes: probe calls allowed in flight while half-open.
        probe_timeout: seconds an unanswered probe holds its slot.
    """

    failure_threshold: int | None = None
    recovery_time: float = 5.0
    half_open_probes: int = 1
    failure_rate: float | None = 0.5
    window: float = 10.0
    minimum_calls: int = 20
    probe_timeout: float = 10.0

    def breaker(
        self,
        *,
        name: str | None = None,
        on_transition: Callable[[CircuitTransition], None] | None = None,
        counts_as_failure: Callable[[BaseException], bool] = default_counts_as_failure,
    ) -> CircuitBreaker:
        """A fresh breaker with these settings.

        Raises:
            ConfigError: a setting is out of range.
        """
        return CircuitBreaker(
            failure_threshold=self.failure_threshold,
            recovery_time=self.recovery_time,
            half_open_probes=self.half_open_probes,
            name=name,
            on_transition=on_transition,
            counts_as_failure=counts_as_failure,
            failure_rate=self.failure_rate,
            window=self.window,
            minimum_calls=self.minimum_calls,
            probe_timeout=self.probe_timeout,
        )


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
        api_key: the key itself as [`Secret`][callboard.Secret] (kept as that), or a bare string,
            read as every ``api_key=`` of callboard is: capitals, digits and
            underscores (``"OPENAI_API_KEY"``) name an environment variable, anything
            else is the key (wrapped in a Secret at once). ``None`` (and no
            ``api_key_env``) uses the provider's conventional variable when it is set.
        api_key_env: the name of the environment variable holding the key, said
            explicitly (any name; not with ``api_key``).
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
        client_kwargs: with ``transport="sdk"``, keywords for the SDK client's
            constructor (``organization``, ``project``, ``default_query``, ...), checked
            against its signature; text values are kept as Secrets, and only numbers and
            booleans are serialized.

    Raises:
        InvalidEndpointConfig: one or more fields are invalid; ``problems`` has them all.

    Example:
        >>> config = EndpointConfig(provider="openai", api_key="OPENAI_API_KEY",
        ...                         default_fields={"model": "gpt-4o-mini"})
        >>> config.name, config.to_dict()["api_key_env"]
        ('openai:chat', 'OPENAI_API_KEY')
        >>> raw = EndpointConfig(provider="openai", api_key="sk-123")  # wrapped at once
        >>> raw.api_key, raw.to_dict()["api_key_env"]
        (Secret('***'), None)
    """

    provider: str
    endpoint: str = "chat"
    name: str = attrs.field(default="")
    base_url: str | None = None
    path: str | None = None
    method: str = "POST"
    auth: AuthName | None = None
    api_key: str | Secret | None = attrs.field(default=None, repr=False)
    api_key_env: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_readonly)
    default_fields: Mapping[str, Any] = attrs.field(factory=dict[str, Any], converter=_readonly)
    timeout: float | None = DEFAULT_TIMEOUT
    transport: str = "http"
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    circuit: CircuitSettings = attrs.field(factory=CircuitSettings)
    max_connections: int | None = None
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    client_kwargs: Mapping[str, object] = attrs.field(
        factory=dict[str, object], converter=hide_kwargs, repr=False
    )
    _explicit_env: bool = attrs.field(default=False, init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems: dict[str, str] = {}
        explicit = self.api_key_env is not None
        try:
            source = key_source(self.api_key, self.api_key_env)
        except ConfigError as error:
            problems[error.field or "api_key"] = str(error)
        else:
            # From here on api_key holds the key (a Secret) and api_key_env the name.
            object.__setattr__(self, "api_key", source if isinstance(source, Secret) else None)
            object.__setattr__(self, "api_key_env", source if isinstance(source, str) else None)
        object.__setattr__(self, "_explicit_env", explicit)
        problems.update(_problems(self))
        if problems:
            raise InvalidEndpointConfig(problems)
        if not self.name:
            object.__setattr__(self, "name", f"{self.provider}:{self.endpoint}")

    def missing_key_hint(self, default_env: str | None) -> str:
        """How to supply the key when none was found (ends a MissingApiKey message)."""
        source: KeySource = self.api_key_env or self.api_key
        return missing_key_hint(source, explicit=self._explicit_env, provider_env=default_env)

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
        env = self.api_key_env if self.api_key_env is not None else default_env
        value = os.environ.get(env) if env else None
        return Secret(value) if value else None

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data, through the project's converter (no secret)."""
        data: dict[str, Any] = converter.unstructure(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointConfig:
        """Rebuild a config from ``to_dict()``'s data.

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
    _check_base_url(config.base_url, problems)
    if config.path is not None and not (
        isinstance(config.path, str) and config.path.startswith("/")  # pyright: ignore[reportUnnecessaryIsInstance]
    ):
        problems["path"] = "must start with '/', e.g. '/v1/chat/completions'"
    if config.method not in _METHODS:
        problems["method"] = f"must be one of {', '.join(_METHODS)}"
    if config.auth is not None and config.auth not in _AUTHS:
        problems["auth"] = f"must be one of {', '.join(_AUTHS)} or None (the provider's)"
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
    _check_sdk(config, problems)
    return problems


def _check_sdk(config: EndpointConfig, problems: dict[str, str]) -> None:
    """The built-in sdk transport drives an SDK for this provider's dialect, has a
    method for this model type, and the constructor keywords are the SDK's."""
    from ._transport import is_builtin

    sdk: str | None = None
    if config.transport == "sdk" and is_builtin("sdk") and not problems.keys() & _SPEC_FIELDS:
        spec = get_provider(config.provider, base_url=config.base_url)
        sdk = sdk_for_dialect(spec.dialect)
        if sdk is None:
            problems["transport"] = (
                f"provider {spec.name!r} speaks the {spec.dialect} dialect, which no "
                "official SDK the sdk transport drives speaks; use transport='http'"
            )
        else:
            kind = endpoint_model_type(spec, config.endpoint, own_path=config.path is not None)
            try:
                sdk_method(sdk, kind)
            except ConfigError as error:
                problems["transport"] = str(error)
    problems.update(
        kwargs_problems(
            config.client_kwargs,
            transport=config.transport,
            sdk=sdk,
            client_class=SDK_PACKAGES.get(sdk) if sdk else None,
        )
    )


_SPEC_FIELDS = frozenset({"provider", "base_url", "endpoint", "transport"})


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


def _check_base_url(value: object, problems: dict[str, str]) -> None:
    # The URL itself never goes into the message: it may carry a token (user:pass@).
    if value is None:
        return
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        problems["base_url"] = "must start with http:// or https://"
        return
    if _BAD_URL.search(value):
        problems["base_url"] = "must not contain spaces or control characters"
        return
    parts = urllib.parse.urlsplit(value)
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        problems["base_url"] = "has an invalid port; give host:port with a port 0..65535"
        return
    if not parts.hostname:
        problems["base_url"] = "names no host; give the server, e.g. 'http://127.0.0.1:8000/v1'"


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
    try:  # the breaker's own checks, so that a config that validates builds one
        circuit.breaker()
    except ConfigError as error:
        problems[f"circuit.{error.field}"] = str(error)


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
        "client_kwargs": serializable_kwargs(config.client_kwargs),
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
    timeout: float | None = DEFAULT_TIMEOUT
    transport: str = "http"
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    circuit: CircuitSettings = attrs.field(factory=CircuitSettings)
    max_connections: int | None = None
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    client_kwargs: dict[str, Any] = attrs.field(factory=dict[str, Any])


def _structure(data: Any, _type: Any) -> EndpointConfig:
    raw = converter.structure(data, _EndpointData)
    return EndpointConfig(**attrs.asdict(raw, recurse=False))


converter.register_unstructure_hook(EndpointConfig, _unstructure)
converter.register_structure_hook(EndpointConfig, _structure)
