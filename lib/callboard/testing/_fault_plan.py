"""Which fault and how much latency the next request on a route gets."""

from __future__ import annotations

import collections
import random
from collections.abc import Mapping, Sequence

from callboard.errors import ConfigError

from ._faults import Fault, Latency, RouteFaults
from ._routes import ROUTES

__all__ = ["FaultPlan", "check_route"]


def check_route(route: str, name: str) -> None:
    """Refuse a route that is neither a served path nor ``"*"``."""
    if route != "*" and route not in ROUTES:
        raise ConfigError(
            f"FakeProvider {name} {route!r} is not a served path; use '*' or one of "
            f"{sorted(ROUTES)}",
            field=name,
        )


class FaultPlan:
    """Scripted faults first (the route's, then ``"*"``), then seeded random draws.

    Each route draws from its own generator seeded with ``(seed, path)``, so traffic on
    one route does not change the faults another route sees.
    """

    def __init__(self, faults: Mapping[str, RouteFaults], latency: Latency, seed: int) -> None:
        for path in faults:
            check_route(path, "faults")
        self._faults = dict(faults)
        self._latency = latency
        self._seed = seed
        self._rngs: dict[str, random.Random] = {}
        self._scripts: dict[str, collections.deque[Fault | None]] = {}

    def script(self, route: str, faults: Sequence[Fault | None]) -> None:
        check_route(route, "route")
        self._scripts.setdefault(route, collections.deque()).extend(faults)

    def next_fault(self, path: str) -> Fault | None:
        for name in (path, "*"):
            queue = self._scripts.get(name)
            if queue:
                return queue.popleft()
        config = self._config(path)
        return config.draw(self._rng(path)) if config else None

    def delay(self, path: str) -> float:
        """Seconds before the response (or the first streamed event)."""
        return self._route_latency(path).draw(self._rng(path))

    def per_chunk(self, path: str) -> float:
        """Seconds between streamed events."""
        return self._route_latency(path).per_chunk

    def _config(self, path: str) -> RouteFaults | None:
        return self._faults.get(path) or self._faults.get("*")

    def _route_latency(self, path: str) -> Latency:
        config = self._config(path)
        return config.latency if config and config.latency else self._latency

    def _rng(self, path: str) -> random.Random:
        if path not in self._rngs:
            self._rngs[path] = random.Random(f"{self._seed}:{path}")
        return self._rngs[path]
