"""The Endpoint as an actor: crashes and restarts, header feedback into the Executor."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest
import trio

from callboard.actors import ChildSpec, Strategy, Supervisor
from callboard.calling import Calling
from callboard.endpoint import (
    EndpointClientOpened,
    EndpointRestarted,
    Transport,
    TransportResponse,
    TransportSettings,
    TransportStream,
    match_endpoint,
    open_transport,
    register_transport,
    unregister_transport,
)
from callboard.executor import Executor
from callboard.providers import ProviderRequest
from callboard.resilience import RetryPolicy
from callboard.testing import FakeProvider, Fault

from .endpoint_rig import CHAT, drain, rig


class Flaky:
    """Wraps the http transport; raises a bug (RuntimeError) on the first 'boom' request."""

    def __init__(self, inner: Transport, tripped: list[bool]) -> None:
        self.inner = inner
        self.tripped = tripped

    async def send(self, request: ProviderRequest) -> TransportResponse:
        assert request.json is not None
        if "boom" in str(request.json["messages"]) and not self.tripped:
            self.tripped.append(True)
            await trio.lowlevel.checkpoint()
            raise RuntimeError("a bug in the transport")
        return await self.inner.send(request)

    def stream(self, request: ProviderRequest) -> AbstractAsyncContextManager[TransportStream]:
        return self.inner.stream(request)


async def test_a_crash_mid_call_restarts_with_a_fresh_client_and_every_call_resolves() -> None:
    opened: list[Flaky] = []
    tripped: list[bool] = []

    @asynccontextmanager
    async def open_flaky(settings: TransportSettings) -> AsyncGenerator[Transport]:
        async with open_transport("http", settings) as inner:
            transport = Flaky(inner, tripped)
            opened.append(transport)
            yield transport

    register_transport("flaky", open_flaky)
    async with contextlib.AsyncExitStack() as cleanup:
        # The registry is process-wide: leave it as this test found it.
        cleanup.callback(unregister_transport, "flaky")
        fp = await cleanup.enter_async_context(FakeProvider())
        endpoint = match_endpoint(
            "openai",
            base_url=f"{fp.base_url}/v1",
            api_key="test-key",
            model="gpt-4o",
            transport="flaky",
            retry=RetryPolicy(max_retries=2, base_delay=0.0),
        )
        executor = Executor(endpoint, concurrency_limit=8)
        endpoint.attach(executor)
        supervisor = Supervisor(
            [ChildSpec("endpoint", endpoint.run), ChildSpec("executor", executor.run)],
            strategy=Strategy.ONE_FOR_ONE,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            fp.script("*", [Fault.stall(), Fault.stall()])  # two calls hang mid-flight
            stalled = [Calling(dict(CHAT)) for _ in range(2)]
            for calling in stalled:
                await executor.submit(calling)
            await fp.wait_received(2)
            assert endpoint.in_flight == 2
            boom = Calling({"messages": [{"role": "user", "content": "boom"}]})
            await executor.submit(boom)
            results = [await calling.wait() for calling in [*stalled, boom]]
            await supervisor.stop()
    assert [r.text.rsplit(": ", 1)[1] for r in results] == ["hello there"] * 2 + ["boom"]
    assert all(c.status.value == "completed" for c in [*stalled, boom])
    assert endpoint.runs == 2
    assert len(opened) == 2  # a fresh client after the restart
    statuses = [request.status for request in fp.requests]
    assert statuses.count(200) == 3  # each call answered exactly once


async def test_a_call_in_flight_when_the_run_is_cancelled_fails_with_the_cause() -> None:
    async with rig(retry=RetryPolicy.disabled(), start_endpoint=False) as r:
        r.fp.script("*", [Fault.stall()])
        async with trio.open_nursery() as nursery:
            await nursery.start(r.endpoint.run)
            calling = Calling(dict(CHAT))
            await r.executor.submit(calling)
            await r.fp.wait_received(1)
            nursery.cancel_scope.cancel()  # the actor's run ends under the call
        with pytest.raises(EndpointRestarted) as caught:
            await calling.wait()
    assert caught.value.calling_id == calling.id
    assert "stopped" in str(caught.value.__cause__)
    assert r.endpoint.in_flight == 0


async def test_header_feedback_slows_the_executor_before_the_provider_says_429(
    autojump_clock: object,
) -> None:
    # The provider allows 6 requests a minute; the executor was told 60.
    fp = FakeProvider(rpm=6)
    options = {"limit_requests": 60, "concurrency_limit": 1}
    async with rig(fp=fp, executor_options=options) as r, r.bus.subscribe() as events:
        callings = [Calling(dict(CHAT)) for _ in range(12)]
        for calling in callings:
            await r.executor.submit(calling)
        for calling in callings:
            await calling.wait()
        opened = [e for e in drain(events) if isinstance(e, EndpointClientOpened)]
    assert fp.stats.rate_limited <= 1
    assert fp.stats.succeeded == 12
    assert opened == []  # no restart happened along the way
    arrivals = [q.arrival for q in fp.requests if q.status == 200]
    # after the provider's initial burst of 6, one request per 10 s (its refill rate)
    gaps = [b - a for a, b in itertools.pairwise(arrivals[6:])]
    assert min(gaps) >= 9.9


async def test_without_feedback_the_same_load_meets_many_429s(autojump_clock: object) -> None:
    fp = FakeProvider(rpm=6)
    options = {"limit_requests": 60, "concurrency_limit": 1}
    async with rig(fp=fp, executor_options=options, retry=RetryPolicy(max_retries=10)) as r:
        r.endpoint.attach(None)
        callings = [Calling(dict(CHAT)) for _ in range(12)]
        for calling in callings:
            await r.executor.submit(calling)
        for calling in callings:
            await calling.wait()
    assert fp.stats.rate_limited > 3
