"""The ``sdk`` transport: requests sent through the official SDK, Anthropic's or OpenAI's.

Some teams must use the vendor's SDK (its auth handling, its headers, its support
contract). This transport lets them, without giving up anything callboard does: it calls
the SDK method that performs the request's model type (``messages.create``,
``chat.completions.create``, ``embeddings.create``, ...: see ``_sdk_methods.py``),
asks it for the *raw* response (``with_raw_response`` / ``with_streaming_response``) and
hands back status, headers and bytes exactly as the ``http`` transport does, so the
Endpoint reads the same rate-limit headers, types the same errors and decodes the same
stream into the same [`StreamDelta`][callboard.StreamDelta] values.

Both SDKs run on anyio, which runs on Trio: their calls are awaited in the caller's
task like any Trio code, with no asyncio loop or thread. The SDK's own retries are
switched off (``max_retries=0``): the Endpoint's ``RetryPolicy`` is the only retry
layer, so a 429 is never retried 3 × 3 times. An HTTP error status is not an exception
here either: the SDK's ``APIStatusError`` is turned back into the response it carries.
``anthropic`` and ``openai`` are optional dependencies (``callboard[anthropic]``,
``callboard[openai]``), imported when the transport is opened.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
from collections.abc import AsyncGenerator, Generator, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

import httpx2

from callboard.errors import ConfigError
from callboard.resilience import ConnectionFailed, InvalidResponse, Timeout
from callboard.resilience import mask_secrets as _mask

from ._client_kwargs import reveal_kwargs, sdk_parameters
from ._sdk_methods import SDK_PACKAGES, sdk_for_dialect, sdk_method
from ._transport import Transport, TransportResponse, TransportSettings, TransportStream

# The SDK's raw response is an httpx2 response: read its events exactly as the http
# transport does (including ending httpx2's nested readers when a stream is left early).
from ._transport_httpx import _HttpStream as HttpStream  # pyright: ignore[reportPrivateUsage]
from ._transport_httpx import forget_frames, httpx_limits, httpx_timeout, translate

if TYPE_CHECKING:
    from callboard.providers import ProviderRequest

__all__ = ["SdkTransport", "SdkUnavailable", "open_sdk_transport", "sdk_base_url"]

# What an SDK sends on its own unless told otherwise, and what the http transport gets
# by default: the openai SDK asks for base64 embeddings (and decodes them in the parsed
# result, which a raw response skips), so the transport asks for floats.
_UNLESS_TOLD: Mapping[tuple[str, str], Mapping[str, object]] = MappingProxyType(
    {("openai", "embeddings.create"): MappingProxyType({"encoding_format": "float"})}
)


# Each SDK's own root exception, which its client raises for a keyword it refuses.
_ROOT_ERRORS: Mapping[str, str] = MappingProxyType(
    {"anthropic": "AnthropicError", "openai": "OpenAIError"}
)


class SdkUnavailable(ConfigError):
    """The ``sdk`` transport was chosen but the SDK it drives is not installed."""


def _import_sdk(name: str = "anthropic") -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise SdkUnavailable(
            f"transport='sdk' needs the official {name} SDK, which is not installed; "
            f"install the extra with `pip install 'callboard[{name}]'` or use "
            "transport='http'",
            field="transport",
        ) from None


def sdk_base_url(base_url: str, sdk: str = "anthropic") -> str:
    """The SDK's base URL for an API root.

    Provider specs name the root with its version (``https://api.anthropic.com/v1``);
    the anthropic SDK adds ``/v1`` itself, the openai SDK takes the root as it is.

    Example:
        >>> sdk_base_url("https://api.anthropic.com/v1/")
        'https://api.anthropic.com'
        >>> sdk_base_url("https://api.openai.com/v1/", "openai")
        'https://api.openai.com/v1'
    """
    root = base_url.rstrip("/")
    return root.removesuffix("/v1") if sdk == "anthropic" else root


def _headers(response: httpx2.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


@functools.cache
def _required(resource_type: type, attribute: str) -> tuple[str, ...]:
    """The keyword arguments an SDK method cannot be called without."""
    signature = inspect.signature(getattr(resource_type, attribute))
    return tuple(
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is inspect.Parameter.empty
    )


class SdkTransport:
    """[`Transport`][callboard.Transport] over one SDK client (``AsyncAnthropic`` or
    ``AsyncOpenAI``).

    A request goes through the SDK method for its model type, resolved as an attribute
    path on the client (``"chat.completions.create"``); a model type with no method
    there is a ``ConfigError`` (configs are checked for this when built). The request's
    JSON body is sent as it is: the method's required arguments (``model``,
    ``messages``, ...) as arguments, every other field through ``extra_body``, with the
    request's headers (version, idempotency key, credentials) as ``extra_headers``.

    Args:
        client: the SDK client (``max_retries=0``, see ``open_sdk_transport``).
        provider: the provider's name, for error messages.
        client_has_key: whether the client was built with the key; when not, the SDK's
            own ``Authorization`` header is left out so no key it found elsewhere (an
            environment variable) is ever sent.
        sdk: the SDK's package name, ``"anthropic"`` or ``"openai"``.
    """

    __slots__ = ("_client", "_client_has_key", "_module", "_provider", "_sdk")

    def __init__(
        self,
        client: Any,
        *,
        provider: str | None = None,
        client_has_key: bool = True,
        sdk: str = "anthropic",
    ) -> None:
        self._module: Any = _import_sdk(sdk)
        self._sdk = sdk
        self._client = client
        self._provider = provider
        self._client_has_key = client_has_key

    def _call(self, request: ProviderRequest, *, stream: bool) -> Any:
        """The raw-response method to await (or enter, streaming) with its arguments."""
        name = sdk_method(self._sdk, request.model_type)
        if request.json is None:
            raise ConfigError(
                f"the sdk transport sends JSON requests only; {request.model_type} "
                f"calls to {self._provider or 'this provider'} need transport='http'",
                field="transport",
            )
        *path, attribute = name.split(".")
        resource: Any = functools.reduce(getattr, path, self._client)
        body = {**_UNLESS_TOLD.get((self._sdk, name), {}), **request.json}
        body.pop("stream", None)
        headers: dict[str, object] = dict(request.all_headers())
        if not self._client_has_key and "authorization" not in request.auth_headers:
            headers["Authorization"] = self._module.omit
        resource_type: type = type(resource)  # pyright: ignore[reportUnknownVariableType]
        required = _required(resource_type, attribute)
        arguments: dict[str, Any] = {argument: body.pop(argument, None) for argument in required}
        if stream:
            arguments["stream"] = True
        arguments.update(extra_body=body or None, extra_headers=headers)
        wrapper = resource.with_streaming_response if stream else resource.with_raw_response
        return functools.partial(getattr(wrapper, attribute), **arguments)

    async def send(self, request: ProviderRequest) -> TransportResponse:
        call = self._call(request, stream=False)
        with self._translated():
            try:
                raw: Any = await call()
                response = cast(httpx2.Response, raw.http_response)
            except self._module.APIStatusError as error:
                response = cast(httpx2.Response, error.response)
            return TransportResponse(
                response.status_code, _headers(response), await response.aread()
            )

    @asynccontextmanager
    async def stream(self, request: ProviderRequest) -> AsyncGenerator[TransportStream]:
        call = self._call(request, stream=True)
        async with contextlib.AsyncExitStack() as stack:
            with self._translated():
                try:
                    raw: Any = await stack.enter_async_context(call())
                    response = cast(httpx2.Response, raw.http_response)
                except self._module.APIStatusError as error:
                    response = cast(httpx2.Response, error.response)
            yield HttpStream(response, self._provider)

    @contextlib.contextmanager
    def _translated(self) -> Generator[None]:
        """SDK and httpx2 failures (no usable response) as callboard's typed errors."""
        sdk = self._module
        where = self._provider or "the provider"
        through = f"through the {self._sdk} SDK"
        try:
            yield
        except sdk.APITimeoutError as error:
            forget_frames(error)  # the SDK's and httpx2's frames hold the headers
            raise Timeout(
                f"{where} did not answer in time {through}; raise the endpoint's timeout "
                "if the calls are legitimately slow",
                provider=self._provider,
            ) from error
        except sdk.APIConnectionError as error:
            forget_frames(error)
            cause = error.__cause__
            detail = f" ({type(cause).__name__}: {_mask(str(cause))})" if cause else ""
            raise ConnectionFailed(
                f"the connection to {where} failed {through}{detail}; check base_url and "
                "the network",
                provider=self._provider,
            ) from error
        except sdk.APIResponseValidationError as error:
            forget_frames(error)
            raise InvalidResponse(
                f"{where} sent a response the {self._sdk} SDK could not read",
                status=cast(int, error.status_code),
                provider=self._provider,
            ) from error
        except httpx2.HTTPError as error:
            raise translate(error, self._provider) from error


