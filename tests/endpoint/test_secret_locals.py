"""Issue 13 item 9: the raw API key never sits in a traceback's locals.

``pytest --showlocals``, rich tracebacks with locals and error trackers record the repr
of every local of every frame of a failure, its causes and contexts included. For both
HTTP transports and every way a call fails (a refusal that echoes the key, a broken
connection, a timeout, an unreadable body, no server at all), no such repr holds the key.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator

import pytest
import trio

from callboard import Calling, ProviderError, RetryPolicy, Secret, Timeouts, match_endpoint
from tests.hostile.server import HostileServer, Move, Pause, Request, Reset, respond

CANARY = "sk-canary-5f0e9c1b7d2a4e6f8a0b1c2d3e4f5a6b"


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)  # pyright: ignore[reportUnknownArgumentType]


def local_reprs(error: BaseException) -> Iterator[str]:
    """The repr of every local of every frame of ``error`` and all it was raised from
    (suppressed contexts too: an error tracker may walk them)."""
    for current in _chain(error):
        tb = current.__traceback__
        while tb is not None:
            for name, value in tb.tb_frame.f_locals.items():
                try:
                    yield f"{tb.tb_frame.f_code.co_name}:{name}={value!r}"
                except Exception:  # a repr that fails shows nothing
                    continue
            tb = tb.tb_next


SCRIPTS: dict[str, list[Move]] = {
    # What a provider says about a wrong key (partly masked, as OpenAI does): the
    # bytes a server sends back are its own, and sit in the body's locals.
    "401": [
        respond(
            401,
            [("content-type", "application/json")],
            b'{"error": {"message": "Incorrect API key provided: sk-can***a6b"}}',
        )
    ],
    "500": [respond(500, [], b"oops")],
    "reset mid body": [b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{", Reset()],
    "timeout": [Pause(5)],
    "not json": [respond(200, [("content-type", "application/json")], b"<html>")],
}


@pytest.mark.parametrize("transport", ["http", "httpx"])
@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
@pytest.mark.parametrize("name", [*SCRIPTS, "no server"])
async def test_the_key_is_in_no_local_of_any_frame_of_a_failure(
    name: str, stream: bool, transport: str
) -> None:
    async def script(request: Request) -> list[Move]:
        return SCRIPTS[name]

    async with HostileServer(script) as server:
        base = f"{server.base_url}/v1"
        if name == "no server":
            base = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
        endpoint = match_endpoint(
            "openai",
            base_url=base,
            api_key=Secret(CANARY),
            model="gpt-4o",
            transport=transport,
            retry=RetryPolicy.disabled(),
            timeout=0.5,
            timeouts=Timeouts(first_byte=0.3),
        )
        calling = Calling({"messages": [{"role": "user", "content": "hi"}]}, streaming=stream)
        with trio.fail_after(10), pytest.raises(ProviderError) as caught:
            await endpoint.execute(calling)
        await endpoint.aclose()
        if name != "no server":
            # The key did go out: the test would prove nothing otherwise.
            assert server.requests[0].header("authorization") == f"Bearer {CANARY}"
    error = caught.value
    reprs = list(local_reprs(error))
    assert len(reprs) > 10  # frames were there to look at
    leaks = [text for text in reprs if CANARY in text]
    assert leaks == []
    formatted = "".join(
        traceback.TracebackException.from_exception(error, capture_locals=True).format()
    )
    assert CANARY not in formatted
    assert CANARY not in str(error) and CANARY not in repr(error)
