"""One HTTP/1.1 connection of the ``http`` transport: a trio stream (TCP, or TLS over
TCP, possibly through a proxy's CONNECT tunnel) and what reads the answers on it.

A plain answer (a final status, a Content-Length body) is read by ``parse_head`` and a
byte count, at a fraction of h11's CPU; any other answer is handed, with every byte
received so far, to h11, which reads it from its first byte (``_http_head.py`` says
which answers are plain). Connecting has its own deadline; the other phases' deadlines
(write, first byte, between chunks) live in the caller's cancel scope, moved from phase
to phase, so one exchange costs one scope. Every failure is raised as ``WireError``,
which says what kind of failure it was and whether the request provably never reached
the server; the transport turns it into the typed error. Closing is synchronous (the
socket is closed at once), so a connection can be dropped in a ``finally`` under
cancellation without a checkpoint.
"""

from __future__ import annotations

import functools
import math
import os
import select
import ssl
from typing import Literal, cast

import h11
import trio

from ._http_head import parse_head
from ._http_request import wire_bytes
from ._http_route import Origin, Proxy

__all__ = ["HttpConnection", "WireError", "connect"]

RECEIVE_SIZE = 65536
MAX_HEAD_BYTES = 64 * 1024
"""The largest status line plus headers accepted (h11 refuses a bigger head)."""

Kind = Literal["timeout", "connection", "invalid"]

_RAW_IO = os.name == "posix"

_BROKEN = (trio.BrokenResourceError, trio.ClosedResourceError, OSError, ssl.SSLError)


class WireError(Exception):
    """A failed exchange: ``kind`` picks the typed error, ``unsent`` says the request
    provably did not reach the server whole (a retry on another connection is safe)."""

    def __init__(self, kind: Kind, message: str, *, unsent: bool = False) -> None:
        super().__init__(message)
        self.kind: Kind = kind
        self.unsent = unsent


def _what(error: BaseException) -> str:
    cause = error.__cause__ if isinstance(error, trio.BrokenResourceError) else None
    shown = cause or error
    return f"{type(shown).__name__}: {shown}" if str(shown) else type(shown).__name__


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):
        poll = select.poll()
        poll.register(fd, select.POLLIN)
        return bool(poll.poll(0))
    return bool(select.select([fd], [], [], 0)[0])  # pragma: no cover - Windows


