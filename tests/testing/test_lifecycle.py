"""Starting and stopping: nothing left behind, the caller's errors pass through unwrapped."""

from __future__ import annotations

import httpx2
import pytest
import trio

from callboard import ConfigError
from callboard.testing import FakeProvider, Latency

from .conftest import OPENAI_AUTH, chat


async def test_exit_while_a_client_is_mid_stream(autojump_clock: trio.testing.MockClock) -> None:
    first_event = trio.Event()
    errors: list[Exception] = []
    async with httpx2.AsyncClient(timeout=None) as client, trio.open_nursery() as nursery:
        async with FakeProvider(latency=Latency(per_chunk=60)) as fp:

            async def read() -> None:
                try:
                    async with client.stream(
                        "POST",
                        f"{fp.base_url}/v1/chat/completions",
                        headers=OPENAI_AUTH,
                        json=chat("a b c d e", stream=True),
                    ) as response:
                        async for _ in response.aiter_lines():
                            first_event.set()
                except httpx2.TransportError as exc:
                    errors.append(exc)

            nursery.start_soon(read)
            await first_event.wait()
            started = trio.current_time()
        # The provider stopped at once, without waiting for the stream's pauses.
        assert trio.current_time() == started
    assert len(errors) == 1
    assert fp.requests[0].status == 200
    assert fp.stats.succeeded == 0


async def test_caller_exception_is_not_wrapped() -> None:
    with pytest.raises(KeyError):
        async with FakeProvider():
            raise KeyError("mine")


async def test_cancellation_passes_through() -> None:
    with trio.move_on_after(0.01) as scope:
        async with FakeProvider():
            await trio.sleep_forever()
    assert scope.cancelled_caught


async def test_port_is_released_and_instance_not_reentrant() -> None:
    provider = FakeProvider()
    async with provider as fp:
        port = fp.port
        assert fp.base_url == f"http://127.0.0.1:{port}"
        with pytest.raises(ConfigError, match="already running"):
            await provider.__aenter__()
    with pytest.raises(OSError):
        await trio.open_tcp_stream("127.0.0.1", port)


async def test_wait_received(fp: FakeProvider, client: httpx2.AsyncClient) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(
            lambda: client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
        )
        await fp.wait_received(1)
        assert fp.stats.received == 1
    await fp.wait_received(1)  # already reached: returns at once
