"""A hostile HTTP server on 127.0.0.1: it answers each request with whatever raw bytes,
pauses, closes and resets a test scripts, with no HTTP library between the script and
the socket.

The fake provider models providers as they document themselves; this one models what
a broken proxy, a cut connection or an adversary sends. Each accepted request is read
up to the end of its body (by Content-Length; chunked request bodies are read to the
terminating chunk), then handed to the script, which returns the moves to make::

    async def script(request: Request) -> list[Move]:
        return [respond(200, [("content-type", "application/json")], b"[" * 5000)]

    async with HostileServer(script) as server:
        ... base_url=server.base_url ...

A move is ``bytes`` (sent as is), :class:`Pause` (sleep, then go on: a slow-loris
body), :class:`Close` (FIN, then stop serving the connection) or :class:`Reset` (RST:
``SO_LINGER`` 0, then close). After the last move the connection waits for its next
request (keep-alive) unless the script closed it.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType

import attrs
import trio

__all__ = [
    "Close",
    "HostileServer",
    "Move",
    "Pause",
    "Request",
    "Reset",
    "chunked",
    "respond",
]


@attrs.frozen
class Pause:
    seconds: float


@attrs.frozen
class Close:
    pass


@attrs.frozen
class Reset:
    pass


Move = bytes | Pause | Close | Reset


@attrs.frozen
class Request:
    """One request as received: the request line, lower-cased headers and the body."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    index: int  # 0 for the first request this server received, 1 for the next, ...

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


Script = Callable[[Request], Awaitable[Sequence[Move]]]


def respond(
    status: int, headers: Iterable[tuple[str, str]] = (), body: bytes = b"", *, length: bool = True
) -> bytes:
    """A whole HTTP/1.1 response as bytes; ``length=False`` leaves Content-Length out."""
    lines = [f"HTTP/1.1 {status} X".encode()]
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
    if length:
        lines.append(f"content-length: {len(body)}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def chunked(*pieces: bytes, end: bool = True) -> bytes:
    """``pieces`` in chunked transfer encoding (with the terminating chunk if ``end``)."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces if piece)
    return out + (b"0\r\n\r\n" if end else b"")


class HostileServer:
    """Serve ``script``'s moves to every request, on 127.0.0.1 and an ephemeral port."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener: trio.SocketListener | None = None
        self._scope: trio.CancelScope | None = None
        self._nursery_manager: object = None
        self.requests: list[Request] = []
        self.connections = 0

    @property
    def port(self) -> int:
        assert self._listener is not None, "use it inside async with"
        return int(self._listener.socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HostileServer:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self._listener = listeners[0]
        manager = trio.open_nursery()
        nursery = await manager.__aenter__()
        self._nursery_manager = manager
        self._scope = nursery.cancel_scope
        nursery.start_soon(self._accept, nursery)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._scope is not None and self._listener is not None
        self._scope.cancel()
        manager = self._nursery_manager
        await manager.__aexit__(None, None, None)  # type: ignore[attr-defined]
        await self._listener.aclose()

    async def _accept(self, nursery: trio.Nursery) -> None:
        assert self._listener is not None
        while True:
            stream = await self._listener.accept()
            self.connections += 1
            nursery.start_soon(self._serve, stream)

    async def _serve(self, stream: trio.SocketStream) -> None:
        buffer = b""
        try:
            while True:
                request, buffer = await _read_request(stream, buffer, len(self.requests))
                if request is None:
                    return
                self.requests.append(request)
                for move in await self._script(request):
                    if isinstance(move, Pause):
                        await trio.sleep(move.seconds)
                    elif isinstance(move, Close):
                        return
                    elif isinstance(move, Reset):
                        stream.socket.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        return
                    else:
                        await stream.send_all(move)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            return
        finally:
            with trio.CancelScope(shield=True):
                await stream.aclose()


async def _read_request(
    stream: trio.SocketStream, buffer: bytes, index: int
) -> tuple[Request | None, bytes]:
    while b"\r\n\r\n" not in buffer:
        data = await stream.receive_some(65536)
        if not data:
            return None, b""
        buffer += data
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    first, *lines = head.decode("latin-1").split("\r\n")
    method, path, _ = first.split(" ", 2)
    headers = tuple(
        (name.strip().lower(), value.strip())
        for name, value in (line.split(":", 1) for line in lines if ":" in line)
    )
    fields = dict(headers)
    if fields.get("transfer-encoding", "").lower() == "chunked":
        while b"0\r\n\r\n" not in buffer:
            data = await stream.receive_some(65536)
            if not data:
                return None, b""
            buffer += data
        raw, buffer = buffer.split(b"0\r\n\r\n", 1)
        body = b""
        while raw:
            size_line, raw = raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            body, raw = body + raw[:size], raw[size + 2 :]
    else:
        length = int(fields.get("content-length", "0"))
        pending = bytearray(buffer)  # not bytes: a body of megabytes is read in linear time
        while len(pending) < length:
            data = await stream.receive_some(65536)
            if not data:
                return None, b""
            pending += data
        body, buffer = bytes(pending[:length]), bytes(pending[length:])
    return Request(method, path, headers, body, index), buffer