class HttpConnection:
    """A connection to one origin; one request at a time, kept alive between them.

    An answer is read by ``parse_head`` when it is a plain one (the common case, and
    the cheap one); anything else is handed, with every byte received so far, to h11,
    which reads it from the start (see ``_http_head.py``).

    Attributes:
        origin: what the connection is good for.
        reused: it has carried a request before this one.
        expires: the Trio time after which it is not reused (keep-alive expiry).
        absolute: send absolute-form targets (plain http through a proxy).
    """

    __slots__ = (
        "_buffer",
        "_fd",
        "_h11",
        "_keep_alive",
        "_length",
        "_remaining",
        "_request",
        "_socket",
        "absolute",
        "expires",
        "origin",
        "reused",
        "stream",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        socket: trio.socket.SocketType,
        origin: Origin,
        *,
        absolute: bool = False,
    ) -> None:
        self.stream = stream
        self._socket = socket
        # Plain TCP on a POSIX system is written and read on its descriptor: trio's
        # SocketStream yields to the scheduler after every send that did not block,
        # and a call would wait out a whole scheduler round there for nothing, since
        # reading the answer next waits for it anyway. -1: go through ``stream``.
        self._fd = socket.fileno() if _RAW_IO and type(stream) is trio.SocketStream else -1
        self._h11: h11.Connection | None = None  # only for an answer parse_head left
        self._request = ("GET", "/", "")
        self._buffer = b""  # body bytes received beyond what was handed out
        self._length = 0  # the plain path's Content-Length
        self._remaining = -1  # body bytes still to come on the plain path; -1: none read
        self._keep_alive = False
        self.origin = origin
        self.reused = False
        self.expires = math.inf
        self.absolute = absolute

    def close(self) -> None:
        """Close at once (no checkpoint): a task reading it gets ClosedResourceError."""
        self._fd = -1  # the number may be another file's from now on
        self._socket.close()

    def looks_alive(self) -> bool:
        """An idle HTTP/1.1 connection has nothing to read: anything readable is the
        server's FIN (or a reset, or bytes nobody asked for), so it is not reused."""
        fd = self._socket.fileno()
        return fd >= 0 and not _readable(fd)

    def start(self, method: str, target: str, host: str) -> None:
        """Note that a request for ``target`` goes out (its bytes are written by the
        caller), so the answer read next is read as the answer to it."""
        self._request = (method, target, host)
        self._h11 = None
        self._buffer = b""
        self._remaining = -1
        self._keep_alive = False

    def finish(self) -> bool:
        """After a complete exchange: ready for the next request? (``False``: close it.)

        Bytes past the end of the answer (which no request asked for) close it too.
        """
        connection = self._h11
        if connection is None:
            done = self._remaining == 0 and self._keep_alive and not self._buffer
        else:
            done = (
                connection.our_state is h11.DONE
                and connection.their_state is h11.DONE
                and not connection.trailing_data[0]
            )
        if done:
            self.reused = True
        return done

    async def write(self, data: memoryview) -> None:
        """Send ``data`` whole (the caller's cancel scope holds the write deadline).

        Raises:
            WireError: the connection broke; ``unsent`` (not all of it was accepted).
        """
        try:
            if self._fd < 0:
                await self.stream.send_all(data)
                return
            # No schedule point after a write that did not block: the answer's read,
            # which follows, is one (see _receive_some).
            await trio.lowlevel.checkpoint_if_cancelled()
            while data:
                try:
                    data = data[os.write(self._fd, data) :]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(self._socket)
        except _BROKEN as error:
            raise WireError(
                "connection", f"sending the request failed ({_what(error)})", unsent=True
            ) from error

    async def head(self) -> tuple[int, dict[str, str]]:
        """The response's status and headers (the caller's scope holds the first-byte
        deadline).

        Raises:
            WireError: the connection broke, was closed before an answer, or carried
                bytes that are not HTTP/1.1 (oversized headers too).
        """
        where = "before the response headers"
        received = bytearray()
        while True:
            data = await self._receive_some(where)
            seen = len(received)
            received += data
            # Only the new bytes (and the 3 before them) can complete a terminator:
            # a head sent a byte at a time is not scanned again and again.
            end = received.find(b"\r\n\r\n", max(0, seen - 3))
            if end >= 0:
                head = (
                    parse_head(received[: end + 4], self._request[0])
                    if end + 4 <= MAX_HEAD_BYTES
                    else None
                )
                if head is not None:
                    self._buffer = bytes(received[end + 4 :])
                    self._length = self._remaining = head.length
                    self._keep_alive = head.keep_alive
                    return head.status, head.headers
                break
            fresh = received[max(0, seen - 2) :]
            if (
                not data
                or len(received) > MAX_HEAD_BYTES
                or b"\n\n" in fresh
                or b"\n\r\n" in fresh  # a bare LF, then a blank line: h11 ends a head so
            ):
                break  # closed, too long, or bare LF line ends: h11 says what it is
        return await self._h11_head(bytes(received), eof=not data)

    async def _h11_head(self, received: bytes, *, eof: bool) -> tuple[int, dict[str, str]]:
        method, target, host = self._request
        connection = self._h11 = h11.Connection(
            h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES
        )
        connection.send(_request_event(method, target, host))
        connection.send(_END)
        connection.receive_data(received)
        if eof:
            connection.receive_data(b"")
        while True:
            event = self._next(connection, "before the response headers")
            if event is h11.NEED_DATA:
                await self._receive(connection, "before the response headers")
            elif type(event) is h11.Response:
                # h11 bounds a head that arrives in pieces; one that arrives whole is
                # bounded here, so no answer can hold more than MAX_HEAD_BYTES of headers.
                if sum(len(name) + len(value) for name, value in event.headers) > MAX_HEAD_BYTES:
                    raise WireError(
                        "connection", f"the response headers are over {MAX_HEAD_BYTES} bytes"
                    )
                return event.status_code, _headers(event)
            elif type(event) is not h11.InformationalResponse:
                raise WireError("connection", "the server closed the connection before answering")

    async def chunk(self) -> bytes | bytearray | None:
        """The next piece of the body, or ``None`` once it ended (the caller's scope
        holds the between-chunks deadline).

        Raises:
            WireError: the connection broke, or the body was cut short.
        """
        if self._h11 is not None:
            return await self._h11_chunk(self._h11)
        remaining = self._remaining
        if remaining <= 0:
            return None
        piece = self._buffer
        if not piece:
            piece = await self._receive_some("in the middle of the body")
            if not piece:
                raise WireError(
                    "connection",
                    "the server broke HTTP/1.1 in the middle of the body (peer closed "
                    "connection without sending complete message body: received "
                    f"{self._length - remaining} bytes, expected {self._length})",
                )
        if len(piece) > remaining:
            # More than the body: bytes no request asked for. Kept, so finish() sees
            # them and the connection is closed rather than reused out of step.
            self._buffer = piece[remaining:]
            piece = piece[:remaining]
        else:
            self._buffer = b""
        self._remaining = remaining - len(piece)
        return piece

    async def _h11_chunk(self, connection: h11.Connection) -> bytes | bytearray | None:
        while True:
            event = self._next(connection, "in the middle of the body")
            if event is h11.NEED_DATA:
                await self._receive(connection, "in the middle of the body")
                continue
            kind = type(event)
            if kind is h11.Data:
                return event.data  # pyright: ignore[reportAttributeAccessIssue, reportUnknownVariableType, reportUnknownMemberType]
            if kind is h11.EndOfMessage:
                return None
            raise WireError("connection", "the server closed the connection mid-body")

    @staticmethod
    def _next(connection: h11.Connection, where: str) -> object:
        try:
            return connection.next_event()
        except h11.RemoteProtocolError as error:
            raise WireError("connection", f"the server broke HTTP/1.1 {where} ({error})") from error

    async def _receive_some(self, where: str) -> bytes:
        """The next bytes, ``b""`` at the end of the stream; a schedule point always,
        as trio's ``receive_some`` is (a server that keeps the socket readable cannot
        keep the reading task from yielding)."""
        try:
            if self._fd < 0:
                return cast(bytes, await self.stream.receive_some(RECEIVE_SIZE))
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                data = os.read(self._fd, RECEIVE_SIZE)
            except BlockingIOError:
                while True:
                    await trio.lowlevel.wait_readable(self._socket)
                    try:
                        return os.read(self._fd, RECEIVE_SIZE)
                    except BlockingIOError:
                        continue
            await trio.lowlevel.cancel_shielded_checkpoint()
            return data
        except _BROKEN as error:
            raise WireError(
                "connection", f"the connection broke {where} ({_what(error)})"
            ) from error

    async def _receive(self, connection: h11.Connection, where: str) -> None:
        # b"" is the end of the stream
        connection.receive_data(await self._receive_some(where))