def _client(sdk: str, module: Any, settings: TransportSettings, http: httpx2.AsyncClient) -> Any:
    # Only names here: the revealed key and keywords live in _construct's frame alone,
    # which has ended (and whose error was dropped) before anything is raised, so no
    # traceback's locals can show them.
    given = sorted(settings.client_kwargs)
    known = sdk_parameters(sdk, SDK_PACKAGES[sdk]) or frozenset()
    unknown = [name for name in given if name not in known]
    if unknown:  # a config checks this when built; settings made by hand may not
        raise ConfigError(
            f"client_kwargs {unknown[0]!r} is not a keyword of {sdk}.{SDK_PACKAGES[sdk]}",
            field=f"client_kwargs.{unknown[0]}",
        )
    client, refused = _construct(sdk, module, settings, http)
    if refused is not None:
        # The SDK's message may quote a value, and a value may be a credential.
        raise ConfigError(
            f"{sdk}.{SDK_PACKAGES[sdk]} refused its keywords ({refused}); "
            f"check client_kwargs ({', '.join(given) or 'none given'})",
            field="client_kwargs",
        )
    return client


def _construct(
    sdk: str, module: Any, settings: TransportSettings, http: httpx2.AsyncClient
) -> tuple[Any, str | None]:
    """The SDK client, or ``(None, the name of the error it raised)``: never the error
    itself, whose frames hold the key."""
    key = settings.api_key.reveal() if settings.api_key else None
    if sdk == "anthropic":
        # An explicit credential stops the SDK from reading one from the environment or
        # a profile; a keyless client sends the request's own headers only.
        credentials: dict[str, Any] = {"api_key": key, "auth_token": None if key else ""}
    else:
        # The openai SDK refuses to build without a key; a keyless client's placeholder
        # is never sent (its Authorization header is left out of every request).
        credentials = {"api_key": key or "unused"}
    base_url = sdk_base_url(settings.base_url, sdk) if settings.base_url else None
    try:
        client = getattr(module, SDK_PACKAGES[sdk])(
            **reveal_kwargs(settings.client_kwargs),
            **credentials,
            base_url=base_url,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http,
        )
    except (TypeError, ValueError, getattr(module, _ROOT_ERRORS[sdk])) as error:
        forget_frames(error)
        return None, type(error).__name__
    return client, None


