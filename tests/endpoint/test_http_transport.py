"""The http transport (h11 on trio sockets) against real loopback servers: the pool's
size, content codings, incremental server-sent events, per-phase deadlines, and fuzzed
responses (hypothesis over bytes and where they are split)."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard import (
    Calling,
    ConnectionFailed,
    InvalidResponse,
    RetryPolicy,
    StreamDelta,
    Timeout,
    Timeouts,
    iModel,
)
from callboard.endpoint import TransportSettings, open_transport
from callboard.endpoint._http_decode import ContentDecoder, SSEParser
from callboard.providers import build_request, get_provider
from tests.hostile.server import Close, HostileServer, Move, Pause, Request, chunked, respond

CHAT = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}}],
    }
).encode()
JSON = [("content-type", "application/json")]
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def request_to(server: HostileServer, **options: Any) -> Any:
    spec = get_provider("openai", base_url=f"{server.base_url}/v1")
    return build_request(spec, "chat", BODY, api_key="k", **options)


async def test_no_hidden_cap_on_calls_in_flight() -> None:
    # 150 callers, a server that holds each answer: with default settings all 150 are
    # at the server at once (the httpx2 pool used to stop at 100).
    in_flight = 0
    peak = 0
    release = trio.Event()

    async def script(request: Request) -> list[Move]:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if peak == 150:
            release.set()
        with trio.move_on_after(5):
            await release.wait()
        in_flight -= 1
        return [respond(200, JSON, CHAT)]

    async with HostileServer(script) as server:
        model = iModel(
            provider="openai",
            base_url=f"{server.base_url}/v1",
            api_key="k",
            model="gpt-4o",
            queue_capacity=200,
        )
        async with model, trio.open_nursery() as nursery:
            for _ in range(150):
                nursery.start_soon(lambda: model.invoke(messages=BODY["messages"]))
    assert peak == 150 and server.connections == 150


async def test_a_request_bigger_than_the_socket_buffers_is_written_whole() -> None:
    # 4 MB cannot fit the loopback buffers while the server (in this same trio run)
    # is not reading: the write must wait for room and go on where it stopped.
    content = "x" * (4 * 1024 * 1024)

    async def script(request: Request) -> list[Move]:
        return [respond(200, JSON, CHAT)]

    async with HostileServer(script) as server:
        model = iModel(
            provider="openai", base_url=f"{server.base_url}/v1", api_key="k", model="gpt-4o"
        )
        async with model:
            calling = await model.invoke(messages=[{"role": "user", "content": content}])
            assert calling.response.text == "fine"
            # Again on the same connection: the first exchange left it whole.
            await model.invoke(messages=[{"role": "user", "content": content}])
    assert server.connections == 1
    for request in server.requests:
        assert json.loads(request.body)["messages"][0]["content"] == content


@pytest.mark.parametrize("cap", ["concurrency_limit", "max_connections"])
async def test_the_pool_follows_the_concurrency_limit_or_an_explicit_cap(cap: str) -> None:
    async def script(request: Request) -> list[Move]:
        await trio.sleep(0.02)
        return [respond(200, JSON, CHAT)]

    async with HostileServer(script) as server:
        model = iModel(
            provider="openai",
            base_url=f"{server.base_url}/v1",
            api_key="k",
            model="gpt-4o",
            **{cap: 4},
        )
        async with model, trio.open_nursery() as nursery:
            for _ in range(40):
                nursery.start_soon(lambda: model.invoke(messages=BODY["messages"]))
    assert server.connections == 4 and len(server.requests) == 40


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, no zlib header
        ("br", lambda data: data),  # unknown codings pass through, as with httpx2
    ],
    ids=["gzip", "deflate", "raw deflate", "unknown"],
)
async def test_chunked_and_compressed_bodies_are_decoded(coding: str, encode: Any) -> None:
    encoded = encode(CHAT)
    pieces = [encoded[i : i + 7] for i in range(0, len(encoded), 7)]

    async def script(request: Request) -> list[Move]:
        head = [*JSON, ("content-encoding", coding), ("transfer-encoding", "chunked")]
        return [respond(200, head, b"", length=False), *(chunked(p, end=False) for p in pieces)]

    async def whole(request: Request) -> list[Move]:
        return [*await script(request), b"0\r\n\r\n"]

    settings_ = TransportSettings(timeout=5)
    async with HostileServer(whole) as server, open_transport("http", settings_) as transport:
        answer = await transport.send(request_to(server))
        again = await transport.send(request_to(server))
    assert answer.body == CHAT and again.body == CHAT
    assert server.connections == 1  # a chunked body read to its end keeps the connection


async def test_server_sent_events_arrive_as_they_are_sent() -> None:
    def event(content: str) -> bytes:
        delta = {"choices": [{"index": 0, "delta": {"content": content}}]}
        return b"data: " + json.dumps(delta).encode() + b"\n\n"

    async def script(request: Request) -> list[Move]:
        head = [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]
        first = event("one")
        # One event split across two chunks, then a stream that never ends: only a
        # reader that parses as bytes arrive hands the event on.
        return [
            respond(200, head, b"", length=False),
            chunked(first[:9], end=False),
            Pause(0.05),
            chunked(first[9:], end=False),
            Pause(30),
        ]

    async with HostileServer(script) as server:
        model = iModel(
            provider="openai",
            base_url=f"{server.base_url}/v1",
            api_key="k",
            model="gpt-4o",
            retry=RetryPolicy.disabled(),
        )
        send, receive = trio.open_memory_channel[StreamDelta](16)
        calling = Calling({"messages": BODY["messages"]}, streaming=True, stream_sink=send)
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(model.backend.execute, calling)
                delta = await receive.receive()
                assert delta.text == "one"
                assert not calling.finished
                nursery.cancel_scope.cancel()
        await model.aclose()


@pytest.mark.parametrize(
    ("moves", "phase"),
    [
        ([Pause(5)], "waiting for the response"),
        (
            [b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345", Pause(5)],
            "waiting for the next piece of the body",
        ),
    ],
    ids=["first byte", "between chunks"],
)
async def test_each_phase_has_its_own_deadline(moves: list[Move], phase: str) -> None:
    async def script(request: Request) -> list[Move]:
        return moves

    timeouts = Timeouts(first_byte=0.2, between_chunks=0.2)
    async with HostileServer(script) as server:
        settings_ = TransportSettings(timeout=30, timeouts=timeouts)
        async with open_transport("http", settings_) as transport:
            with trio.fail_after(3), pytest.raises(Timeout, match=phase):
                await transport.send(request_to(server))
            assert transport.pool.open_connections == 0  # type: ignore[attr-defined]


# -- fuzzed responses -----------------------------------------------------------------

_PREFIXES = [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 20\r\n\r\n",
    b"HTTP/1.0 404 X\r\n\r\n",
    b"",
]


@st.composite
def responses(draw: st.DrawFn) -> list[bytes]:
    data = draw(st.sampled_from(_PREFIXES)) + draw(st.binary(max_size=300))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    pieces, last = [], 0
    for cut in [*cuts, len(data)]:
        pieces.append(data[last:cut])
        last = cut
    return [piece for piece in pieces if piece]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(pieces=responses())
def test_whatever_a_server_sends_is_a_response_or_a_typed_error(pieces: list[bytes]) -> None:
    async def main() -> None:
        async def script(request: Request) -> list[Move]:
            return [*pieces, Close()]

        async with HostileServer(script) as server:
            settings_ = TransportSettings(timeout=2, max_response_bytes=10_000)
            async with open_transport("http", settings_) as transport:
                with trio.fail_after(5):
                    try:
                        answer = await transport.send(request_to(server))
                    except (ConnectionFailed, InvalidResponse, Timeout):
                        pass
                    else:
                        assert 100 <= answer.status <= 999
                        assert len(answer.body) <= 10_000
                assert transport.pool.open_connections <= 1  # type: ignore[attr-defined]

    trio.run(main)


def _httpx2_events(data: bytes) -> list[tuple[str, str]]:
    from httpx2._sse import _SSEParser  # pyright: ignore[reportPrivateUsage]

    parser = _SSEParser(1024 * 1024)
    text = data.decode("utf-8", "replace")
    events = [(e.event, e.data) for e in parser.decode(text)]
    return events + [(e.event, e.data) for e in parser.flush()]


_SSE_TEXT = st.lists(
    st.sampled_from(
        ["data: a", "data:b", "data", "event: x", "id: 1", "retry: 5", ": c", "", "\r", "é", "x"]
    ).map(lambda part: part.encode()),
    max_size=30,
).map(lambda parts: b"\n".join(parts) + b"\n")


@given(data=_SSE_TEXT | st.binary(max_size=200), cuts=st.lists(st.integers(0, 400), max_size=6))
def test_sse_parsing_matches_httpx2_wherever_the_bytes_are_split(
    data: bytes, cuts: list[int]
) -> None:
    parser = SSEParser()
    events: list[tuple[str, str]] = []
    last = 0
    for cut in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        events += [(e.event, e.data) for e in parser.feed(data[last:cut])]
        last = cut
    assert events == _httpx2_events(data)


@given(data=st.binary(max_size=2000), limit=st.integers(1, 3000))
def test_decoded_bodies_never_pass_the_bound(data: bytes, limit: int) -> None:
    decoder = ContentDecoder("gzip", limit)
    encoded = gzip.compress(data)
    try:
        out = b"".join(decoder.feed(encoded[i : i + 100]) for i in range(0, len(encoded), 100))
        out += decoder.flush()
    except Exception as error:
        assert type(error).__name__ == "BodyTooLarge" and len(data) > limit
    else:
        assert out == data and len(data) <= limit