def _headers(response: h11.Response) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in response.headers:
        name = raw_name.decode("latin-1")
        try:
            value = raw_value.decode()
        except UnicodeDecodeError:
            value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


@functools.lru_cache(maxsize=256)
def _request_event(method: str, target: str, host: str) -> h11.Request:
    # h11's events are immutable: one per URL saves validating it on every request.
    return h11.Request(method=method, target=target, headers=[("host", host)])


_END = h11.EndOfMessage()


def _deadline(timeout: float | None) -> float:
    return math.inf if timeout is None else trio.current_time() + timeout


async def connect(
    origin: Origin,
    *,
    proxy: Proxy | None,
    context: ssl.SSLContext | None,
    within: float | None,
) -> HttpConnection:
    """A new connection to ``origin`` (through ``proxy``), in at most ``within`` seconds.

    Raises:
        WireError: refused, unreachable, timed out, the proxy refused the tunnel, or the
            TLS handshake failed (an unverifiable certificate included); always
            ``unsent``.
    """
    peer = proxy.origin if proxy is not None else origin
    with trio.CancelScope(deadline=_deadline(within)) as scope:
        try:
            tcp = await trio.open_tcp_stream(peer.host, peer.port)
        except OSError as error:
            raise WireError(
                "connection",
                f"cannot connect to {peer.host}:{peer.port} ({_what(error)})",
                unsent=True,
            ) from error
        try:
            if origin.scheme != "https":
                return HttpConnection(tcp, tcp.socket, origin, absolute=proxy is not None)
            assert context is not None, "https needs a TLS context"
            if proxy is not None:
                await _tunnel(tcp, origin, proxy)
            tls = trio.SSLStream(tcp, context, server_hostname=origin.host, https_compatible=True)
            try:
                await tls.do_handshake()
            except _BROKEN as error:
                raise WireError(
                    "connection",
                    f"the TLS handshake with {origin.host} failed ({_what(error)})",
                    unsent=True,
                ) from error
            return HttpConnection(tls, tcp.socket, origin)
        except BaseException:
            tcp.socket.close()
            raise
    assert scope.cancelled_caught
    raise WireError(
        "timeout", f"connecting to {peer.host}:{peer.port} took over {within} s", unsent=True
    )


async def _tunnel(tcp: trio.SocketStream, origin: Origin, proxy: Proxy) -> None:
    """Ask the proxy for a CONNECT tunnel to ``origin`` over ``tcp``."""
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    authority = f"{host}:{origin.port}"
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
    head = connection.send(
        h11.Request(method="CONNECT", target=authority, headers=[("host", authority)])
    )
    connection.send(h11.EndOfMessage())
    assert head is not None
    secret = {"proxy-authorization": proxy.authorization} if proxy.authorization else {}
    try:
        await tcp.send_all(wire_bytes(head[:-2], secret, None))
        while (event := connection.next_event()) is h11.NEED_DATA:
            connection.receive_data(await tcp.receive_some(RECEIVE_SIZE))
    except _BROKEN as error:
        raise WireError(
            "connection", f"the proxy broke the CONNECT ({_what(error)})", unsent=True
        ) from error
    except h11.RemoteProtocolError as error:
        raise WireError(
            "connection", f"the proxy sent bad HTTP to CONNECT ({error})", unsent=True
        ) from error
    status = getattr(event, "status_code", None)
    if not isinstance(status, int) or not 200 <= status <= 299:
        raise WireError(
            "connection",
            f"the proxy {proxy.origin.host}:{proxy.origin.port} refused to tunnel to "
            f"{authority} (status {status})",
            unsent=True,
        )
    if connection.trailing_data[0]:
        raise WireError("connection", "the proxy sent bytes before the tunnel", unsent=True)
