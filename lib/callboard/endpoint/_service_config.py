"""ServiceEndpointConfig: lionfuncs' description of a service, mapped onto EndpointConfig.

lionfuncs configures one service (``transport_type="http"`` with a ``base_url``, or
``"sdk"`` naming the SDK) and names the operation per call (``http_path``,
``sdk_method_name``). callboard's ``EndpointConfig`` names the operation up front,
so ``endpoint_config()`` builds the EndpointConfig of one
operation: the same Endpoint actor, transports, retry and circuit breaker serve it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal, cast

import attrs

from callboard.errors import ConfigError
from callboard.resilience import RetryPolicy

from ._client_kwargs import MAPPED, hide_kwargs
from ._config import EndpointConfig
from ._errors import InvalidEndpointConfig
from ._sdk_methods import SDK_METHODS, sdk_model_type
from ._secret import Secret

__all__ = ["HttpTransportConfig", "SdkTransportConfig", "ServiceEndpointConfig"]

TransportType = Literal["http", "sdk"]


@attrs.frozen(kw_only=True)
class HttpTransportConfig:
    """HTTP defaults of a service: the method used when a call names none."""

    method: str = "POST"


@attrs.frozen(kw_only=True)
class SdkTransportConfig:
    """Which SDK a service is reached through, and its default operation.

    Attributes:
        sdk_provider_name: the SDK (``"anthropic"`` or ``"openai"``).
        default_sdk_method_name: the operation when a call names none
            (``"messages.create"``, ``"chat.completions.create"``,
            ``"embeddings.create"``); the SDK's chat method when unset.
    """

    sdk_provider_name: str
    default_sdk_method_name: str | None = None


def _readonly(value: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(value))


_FIELDS = (
    "name",
    "transport_type",
    "api_key",
    "base_url",
    "timeout",
    "default_headers",
    "client_constructor_kwargs",
    "http_config",
    "sdk_config",
    "default_request_kwargs",
)


@attrs.frozen(init=False)
class ServiceEndpointConfig:
    """One service as lionfuncs describes it; extra fields are refused.

    Args:
        name: the service's name (shown in events and errors).
        transport_type: ``"http"`` (needs ``base_url``) or ``"sdk"`` (needs
            ``sdk_config``).
        api_key: as ``EndpointConfig``'s ``api_key`` (the same rule applies).
        base_url: the API root (``"https://api.openai.com/v1"``).
        timeout: seconds to connect and between bytes of an answer.
        default_headers: non-secret headers sent with every request.
        client_constructor_kwargs: keywords for the client's constructor. ``timeout``,
            ``default_headers`` and ``max_retries`` set the endpoint's timeout, headers
            and ``RetryPolicy`` (the one retry layer) for either transport; with
            ``"sdk"`` the others go to the SDK client's constructor (``organization``,
            ``default_query``, ...), checked against its signature; with ``"http"``
            another key is a ConfigError naming it. Values never appear in a repr.
        http_config: HTTP defaults (``HttpTransportConfig()`` when omitted for http).
        sdk_config: the SDK to use.
        default_request_kwargs: request fields every call starts from.

    Raises:
        InvalidEndpointConfig: fields are missing or wrong; every problem is listed.
        ConfigError: an unknown field (with the closest known one).

    Example:
        >>> config = ServiceEndpointConfig(name="openai", transport_type="http",
        ...                                base_url="https://api.openai.com/v1")
        >>> config.endpoint_config(http_path="chat/completions").path
        '/chat/completions'
    """

    name: str
    transport_type: TransportType
    api_key: str | Secret | None = attrs.field(repr=False)
    base_url: str | None
    timeout: float
    default_headers: Mapping[str, str]
    client_constructor_kwargs: Mapping[str, Any] = attrs.field(repr=False)
    http_config: HttpTransportConfig | None
    sdk_config: SdkTransportConfig | None
    default_request_kwargs: Mapping[str, Any]

    def __init__(
        self,
        *,
        name: str,
        transport_type: TransportType,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        default_headers: Mapping[str, str] | None = None,
        client_constructor_kwargs: Mapping[str, Any] | None = None,
        http_config: HttpTransportConfig | None = None,
        sdk_config: SdkTransportConfig | None = None,
        default_request_kwargs: Mapping[str, Any] | None = None,
        **unknown: object,
    ) -> None:
        if unknown:
            field = sorted(unknown)[0]
            close = difflib.get_close_matches(field, _FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(_FIELDS)}"
            raise ConfigError(
                f"ServiceEndpointConfig has no field {field!r} (extra fields are forbidden)" + hint,
                field=field,
            )
        if transport_type == "http" and http_config is None:
            http_config = HttpTransportConfig()
        self.__attrs_init__(  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType]
            name=name,
            transport_type=transport_type,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            default_headers=_readonly(default_headers or {}),
            client_constructor_kwargs=hide_kwargs(client_constructor_kwargs or {}),
            http_config=http_config,
            sdk_config=sdk_config,
            default_request_kwargs=_readonly(default_request_kwargs or {}),
        )
        problems = _problems(self)
        if problems:
            raise InvalidEndpointConfig(problems)

    def endpoint_config(
        self,
        *,
        http_path: str | None = None,
        http_method: str | None = None,
        sdk_method_name: str | None = None,
    ) -> EndpointConfig:
        """The [`EndpointConfig`][callboard.EndpointConfig] of one operation of this service.

        Args:
            http_path: the path under ``base_url`` (``"chat/completions"``,
                ``"embeddings"``); it also says how the answer is read.
            http_method: overrides ``http_config.method``.
            sdk_method_name: the SDK operation, an attribute path on the SDK's client
                (``"messages.create"``, ``"chat.completions.create"``,
                ``"embeddings.create"``).

        Raises:
            InvalidEndpointConfig: the operation is not one callboard can send this way
                (the message names it and lists the valid ones).
        """
        shared = self._shared()
        if self.transport_type == "sdk":
            assert self.sdk_config is not None
            sdk = self.sdk_config.sdk_provider_name
            method = sdk_method_name or self.sdk_config.default_sdk_method_name
            try:
                # no method named: the SDK's first (its chat method)
                kind = sdk_model_type(sdk, method or next(iter(SDK_METHODS.get(sdk, {})), ""))
            except ConfigError as error:
                raise InvalidEndpointConfig({str(error.field): str(error)}) from None
            return EndpointConfig(provider=sdk, endpoint=kind, transport="sdk", **shared)
        assert self.http_config is not None
        path = "/" + http_path.strip("/") if http_path else None
        return EndpointConfig(
            provider="openai_compatible",
            endpoint=path.lstrip("/") if path else "chat",
            path=path,
            method=(http_method or self.http_config.method).upper(),
            **shared,
        )

    def _shared(self) -> dict[str, Any]:
        """The EndpointConfig fields of every operation, constructor keywords mapped."""
        given = dict(self.client_constructor_kwargs)
        timeout = given.pop("timeout", self.timeout)
        headers = {**self.default_headers, **_revealed(given.pop("default_headers", {}))}
        retries = given.pop("max_retries", None)
        fields: dict[str, Any] = {
            "name": self.name,
            "base_url": self.base_url,
            "api_key": self.api_key,
            "headers": headers,
            "default_fields": self.default_request_kwargs,
            "timeout": timeout,
            "client_kwargs": given,
        }
        if isinstance(retries, int):
            fields["retry"] = RetryPolicy(max_retries=retries)
        return fields


def _revealed(headers: object) -> dict[str, str]:
    if not isinstance(headers, Mapping):
        return {}
    inner = cast(Mapping[str, object], headers)
    return {
        name: value.reveal() if isinstance(value, Secret) else str(value)
        for name, value in inner.items()
    }


def _problems(config: ServiceEndpointConfig) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not isinstance(config.name, str) or not config.name:  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["name"] = "must be a non-empty string, e.g. 'openai_chat'"
    if config.transport_type not in ("http", "sdk"):
        problems["transport_type"] = "must be 'http' or 'sdk'"
    elif config.transport_type == "http" and not config.base_url:
        problems["base_url"] = "must be given for transport_type='http'"
    elif config.transport_type == "sdk" and config.sdk_config is None:
        problems["sdk_config"] = (
            "must be given for transport_type='sdk': "
            "SdkTransportConfig(sdk_provider_name='anthropic')"
        )
    if config.base_url is not None and not str(config.base_url).startswith(("http://", "https://")):
        problems["base_url"] = "must start with http:// or https://"
    timeout = config.timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        problems["timeout"] = "must be a positive number of seconds"
    problems.update(_kwargs_problems(config))
    if not problems:
        # The default operation builds, so the SDK, its default method and the
        # constructor keywords are checked now, not on the first call.
        try:
            config.endpoint_config()
        except InvalidEndpointConfig as error:
            problems.update(
                (name.replace("client_kwargs", "client_constructor_kwargs"), why)
                for name, why in error.problems.items()
            )
    return problems


def _kwargs_problems(config: ServiceEndpointConfig) -> dict[str, str]:
    problems: dict[str, str] = {}
    given = config.client_constructor_kwargs
    for key in sorted(given):
        where = f"client_constructor_kwargs.{key}"
        value = given[key]
        if key == "timeout" and (
            isinstance(value, bool) or not isinstance(value, int | float) or not value > 0
        ):
            problems[where] = "'timeout' must be a positive number of seconds"
        elif key == "max_retries" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            problems[where] = "'max_retries' must be an int >= 0 (the endpoint's RetryPolicy)"
        elif key == "default_headers" and not isinstance(value, Mapping):
            problems[where] = "'default_headers' must be a mapping of header names to values"
        elif key not in MAPPED and config.transport_type == "http":
            problems[where] = (
                f"{key!r} has no meaning for callboard's http transport, which takes "
                f"{', '.join(MAPPED)} from client_constructor_kwargs (use "
                "transport_type='sdk' to pass keywords to an SDK client)"
            )
    return problems
