"""HTTP/1.1 over a trio socket with h11, with the raw-socket moves faults need.

A server library would hide the socket, but a fake provider must be able to reset a
connection halfway through a body or close a chunked stream without its terminating
chunk; h11 leaves the socket in our hands and is already a dependency (via httpx2).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from http import HTTPStatus

import attrs
import h11
import trio

__all__ = ["Connection", "ConnectionDone", "HttpRequest", "ProtocolError"]

_RECEIVE_SIZE = 65536
_REASONS = {status.value: status.phrase.encode() for status in HTTPStatus} | {529: b"Overloaded"}

Headers = Iterable[tuple[str, str]]


class ConnectionDone(Exception):
    """The connection was closed on purpose (reset, truncated): stop serving it."""


class ProtocolError(Exception):
    """The client sent something that is not HTTP/1.1 (or a body over the size limit)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@attrs.frozen
class HttpRequest:
    """One request as read off the wire; header names are lower case."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of a header (``name`` in lower case), or ``None``."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


class Connection:
    """One client connection: read requests, write whole or streamed responses."""

    def __init__(self, stream: trio.SocketStream, max_body_bytes: int) -> None:
        self._stream = stream
        self._max_body_bytes = max_body_bytes
        self._h11 = h11.Connection(h11.SERVER)

    async def _receive(self) -> None:
        try:
            data = await self._stream.receive_some(_RECEIVE_SIZE)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            data = b""
        self._h11.receive_data(data)

    async def next_request(self) -> HttpRequest | None:
        """The next request, or ``None`` when the client closed the connection.

        Raises:
            ProtocolError: the bytes were not a valid HTTP/1.1 request.
        """
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        head: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                event = self._h11.next_event()
                if event is h11.NEED_DATA:
                    await self._receive()
                elif isinstance(event, h11.Request):
                    head = event
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self._max_body_bytes:
                        raise ProtocolError(413, "Request body is too large.")
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                else:  # ConnectionClosed, or PAUSED after a pipelined request
                    return None
        except h11.RemoteProtocolError as exc:
            raise ProtocolError(400, f"Malformed HTTP request: {exc}") from None
        assert head is not None
        target = head.target.decode("latin-1")
        return HttpRequest(
            method=head.method.decode("latin-1"),
            path=target.split("?", 1)[0],
            headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1")) for name, value in head.headers
            ),
            body=b"".join(chunks),
        )

    @property
    def can_respond(self) -> bool:
        """Whether a response may be started now (not after one was begun)."""
        return self._h11.our_state in (h11.IDLE, h11.SEND_RESPONSE)

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another request."""
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    def _head(self, status: int, headers: Headers) -> bytes:
        reason = _REASONS.get(status, b"")
        response = h11.Response(status_code=status, headers=list(headers), reason=reason)
        return self._h11.send(response) or b""

    async def send_body(self, status: int, headers: Headers, data: bytes) -> None:
        """A complete response with a ``content-length``."""
        out = self._head(status, [*headers, ("content-length", str(len(data)))])
        out += self._h11.send(h11.Data(data=data)) or b""
        out += self._h11.send(h11.EndOfMessage()) or b""
        await self._stream.send_all(out)

    async def send_part_then_reset(
        self, status: int, headers: Headers, data: bytes, cut: int
    ) -> None:
        """Announce the full body, send ``data[:cut]``, then reset the connection."""
        out = self._head(status, [*headers, ("content-length", str(len(data)))])
        out += self._h11.send(h11.Data(data=data[:cut])) or b""
        await self._stream.send_all(out)
        self.reset()

    async def start_stream(self, status: int, headers: Headers) -> None:
        """Begin a chunked response (the client gets the head at once)."""
        await self._stream.send_all(self._head(status, headers))

    async def send_chunk(self, data: bytes) -> None:
        await self._stream.send_all(self._h11.send(h11.Data(data=data)) or b"")

    async def end_stream(self) -> None:
        await self._stream.send_all(self._h11.send(h11.EndOfMessage()) or b"")

    async def wait_closed(self) -> None:
        """Return when the client closes its side (a stall waits here, without polling)."""
        while True:
            try:
                data = await self._stream.receive_some(_RECEIVE_SIZE)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            self._h11.receive_data(data)  # a pipelined request: keep it for later

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), as a crashing upstream would."""
        sock = self._stream.socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)
