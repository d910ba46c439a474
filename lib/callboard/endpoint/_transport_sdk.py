"""The ``sdk`` transport: Anthropic Messages requests sent through the official SDK.

Some teams must use the vendor's SDK (its auth handling, its headers, its support
contract). This transport lets them, without giving up anything callboard does: it asks
the SDK for the *raw* response (``with_raw_response`` / ``with_streaming_response``) and
hands back status, headers and bytes exactly as the ``http`` transport does, so the
Endpoint reads the same rate-limit headers, types the same errors and decodes the same
stream into the same [`StreamDelta`][callboard.StreamDelta] values.

The SDK's own retries are switched off (``max_retries=0``): the Endpoint's
``RetryPolicy`` is the only retry layer, so a 429 is never retried 3 × 3 times. An HTTP
error status is not an exception here either: the SDK's ``APIStatusError`` is turned
back into the response it carries. ``anthropic`` is an optional dependency
(``callboard[anthropic]``), imported when the transport is opened.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Generator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import httpx2

from callboard.errors import ConfigError
from callboard.resilience import ConnectionFailed, InvalidResponse, Timeout
from callboard.resilience import mask_secrets as _mask

from ._transport import Transport, TransportResponse, TransportSettings, TransportStream

# The SDK's raw response is an httpx2 response: read its events exactly as the http
# transport does (including ending httpx2's nested readers when a stream is left early).
from ._transport_httpx import _HttpStream as HttpStream  # pyright: ignore[reportPrivateUsage]
from ._transport_httpx import forget_frames, httpx_limits, httpx_timeout, translate

if TYPE_CHECKING:
    import anthropic

    from callboard.providers import ProviderRequest

__all__ = ["SdkTransport", "SdkUnavailable", "open_sdk_transport", "sdk_base_url"]

_MESSAGES = "/messages"


class SdkUnavailable(ConfigError):
    """The ``sdk`` transport was chosen but the ``anthropic`` package is not installed."""


def _import_anthropic() -> Any:
    try:
        import anthropic
    except ImportError:
        raise SdkUnavailable(
            "transport='sdk' needs the official anthropic SDK, which is not installed; "
            "install the extra with `pip install 'callboard[anthropic]'` or use "
            "transport='http'",
            field="transport",
        ) from None
    return anthropic


def sdk_base_url(base_url: str) -> str:
    """The SDK's base URL for an Anthropic API root.

    Provider specs name the root with its version (``https://api.anthropic.com/v1``);
    the SDK adds ``/v1`` itself.

    Example:
        >>> sdk_base_url("https://api.anthropic.com/v1/")
        'https://api.anthropic.com'
    """
    root = base_url.rstrip("/")
    return root.removesuffix("/v1")


def _headers(response: httpx2.Response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items()}


class SdkTransport:
    """[`Transport`][callboard.Transport] over one ``anthropic.AsyncAnthropic`` client.

    Only Messages requests (a URL ending in ``/messages``) can go through the SDK; the
    request's JSON body is sent as it is (``model``, ``messages`` and ``max_tokens`` as
    the SDK's arguments, every other field through ``extra_body``), with the request's
    headers (version, idempotency key, credentials) as ``extra_headers``.

    Args:
        client: the SDK client (``max_retries=0``, see ``open_sdk_transport``).
        provider: the provider's name, for error messages.
        client_has_key: whether the client was built with the key; when not, the SDK's
            own ``Authorization`` header is left out so no key it found elsewhere (an
            environment variable) is ever sent.
    """

    __slots__ = ("_anthropic", "_client", "_client_has_key", "_provider")

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        provider: str | None = None,
        client_has_key: bool = True,
    ) -> None:
        self._anthropic: Any = _import_anthropic()
        self._client = client
        self._provider = provider
        self._client_has_key = client_has_key

    def _arguments(self, request: ProviderRequest, *, stream: bool) -> dict[str, Any]:
        path = httpx2.URL(request.url).path
        if not path.endswith(_MESSAGES) or request.json is None:
            raise ConfigError(
                f"the sdk transport sends Anthropic Messages requests only, not {path!r}; "
                "use transport='http' for this endpoint",
                field="transport",
            )
        body = dict(request.json)
        body.pop("stream", None)
        headers: dict[str, object] = dict(request.all_headers())
        if not self._client_has_key and "authorization" not in request.auth_headers:
            headers["Authorization"] = self._anthropic.omit
        return {
            "model": body.pop("model", None),
            "messages": body.pop("messages", None),
            "max_tokens": body.pop("max_tokens", None),
            "stream": stream,
            "extra_body": body or None,
            "extra_headers": headers,
        }

    async def send(self, request: ProviderRequest) -> TransportResponse:
        arguments = self._arguments(request, stream=False)
        messages: Any = self._client.messages
        with self._translated():
            try:
                raw: Any = await messages.with_raw_response.create(**arguments)
                response = cast(httpx2.Response, raw.http_response)
            except self._anthropic.APIStatusError as error:
                response = cast(httpx2.Response, error.response)
            return TransportResponse(
                response.status_code, _headers(response), await response.aread()
            )

    @asynccontextmanager
    async def stream(self, request: ProviderRequest) -> AsyncGenerator[TransportStream]:
        arguments = self._arguments(request, stream=True)
        messages: Any = self._client.messages
        async with contextlib.AsyncExitStack() as stack:
            with self._translated():
                try:
                    raw: Any = await stack.enter_async_context(
                        messages.with_streaming_response.create(**arguments)
                    )
                    response = cast(httpx2.Response, raw.http_response)
                except self._anthropic.APIStatusError as error:
                    response = cast(httpx2.Response, error.response)
            yield HttpStream(response, self._provider)

    @contextlib.contextmanager
    def _translated(self) -> Generator[None]:
        """SDK and httpx2 failures (no usable response) as callboard's typed errors."""
        sdk = self._anthropic
        where = self._provider or "the provider"
        try:
            yield
        except sdk.APITimeoutError as error:
            forget_frames(error)  # the SDK's and httpx2's frames hold the headers
            raise Timeout(
                f"{where} did not answer in time through the anthropic SDK; raise the "
                "endpoint's timeout if the calls are legitimately slow",
                provider=self._provider,
            ) from error
        except sdk.APIConnectionError as error:
            forget_frames(error)
            cause = error.__cause__
            detail = f" ({type(cause).__name__}: {_mask(str(cause))})" if cause else ""
            raise ConnectionFailed(
                f"the connection to {where} failed through the anthropic SDK{detail}; check "
                "base_url and the network",
                provider=self._provider,
            ) from error
        except sdk.APIResponseValidationError as error:
            forget_frames(error)
            raise InvalidResponse(
                f"{where} sent a response the anthropic SDK could not read",
                status=cast(int, error.status_code),
                provider=self._provider,
            ) from error
        except httpx2.HTTPError as error:
            raise translate(error, self._provider) from error


@asynccontextmanager
async def open_sdk_transport(settings: TransportSettings) -> AsyncGenerator[Transport]:
    """Open one ``AsyncAnthropic`` client (one pooled httpx2 client inside) for an
    Endpoint actor run, and close it when the run ends.

    The client gets the key explicitly (never from the environment), the settings'
    base URL, timeout and connection limit, and ``max_retries=0``.

    Raises:
        SdkUnavailable: the ``anthropic`` package is not installed.

    Example:
        >>> import trio
        >>> async def main():
        ...     settings = TransportSettings(base_url="http://127.0.0.1:9/v1")
        ...     async with open_sdk_transport(settings) as transport:
        ...         return type(transport).__name__
        >>> trio.run(main)
        'SdkTransport'
    """
    sdk = _import_anthropic()
    http = httpx2.AsyncClient(
        limits=httpx_limits(settings),
        timeout=httpx_timeout(settings),
        verify=settings.ssl_context if settings.ssl_context is not None else True,
    )
    key = settings.api_key.reveal() if settings.api_key else None
    try:
        client = sdk.AsyncAnthropic(
            # An explicit credential stops the SDK from reading one from the environment
            # or a profile; a keyless client sends the request's own headers only.
            api_key=key,
            auth_token=None if key else "",
            base_url=sdk_base_url(settings.base_url) if settings.base_url else None,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http,
        )
        try:
            yield SdkTransport(client, provider=settings.provider, client_has_key=key is not None)
        finally:
            await client.close()
    finally:
        await http.aclose()
