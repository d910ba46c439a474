"""A loopback HTTP/1.1 server for the transport benchmarks, run in a process of its own.

It answers every POST with one canned OpenAI chat completion (or, when the body asks
for ``"stream": true``, a canned event stream in chunked encoding), after an optional
latency, with keep-alive. It is written on asyncio's Protocol, as lean as a server can
be in Python, so that the clients measured against it, not the server, are the
bottleneck; and it runs in its own process so that its CPU is not the client's.

    python -m benchmarks._server --latency 1.0     # prints the port, serves until stdin closes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

_CHAT = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "benchmarked"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
    b"x-request-id: bench\r\n\r\n" % len(_CHAT)
) + _CHAT


def _chunk(obj: object) -> bytes:
    data = b"data: " + json.dumps(obj).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


def _delta(content: str | None, finish: str | None = None) -> dict[str, object]:
    delta = {"content": content} if content is not None else {"role": "assistant"}
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


_STREAM = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    + _chunk(_delta(None))
    + b"".join(_chunk(_delta(word)) for word in ("bench", "marked", "!"))
    + _chunk(_delta("", "stop"))
    + _chunk(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "model": "gpt-4o",
            "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
        }
    )
    + b"%x\r\ndata: [DONE]\n\n\r\n" % len(b"data: [DONE]\n\n")
    + b"0\r\n\r\n"
)


class _Connection(asyncio.Protocol):
    def __init__(self, latency: float) -> None:
        self._latency = latency
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at) % (len(head) + 1)]) if at >= 0 else 0
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = buffer[end + 4 : total]
            buffer = buffer[total:]
            answer = _STREAM if b'"stream":true' in body.replace(b" ", b"") else _RESPONSE
            if self._latency:
                asyncio.get_running_loop().call_later(self._latency, self._send, answer)
            else:
                self._send(answer)
        self._buffer = buffer

    def _send(self, answer: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def _serve(latency: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: _Connection(latency), "127.0.0.1", 0, backlog=4096, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    # Serve until the parent closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._server")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(_serve(args.latency))


if __name__ == "__main__":
    main()
