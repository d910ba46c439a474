"""A FakeProvider, an Endpoint and an Executor wired together, for the endpoint tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio

from callboard.actors import Broadcast, LifecycleEvent, Subscription
from callboard.endpoint import Endpoint, match_endpoint
from callboard.executor import Executor
from callboard.resilience import RetryPolicy
from callboard.testing import FakeProvider

CHAT = {"messages": [{"role": "user", "content": "hello there"}]}
MODELS = {"openai": "gpt-4o", "anthropic": "claude-haiku-4-5"}
ROUTES = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


@attrs.frozen
class Rig:
    fp: FakeProvider
    endpoint: Endpoint
    executor: Executor
    bus: Broadcast[LifecycleEvent]


@asynccontextmanager
async def rig(
    provider: str = "openai",
    *,
    fp: FakeProvider | None = None,
    retry: RetryPolicy | None = None,
    executor_options: dict[str, Any] | None = None,
    start_endpoint: bool = True,
    **endpoint_options: Any,
) -> AsyncGenerator[Rig]:
    """Serve a fake provider, start an Endpoint (client timeout None: MockClock-safe)
    and an Executor in front of it; stop both at the end."""
    async with fp or FakeProvider() as server:
        bus: Broadcast[LifecycleEvent] = Broadcast()
        endpoint_options.setdefault("timeout", None)
        endpoint = match_endpoint(
            provider,
            "chat",
            base_url=f"{server.base_url}/v1",
            api_key="test-key",
            model=MODELS.get(provider, "gpt-4o"),
            retry=retry or RetryPolicy(max_retries=2, base_delay=0.5, jitter="none"),
            broadcast=bus,
            **endpoint_options,
        )
        executor = Executor(endpoint, broadcast=bus, **(executor_options or {}))
        endpoint.attach(executor)
        async with trio.open_nursery() as nursery:
            if start_endpoint:
                await nursery.start(endpoint.run)
            await nursery.start(executor.run)
            yield Rig(server, endpoint, executor, bus)
            executor.ref.stop()
            await executor.ref.wait_stopped()
            endpoint.ref.stop()


def drain(subscription: Subscription[LifecycleEvent]) -> list[LifecycleEvent]:
    """Every event buffered in ``subscription`` right now."""
    events: list[LifecycleEvent] = []
    while True:
        try:
            events.append(subscription.receive_nowait())
        except trio.WouldBlock:
            return events