@asynccontextmanager
async def open_sdk_transport(settings: TransportSettings) -> AsyncGenerator[Transport]:
    """Open one SDK client (one pooled httpx2 client inside) for an Endpoint actor run,
    and close it when the run ends.

    The SDK is the one that speaks ``settings.dialect`` (Anthropic's when it is unset).
    The client gets the key explicitly (never from the environment), the settings'
    base URL, timeout, connection limit and ``client_kwargs``, and ``max_retries=0``.

    Raises:
        SdkUnavailable: the SDK's package is not installed.
        ConfigError: no SDK speaks the provider's dialect, or a ``client_kwargs`` name
            is not one of the client's.

    Example:
        >>> import trio
        >>> async def main():
        ...     settings = TransportSettings(base_url="http://127.0.0.1:9/v1")
        ...     async with open_sdk_transport(settings) as transport:
        ...         return type(transport).__name__
        >>> trio.run(main)
        'SdkTransport'
    """
    sdk = sdk_for_dialect(settings.dialect or "anthropic")
    if sdk is None:
        raise ConfigError(
            f"no official SDK the sdk transport drives speaks the {settings.dialect} "
            "dialect; use transport='http'",
            field="transport",
        )
    module = _import_sdk(sdk)
    http = httpx2.AsyncClient(
        limits=httpx_limits(settings),
        timeout=httpx_timeout(settings),
        verify=settings.ssl_context if settings.ssl_context is not None else True,
    )
    try:
        client = _client(sdk, module, settings, http)
        try:
            yield SdkTransport(
                client, provider=settings.provider, client_has_key=bool(settings.api_key), sdk=sdk
            )
        finally:
            await client.close()
    finally:
        await http.aclose()
