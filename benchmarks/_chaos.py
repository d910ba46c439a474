"""The soak's adversaries: a fake provider subprocess injecting faults, and a transport
that crashes its Endpoint actor on demand.

The fake provider runs in its own process (``callboard fake-provider``) so the soak's
memory figures measure the client alone (the server keeps a log of every request) and
the two sides use both cores.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import AsyncGenerator, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

import trio

from benchmarks._process import fake_provider
from callboard.endpoint import (
    Transport,
    TransportResponse,
    TransportSettings,
    TransportStream,
    open_transport,
    register_transport,
    unregister_transport,
)
from callboard.providers import ProviderRequest

__all__ = ["FAULT_MIX", "HOSTILE_MIX", "Chaos", "ChaosCrash", "fake_provider_process"]

FAULT_MIX: dict[str, float] = {
    "500": 0.015,
    "503": 0.015,
    "529": 0.02,
    "429": 0.01,
    "reset": 0.02,
    "stall": 0.01,
    "truncated_sse": 0.01,
}
"""Fault kind → share of requests, 10% in all (truncated streams hit streamed calls)."""

HOSTILE_MIX: dict[str, float] = {"hostile_body": 0.01, "retry_after_absurd": 0.002}
"""What a hostile provider adds on top: 1% replies whose JSON is nested 1,100 levels deep
(in a stream, one event), and 0.2% 429s asking for a wait of 99,999 s."""

_FAULTS_LINE = "fake provider faults: "


@contextmanager
def fake_provider_process(
    keys: Sequence[str],
    *,
    scale: float,
    hostile_scale: float = 0.0,
    latency: float,
    jitter: float,
    seed: int,
    injected: Counter[str] | None = None,
) -> Iterator[str]:
    """Serve ``callboard fake-provider`` with the fault mix scaled by ``scale`` (1.0 =
    10% faults) and the hostile mix by ``hostile_scale``; yields its base URL and stops
    it on exit, then counts into ``injected`` the faults the provider says it sent."""
    command = ["--latency", str(latency), "--jitter", str(jitter), "--seed", str(seed)]
    for key in keys:
        command += ["--key", key]
    mix = [(kind, rate * scale) for kind, rate in FAULT_MIX.items()]
    mix += [(kind, rate * hostile_scale) for kind, rate in HOSTILE_MIX.items()]
    for kind, rate in mix:
        if rate > 0:
            command += ["--fault", f"{kind}={rate:.6f}"]

    def count(out: str) -> None:
        for line in out.splitlines():
            if injected is not None and line.startswith(_FAULTS_LINE):
                injected.update(json.loads(line.removeprefix(_FAULTS_LINE)))

    with fake_provider(command, on_stop=count) as url:
        yield url


class ChaosCrash(RuntimeError):
    """A bug planted in a transport: the Endpoint actor using it crashes."""


class _ChaosTransport:
    def __init__(self, inner: Transport, chaos: Chaos, key: str) -> None:
        self.inner = inner
        self.chaos = chaos
        self.key = key

    def _maybe_crash(self) -> None:
        if self.chaos.armed.pop(self.key, False):
            self.chaos.fired += 1
            self.chaos.last_crash[self.key] = trio.current_time()
            raise ChaosCrash(f"chaos: crash planted in the transport of {self.key}")

    async def send(self, request: ProviderRequest) -> TransportResponse:
        self._maybe_crash()
        return await self.inner.send(request)

    def stream(self, request: ProviderRequest) -> AbstractAsyncContextManager[TransportStream]:
        self._maybe_crash()
        return self.inner.stream(request)


class Chaos:
    """Crashes Endpoint actors at random, never one model faster than its supervisor
    allows (``cooldown`` seconds between two crashes of one model).

    Each model uses its own API key; the ``"soak-chaos"`` transport knows its key, so
    arming a key makes that model's next request raise :class:`ChaosCrash` inside its
    Endpoint, which crashes the actor (its supervisor restarts it with a fresh client).
    """

    TRANSPORT = "soak-chaos"

    def __init__(self, keys: Sequence[str], *, interval: float, cooldown: float) -> None:
        self.keys = list(keys)
        self.interval = interval
        self.cooldown = cooldown
        self.armed: dict[str, bool] = {}
        self.fired = 0
        self.armings = 0
        self.last_crash: dict[str, float] = {}
        """Trio time of each key's last crash: the cooldown counts from the crash, not
        from the arming (an armed key fires only with its model's next request)."""
        register_transport(self.TRANSPORT, self._open)

    def close(self) -> None:
        """Unregister the chaos transport (it is process-wide)."""
        unregister_transport(self.TRANSPORT)

    @asynccontextmanager
    async def _open(self, settings: TransportSettings) -> AsyncGenerator[Transport]:
        key = settings.api_key.reveal() if settings.api_key is not None else ""
        async with open_transport("http", settings) as inner:
            yield _ChaosTransport(inner, self, key)

    async def run(self, seed: int) -> None:
        """Arm one random model every ``interval`` seconds until cancelled."""
        rng = random.Random(seed)
        while True:
            await trio.sleep(self.interval)
            now = trio.current_time()
            ready = [
                key
                for key in self.keys
                if not self.armed.get(key)
                and now - self.last_crash.get(key, -math.inf) >= self.cooldown
            ]
            if ready:
                key = rng.choice(ready)
                self.armed[key] = True
                self.armings += 1
