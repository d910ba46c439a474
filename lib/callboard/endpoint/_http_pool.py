"""The ``http`` transport's keep-alive pool: idle connections per origin, reused most
recent first, checked before reuse, capped only when a cap was asked for.

A connection goes back to the pool only after a complete exchange (h11 says both sides
are done and the server did not ask to close); anything else (an error, a cancelled
reader, a body left unread) closes it. Before an idle connection is reused it must not
have outlived the keep-alive expiry and its socket must have nothing to read (a server
that closed it has sent a FIN), so most stale connections are dropped before a byte is
sent on them.
"""

from __future__ import annotations

import ssl

import trio

from ._http_connection import HttpConnection, WireError, connect
from ._http_route import Origin, Proxy, proxy_for, ssl_context

__all__ = ["KEEPALIVE_EXPIRY", "ConnectionPool"]

KEEPALIVE_EXPIRY = 4.0
"""Seconds an idle connection is kept: under the 5 s of uvicorn (vLLM, SGLang, most
Python servers), so the client gives up an idle connection before the server does."""


class ConnectionPool:
    """Connections for one transport (one Endpoint run, or one inline pool).

    Args:
        max_connections: requests on the wire at once (and so connections open), or
            ``None`` for no cap: the Executor's limits decide what is in flight.
        context: the TLS context for https origins; ``None`` for the process's one
            (built on the first https connection, never for plain http).
        connect_timeout: seconds to open a connection.
    """

    def __init__(
        self,
        *,
        max_connections: int | None,
        context: ssl.SSLContext | None,
        connect_timeout: float | None,
    ) -> None:
        self._idle: dict[Origin, list[HttpConnection]] = {}
        self._open: set[HttpConnection] = set()
        self._slots = trio.Semaphore(max_connections) if max_connections is not None else None
        self._max = max_connections
        self._context = context
        self._connect_timeout = connect_timeout
        self._proxies: dict[Origin, Proxy | None] = {}
        self._closed = False

    @property
    def open_connections(self) -> int:
        """Connections open now, idle or carrying a request."""
        return len(self._open)

    @property
    def idle_connections(self) -> int:
        """Connections open now and waiting for a request."""
        return sum(len(idle) for idle in self._idle.values())

    async def acquire(self, origin: Origin) -> HttpConnection:
        """A connection to ``origin`` for one request: an idle one, else a new one.

        Waits for a slot when capped. Give it back with ``release()``.

        Raises:
            WireError: no connection could be opened (``unsent``), or the pool is closed.
        """
        slots = self._slots
        if slots is not None:
            try:
                slots.acquire_nowait()
            except trio.WouldBlock:
                await slots.acquire()
        try:
            if self._closed:
                raise WireError("connection", "the transport is closed", unsent=True)
            connection = self._take_idle(origin)
            if connection is None:
                connection = await self._connect(origin)
        except BaseException:
            if slots is not None:
                slots.release()
            raise
        return connection

    def release(self, connection: HttpConnection, *, reusable: bool) -> None:
        """Give back a connection taken with ``acquire()``.

        ``reusable`` only after a complete exchange (``finish()``);
        otherwise, or when the pool is closed, the connection is closed.
        """
        if reusable and not self._closed:
            connection.expires = trio.current_time() + KEEPALIVE_EXPIRY
            self._idle.setdefault(connection.origin, []).append(connection)
        else:
            self._drop(connection)
        if self._slots is not None:
            self._slots.release()

    def close(self) -> None:
        """Close every connection, idle or in use (those requests fail), and refuse more."""
        self._closed = True
        self._idle.clear()
        for connection in list(self._open):
            self._drop(connection)

    def _take_idle(self, origin: Origin) -> HttpConnection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = trio.current_time()
        while idle:
            connection = idle.pop()
            if connection.expires > now and connection.looks_alive():
                return connection
            self._drop(connection)
        return None

    async def _connect(self, origin: Origin) -> HttpConnection:
        if self._max is not None and len(self._open) >= self._max:
            self._evict_idle()
        if origin in self._proxies:
            proxy = self._proxies[origin]
        else:
            try:
                proxy = self._proxies[origin] = proxy_for(origin)
            except ValueError as error:
                raise WireError("connection", str(error), unsent=True) from None
        context = self._context
        if context is None and origin.scheme == "https":
            context = ssl_context()
        connection = await connect(
            origin, proxy=proxy, context=context, within=self._connect_timeout
        )
        if self._closed:  # closed while connecting
            connection.close()
            raise WireError("connection", "the transport is closed", unsent=True)
        self._open.add(connection)
        return connection

    def _evict_idle(self) -> None:
        # Capped and full: the slot this request holds belongs to an idle connection of
        # another origin (this origin's idle ones were tried first), so close one.
        for idle in self._idle.values():
            if idle:
                self._drop(idle.pop(0))
                return

    def _drop(self, connection: HttpConnection) -> None:
        self._open.discard(connection)
        connection.close()
