"""The ``httpx`` transport: one pooled ``httpx2.AsyncClient`` per Endpoint actor run.

The default ``http`` transport (h11 on trio sockets) is faster; this one is there for
what only httpx2 does: HTTP/2, custom ``httpx2.Auth`` flows, brotli and zstd bodies, an
https proxy. It keeps one client (and its keep-alive pool, sized as the ``http``
transport's) for as long as its Endpoint actor runs, and reads streams with httpx2's
server-sent event support.

httpx2's frames hold the request's headers, the API key included, in their locals; a
failure's cause chain therefore loses its frames here (its type and message stay), so
no traceback with captured locals can show the key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx2
import trio

from callboard.resilience import ConnectionFailed, InvalidResponse, ProviderError, Timeout
from callboard.resilience import mask_secrets as _mask

from ._http_pool import KEEPALIVE_EXPIRY
from ._transport import SSEEvent, Transport, TransportResponse, TransportSettings, TransportStream

if TYPE_CHECKING:
    from callboard.providers import ProviderRequest

__all__ = ["HttpxTransport", "open_httpx_transport"]


def forget_frames(error: BaseException) -> BaseException:
    """Drop the frames of ``error`` and of every error it was raised from (their locals
    hold the request headers); returns ``error``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__
    return error


def translate(error: Exception, provider: str | None) -> ProviderError:
    """The typed error for an httpx2 failure (no status: nothing usable arrived).

    The failure's frames are dropped (``forget_frames``): raise the result
    ``from error``.
    """
    forget_frames(error)
    what = f"{type(error).__name__}: {_mask(str(error))}" if str(error) else type(error).__name__
    where = provider or "the provider"
    if isinstance(error, httpx2.TimeoutException):
        return Timeout(
            f"{where} did not answer in time ({what}); raise the endpoint's timeout if the "
            "calls are legitimately slow",
            provider=provider,
        )
    if isinstance(error, httpx2.SSEError):
        return InvalidResponse(
            f"{where} sent an unreadable event stream ({what})", provider=provider
        )
    if isinstance(error, httpx2.DecodingError):
        return InvalidResponse(f"{where} sent a body that cannot be decoded ({what})")
    return ConnectionFailed(
        f"the connection to {where} failed ({what}); check base_url and the network",
        provider=provider,
    )


def _headers(request: ProviderRequest) -> dict[str, str]:
    # The body was encoded when the request was built (a value that is not JSON is the
    # caller's PayloadError there, not a crash of this client): sent as bytes, typed as
    # httpx2's json= would, unless a header of the request says otherwise.
    headers = request.all_headers()
    if request.content is not None and not any(name.lower() == "content-type" for name in headers):
        headers["content-type"] = "application/json"
    return headers


def httpx_limits(settings: TransportSettings) -> httpx2.Limits:
    """The pool limits: the same cap (or none) and keep-alive expiry as the http transport."""
    return httpx2.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
        keepalive_expiry=KEEPALIVE_EXPIRY,
    )


def httpx_timeout(settings: TransportSettings) -> httpx2.Timeout:
    """The per-phase timeouts as httpx2 has them (one read timeout for both reads)."""
    connect, write, first_byte, between = settings.timeouts.resolve(settings.timeout)
    read = None if first_byte is None or between is None else max(first_byte, between)
    return httpx2.Timeout(connect=connect, write=write, read=read, pool=None)


class _HttpStream:
    """A streamed httpx2 response, read as server-sent events."""

    __slots__ = ("_headers", "_provider", "_response")

    def __init__(self, response: httpx2.Response, provider: str | None) -> None:
        self._response = response
        self._provider = provider
        self._headers: Mapping[str, str] = dict(response.headers.items())

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._headers

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx2.HTTPError as error:
            raise translate(error, self._provider) from error

    async def events(self) -> AsyncGenerator[SSEEvent]:
        source = httpx2.EventSource(self._response).__aiter__()
        finished = False
        try:
            async for sse in source:
                yield SSEEvent(sse.event, sse.data)
            finished = True
        except httpx2.HTTPError as error:
            finished = True  # the error ended httpx2's generators too
            raise translate(error, self._provider) from error
        finally:
            if not finished:
                await self._abandon(source)

    async def _abandon(self, source: AsyncIterator[object]) -> None:
        # Left early (an error event, a cancelled reader): httpx2's reader generators
        # are nested and only end by running to an exception, so close the response
        # and read on until that fails through all of them instead of leaking them. A
        # closed response may still hand out what its decoders had buffered (several
        # events after a crash closed the client), hence the loop, not one read.
        with trio.CancelScope(shield=True), contextlib.suppress(Exception):
            await self._response.aclose()
            while True:
                await source.__anext__()


class HttpxTransport:
    """``Transport`` over one ``httpx2.AsyncClient`` (see ``open_httpx_transport``)."""

    __slots__ = ("_client", "_provider")

    def __init__(self, client: httpx2.AsyncClient, *, provider: str | None = None) -> None:
        self._client = client
        self._provider = provider

    async def send(self, request: ProviderRequest) -> TransportResponse:
        try:
            response = await self._client.request(
                request.method,
                request.url,
                headers=_headers(request),
                content=request.content,
                data=request.data,
                files=request.files,
            )
        except httpx2.HTTPError as error:
            raise translate(error, self._provider) from error
        return TransportResponse(
            response.status_code, dict(response.headers.items()), response.content
        )

    @asynccontextmanager
    async def stream(self, request: ProviderRequest) -> AsyncGenerator[TransportStream]:
        async with contextlib.AsyncExitStack() as stack:
            try:
                response = await stack.enter_async_context(
                    self._client.stream(
                        request.method,
                        request.url,
                        headers=_headers(request),
                        content=request.content,
                        data=request.data,
                        files=request.files,
                    )
                )
            except httpx2.HTTPError as error:
                raise translate(error, self._provider) from error
            yield _HttpStream(response, self._provider)


@asynccontextmanager
async def open_httpx_transport(settings: TransportSettings) -> AsyncGenerator[Transport]:
    """Open one pooled client for an Endpoint actor run and close it when the run ends.

    Example:
        >>> import trio
        >>> async def main():
        ...     async with open_httpx_transport(TransportSettings(max_connections=8)) as t:
        ...         return type(t).__name__
        >>> trio.run(main)
        'HttpxTransport'
    """
    client = httpx2.AsyncClient(
        limits=httpx_limits(settings),
        timeout=httpx_timeout(settings),
        verify=settings.ssl_context if settings.ssl_context is not None else True,
    )
    try:
        yield HttpxTransport(client, provider=settings.provider)
    finally:
        await client.aclose()
