"""The hostile server itself does what its moves say (checked with raw sockets)."""

from __future__ import annotations

import trio

from tests.hostile.server import Close, HostileServer, Move, Pause, Request, Reset, respond


async def _exchange(port: int, request: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        received = b""
        with trio.move_on_after(5):
            while data := await stream.receive_some(65536):
                received += data
        return received


async def test_moves_are_sent_in_order_and_close_ends_the_connection() -> None:
    async def script(request: Request) -> list[Move]:
        return [respond(200, [("x-seen", request.path)], request.body), Pause(0.01), Close()]

    async with HostileServer(script) as server:
        body = b'{"a": 1}'
        raw = b"POST /v1/x HTTP/1.1\r\nhost: h\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        received = await _exchange(server.port, raw)
    assert received.startswith(b"HTTP/1.1 200 X\r\n")
    assert b"x-seen: /v1/x" in received
    assert received.endswith(b"\r\n\r\n" + body)
    assert [r.body for r in server.requests] == [body]


async def test_reset_aborts_the_connection() -> None:
    async def script(request: Request) -> list[Move]:
        return [b"HTTP/1.1 200 X\r\ncontent-length: 100\r\n\r\npartial", Reset()]

    async with HostileServer(script) as server:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            await stream.send_all(b"GET / HTTP/1.1\r\nhost: h\r\n\r\n")
            received = b""
            reset = False
            try:
                with trio.fail_after(5):
                    while data := await stream.receive_some(65536):
                        received += data
            except trio.BrokenResourceError:
                reset = True
    assert reset
    assert received.endswith(b"partial") or received == b""
