"""Transport-level hostility (issue 13's "how it is checked", issue 15): a raw-socket
server sends gzip bombs, slow-loris bodies, resets at every point of the exchange,
absurd headers, and closes keep-alive connections between requests. Against a started
and an inline model, each ends as a typed error for that call only (or a successful
retry where that is provably safe), the model keeps serving, and nothing hangs.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from callboard import (
    ConnectionFailed,
    InvalidResponse,
    ProviderError,
    RetryPolicy,
    Timeout,
    Timeouts,
    iModel,
)
from tests.hostile.server import Close, HostileServer, Move, Pause, Request, Reset, chunked, respond

CHAT = json.dumps(
    {
        "id": "x",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    }
).encode()
JSON = [("content-type", "application/json")]
OK = respond(200, JSON, CHAT)
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(
    CHAT
)

# Each hostile answer, and the typed error its call must end with.
HOSTILE: dict[str, tuple[list[Move], type[ProviderError]]] = {
    "reset before anything": ([Reset()], ConnectionFailed),
    "close before anything": ([Close()], ConnectionFailed),
    "reset mid status line": ([b"HTTP/1.1 20", Reset()], ConnectionFailed),
    "reset mid headers": ([b"HTTP/1.1 200 OK\r\ncontent-le", Reset()], ConnectionFailed),
    "reset after headers": ([HEAD, Reset()], ConnectionFailed),
    "reset mid body": ([HEAD + CHAT[:10], Reset()], ConnectionFailed),
    "close mid body": ([HEAD + CHAT[:10], Close()], ConnectionFailed),
    "reset mid chunked body": (
        [
            respond(200, [*JSON, ("transfer-encoding", "chunked")], b"", length=False),
            chunked(CHAT[:10], end=False),
            Reset(),
        ],
        ConnectionFailed,
    ),
    "not http at all": ([b"SSH-2.0-OpenSSH_9.6\r\n", Close()], ConnectionFailed),
    "a 100 KB header": (
        [b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 100_000 + b"\r\n\r\n", Close()],
        ConnectionFailed,
    ),
    "a header without a colon": (
        [b"HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", Close()],
        ConnectionFailed,
    ),
    "a negative content-length": (
        [b"HTTP/1.1 200 OK\r\ncontent-length: -5\r\n\r\n", Close()],
        ConnectionFailed,
    ),
    "a bad chunk size": (
        [respond(200, [("transfer-encoding", "chunked")], b"zz\r\nxx\r\n", length=False), Close()],
        ConnectionFailed,
    ),
    "a gzip bomb": (
        [respond(200, [*JSON, ("content-encoding", "gzip")], gzip.compress(b"[" * 5_000_000))],
        InvalidResponse,
    ),
    "gzip that is not gzip": (
        [respond(200, [*JSON, ("content-encoding", "gzip")], b"certainly not gzip")],
        InvalidResponse,
    ),
    "a slow-loris body": ([HEAD + CHAT[:5], Pause(0.1), b"x", Pause(30)], Timeout),
    "no answer": ([Pause(30)], Timeout),
}

DEADLINE = 10  # seconds any one hostile call may take, well above the transport's


@asynccontextmanager
async def hostile(moves: list[Move]) -> AsyncIterator[HostileServer]:
    """The first request gets ``moves``; every later one a good answer."""

    async def script(request: Request) -> list[Move]:
        return moves if request.index == 0 else [OK]

    async with HostileServer(script) as server:
        yield server


def model_for(server: HostileServer) -> iModel:
    return iModel(
        provider="openai",
        base_url=f"{server.base_url}/v1",
        api_key="test-key",
        model="gpt-4o",
        retry=RetryPolicy.disabled(),
        timeout=30,
        timeouts=Timeouts(first_byte=0.5, between_chunks=0.5),
        max_response_bytes=1_000_000,
    )


MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
@pytest.mark.parametrize("name", list(HOSTILE))
async def test_hostile_answer_is_a_typed_error_for_that_call_and_the_model_keeps_serving(
    name: str, started: bool
) -> None:
    moves, expected = HOSTILE[name]
    async with hostile(moves) as server:
        model = model_for(server)
        with trio.fail_after(DEADLINE):
            async with contextlib_maybe(model, started):
                with pytest.raises(ProviderError) as caught:
                    await model.invoke(messages=MESSAGES)
                assert type(caught.value) is expected, caught.value
                assert caught.value.provider == "openai"
                calling = await model.invoke(messages=MESSAGES)
                assert calling.response.text == "fine"
                await model.aclose()
        assert len(server.requests) == 2


@asynccontextmanager
async def contextlib_maybe(model: iModel, started: bool) -> AsyncIterator[None]:
    if started:
        async with model:
            yield
    else:
        yield


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
async def test_a_server_closing_keep_alive_connections_between_requests_costs_no_call(
    started: bool,
) -> None:
    async def script(request: Request) -> list[Move]:
        return [OK, Close()]  # no "connection: close": the client learns it from the FIN

    async with HostileServer(script) as server:
        model = model_for(server)
        async with contextlib_maybe(model, started):
            for _ in range(4):
                calling = await model.invoke(messages=MESSAGES)
                assert calling.response.text == "fine"
                await trio.sleep(0.05)  # the FIN arrives between requests
            await model.aclose()
    # No retry was needed (the policy allows none): each request found its connection
    # stale before sending and opened a fresh one.
    assert server.connections == 4 and len(server.requests) == 4


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
async def test_keep_alive_connections_are_reused(started: bool) -> None:
    async def script(request: Request) -> list[Move]:
        return [OK]

    async with HostileServer(script) as server:
        model = model_for(server)
        async with contextlib_maybe(model, started):
            for _ in range(5):
                await model.invoke(messages=MESSAGES)
            await model.aclose()
    assert server.connections == 1 and len(server.requests) == 5


async def test_a_cancelled_call_never_returns_its_half_read_connection() -> None:
    arrived = trio.Event()

    async def script(request: Request) -> list[Move]:
        if request.index == 0:
            arrived.set()
            return [HEAD + CHAT[:10], Pause(30)]
        return [OK]

    async with HostileServer(script) as server:
        model = model_for(server)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: model.invoke(messages=MESSAGES))
            await arrived.wait()
            await trio.sleep(0.05)
            nursery.cancel_scope.cancel()
        calling = await model.invoke(messages=MESSAGES)
        assert calling.response.text == "fine"
        await model.aclose()
    # The second call did not read the first one's leftover body: a fresh connection.
    assert server.connections == 2
