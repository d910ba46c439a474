"""The ``http`` transport: HTTP/1.1 over trio sockets (plain answers read on a lean path,
every other one by h11), one keep-alive pool per Endpoint run (or per inline pool).

What it does, and what it does not (use ``transport="httpx"`` for those):

- keep-alive connections reused most recent first, dropped when the server closed them
  or after ``KEEPALIVE_EXPIRY``; no cap on
  connections unless ``max_connections`` (or the Executor's concurrency) sets one;
- a request on a reused connection that provably never reached the server whole (the
  write failed) is sent once more on a fresh connection; every other failure is the
  typed error, which the Endpoint's RetryPolicy (with its Idempotency-Key) decides on;
- content-length, chunked and read-until-close bodies, gzip and deflate, a bound on the
  decoded body (``max_response_bytes``), server-sent events parsed as bytes arrive;
- deadlines per phase (connect, write, first byte, between chunks);
- TLS verified with one ``SSLContext`` per process; ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
  ``NO_PROXY`` from the environment;
- not: HTTP/2, redirects, cookies, custom auth flows, brotli / zstd, https proxies.

Errors are typed as the ``httpx`` transport types them: no answer in time is
[`Timeout`][callboard.Timeout], a refused, broken or non-HTTP connection is
[`ConnectionFailed`][callboard.ConnectionFailed], a body that cannot be decoded (or is
too large) is [`InvalidResponse`][callboard.InvalidResponse]. A cancelled or failed
exchange always closes its connection: none goes back to the pool half used.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import trio

from callboard.resilience import ConnectionFailed, InvalidResponse, ProviderError, Timeout

from ._http_connection import HttpConnection, WireError
from ._http_decode import BodyTooLarge, ContentDecoder, EventTooLarge, SSEParser, UndecodableBody
from ._http_pool import ConnectionPool
from ._http_request import BadHeader, encode_body, request_head, wire_bytes
from ._http_route import InvalidURL, route
from ._transport import SSEEvent, Transport, TransportResponse, TransportSettings, TransportStream

if TYPE_CHECKING:
    from callboard.providers import ProviderRequest

__all__ = ["HttpTransport", "open_http_transport"]


def _typed(error: WireError, provider: str | None) -> ProviderError:
    """The typed error for a failed exchange, as the ``httpx`` transport would type it."""
    where = provider or "the provider"
    if error.kind == "timeout":
        return Timeout(
            f"{where} did not answer in time ({error}); raise the endpoint's timeout if the "
            "calls are legitimately slow",
            provider=provider,
        )
    if error.kind == "invalid":
        return InvalidResponse(f"{where} sent {error}", provider=provider)
    return ConnectionFailed(
        f"the connection to {where} failed ({error}); check base_url and the network",
        provider=provider,
    )


class _Deadline:
    """The one cancel scope of an exchange, its deadline moved from phase to phase, and
    the phase it is in (to say which one ran out)."""

    __slots__ = ("phase", "scope", "seconds")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.phase = ""
        self.seconds: float | None = None

    def arm(self, phase: str, seconds: float | None) -> None:
        self.phase, self.seconds = phase, seconds
        if seconds is not None:
            self.scope.deadline = trio.current_time() + seconds
        elif self.scope.deadline != math.inf:  # moving a deadline costs; inf stays inf
            self.scope.deadline = math.inf

    def error(self, provider: str | None) -> ProviderError:
        return _typed(WireError("timeout", f"{self.phase} took over {self.seconds} s"), provider)


class HttpTransport:
    """``Transport`` over a ``ConnectionPool`` (see ``open_http_transport``)."""

    __slots__ = ("_between", "_first_byte", "_limit", "_provider", "_timed", "_write", "pool")

    def __init__(self, pool: ConnectionPool, settings: TransportSettings) -> None:
        self.pool = pool
        """The connection pool (its counts are useful in tests and metrics)."""
        self._provider = settings.provider
        _connect, self._write, self._first_byte, self._between = settings.timeouts.resolve(
            settings.timeout
        )
        self._limit = settings.max_response_bytes
        # With no deadline in any phase the exchange's scope could never fire: it is
        # not entered (a cancel scope costs about as much as reading a response head).
        self._timed = any(t is not None for t in (self._write, self._first_byte, self._between))

    async def send(self, request: ProviderRequest) -> TransportResponse:
        deadline = _Deadline()
        if not self._timed:
            return await self._exchange(request, deadline)
        with deadline.scope:
            return await self._exchange(request, deadline)
        raise deadline.error(self._provider)

    async def _exchange(self, request: ProviderRequest, deadline: _Deadline) -> TransportResponse:
        reader = await self._open(request, deadline)
        try:
            body = await reader.read(deadline)
        finally:
            reader.finish()
        return TransportResponse(reader.status, reader.headers, body)

    @asynccontextmanager
    async def stream(self, request: ProviderRequest) -> AsyncGenerator[TransportStream]:
        deadline = _Deadline()
        reader = None
        with deadline.scope:
            reader = await self._open(request, deadline)
        if reader is None:
            raise deadline.error(self._provider)
        try:
            yield reader
        finally:
            reader.finish()

    async def _open(self, request: ProviderRequest, deadline: _Deadline) -> _Body:
        """Send ``request`` and read its response head (on a second connection when the
        first was a reused one that provably never took the request)."""
        pool = self.pool
        try:
            where = route(request.url)
            body, content_type = encode_body(request)
            length = len(body) if body is not None else None if request.method == "GET" else 0
            for attempt in (1, 2):
                connection = await pool.acquire(where.origin)
                target = request.url if connection.absolute else where.target
                try:
                    head = request_head(
                        request.method,
                        target,
                        where.host_header,
                        request.headers,
                        content_type=content_type,
                        length=length,
                    )
                    connection.start(request.method, target, where.host_header)
                    deadline.arm("sending the request", self._write)
                    await connection.write(wire_bytes(head, request.auth_headers, body))
                    deadline.arm("waiting for the response", self._first_byte)
                    response = await connection.head()
                except WireError as error:
                    pool.release(connection, reusable=False)
                    if attempt == 1 and error.unsent and connection.reused:
                        continue  # a stale keep-alive connection: nothing was processed
                    raise
                except BaseException:
                    pool.release(connection, reusable=False)
                    raise
                return _Body(pool, connection, response, self._provider, self._between, self._limit)
        except WireError as error:
            raise _typed(error, self._provider) from error
        except (InvalidURL, BadHeader) as error:
            raise ConnectionFailed(
                f"cannot send to {self._provider or 'the provider'}: {error}; check "
                "base_url and the endpoint's headers",
                provider=self._provider,
                should_retry=False,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover


class _Body:
    """One response being read: the stream the Endpoint sees, and the connection's fate."""

    __slots__ = (
        "_between",
        "_connection",
        "_decoder",
        "_done",
        "_pool",
        "_provider",
        "headers",
        "status",
    )

    def __init__(
        self,
        pool: ConnectionPool,
        connection: HttpConnection,
        response: tuple[int, dict[str, str]],
        provider: str | None,
        between: float | None,
        limit: int,
    ) -> None:
        self._pool = pool
        self._connection: HttpConnection | None = connection
        self._provider = provider
        self._between = between
        self.status: int = response[0]
        self.headers: Mapping[str, str] = response[1]
        self._decoder = ContentDecoder(self.headers.get("content-encoding", ""), limit)
        self._done = False

    def finish(self) -> None:
        """Return the connection after a complete exchange; close it otherwise."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.release(connection, reusable=self._done and connection.finish())

    def _invalid(self, message: str) -> ProviderError:
        return _typed(WireError("invalid", message), self._provider)

    async def _next(self, deadline: _Deadline | None) -> bytes | bytearray | None:
        """The next decoded piece of the body, within the between-chunks deadline: on
        ``deadline`` when the caller has one running (a whole exchange), else on a scope
        of its own (a stream, whose reader's own waits must not count)."""
        connection = self._connection
        if connection is None or self._done:
            return None
        try:
            if deadline is not None:
                deadline.arm("waiting for the next piece of the body", self._between)
                piece = await connection.chunk()
            elif self._between is None:
                piece = await connection.chunk()
            else:
                own = _Deadline()
                piece = None
                with own.scope:
                    own.arm("waiting for the next piece of the stream", self._between)
                    piece = await connection.chunk()
                if own.scope.cancelled_caught:
                    raise own.error(self._provider)
            if piece is None:
                self._done = True
                return self._decoder.flush() or None
            return self._decoder.feed(piece)
        except WireError as error:
            raise _typed(error, self._provider) from error
        except BodyTooLarge:
            raise self._invalid(
                f"a body over max_response_bytes ({self._decoder.size:,} bytes and more)"
            ) from None
        except UndecodableBody as error:
            raise self._invalid(f"a body that cannot be decoded ({error})") from None

    async def read(self, deadline: _Deadline | None = None) -> bytes:
        parts: list[bytes | bytearray] = []
        while (piece := await self._next(deadline)) is not None:
            parts.append(piece)
        return b"".join(parts)

    async def events(self) -> AsyncGenerator[SSEEvent]:
        kind = self.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "text/event-stream":
            raise self._invalid(f"a stream with content type {kind!r}, not text/event-stream")
        parser = SSEParser()
        try:
            while (piece := await self._next(None)) is not None:
                for event in parser.feed(piece):
                    yield event
        except EventTooLarge as error:
            raise self._invalid(str(error)) from None


@asynccontextmanager
async def open_http_transport(settings: TransportSettings) -> AsyncGenerator[Transport]:
    """Open a keep-alive pool for an Endpoint run (or an inline pool); close it at the end.

    Example:
        >>> import trio
        >>> async def main():
        ...     async with open_http_transport(TransportSettings(max_connections=8)) as t:
        ...         return type(t).__name__
        >>> trio.run(main)
        'HttpTransport'
    """
    pool = ConnectionPool(
        max_connections=settings.max_connections,
        context=settings.ssl_context,
        connect_timeout=settings.timeouts.resolve(settings.timeout)[0],
    )
    try:
        yield HttpTransport(pool, settings)
    finally:
        with contextlib.suppress(Exception):
            pool.close()
