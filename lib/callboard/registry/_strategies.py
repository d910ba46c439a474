"""How a Router picks a deployment: the RoutingStrategy protocol and the built-in ones.

A strategy sees the deployments that may take the call now (healthy, not tried yet for
this call) and the call's token estimate, and returns one of them. It must be cheap:
it runs once per attempt, on the caller's task.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from callboard.errors import ConfigError

from ._deployment import Deployment

__all__ = [
    "STRATEGIES",
    "Headroom",
    "LeastBusy",
    "LowestLatency",
    "RoundRobin",
    "RoutingStrategy",
    "Weighted",
    "strategy_named",
]


@runtime_checkable
class RoutingStrategy(Protocol):
    """Pick the deployment for one attempt of a call.

    ``candidates`` is never empty and lists deployments in the Router's order;
    ``tokens`` is the call's token estimate (0 when the model has no token limit).
    """

    name: str

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        """Return one of ``candidates``."""
        ...


class Headroom:
    """The deployment whose admission can start the call soonest.

    Reads each deployment's live admission state (its buckets, learned limits, pause and
    queue) through ``Deployment.start_delay``; a tie goes to the one listed first, so
    the first that can start the call at once takes it without the others being
    weighed. Under load this splits calls in proportion to each deployment's rate.
    """

    name = "headroom"

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        best = candidates[0]
        if len(candidates) == 1:
            return best
        best_key = best.start_delay(tokens)
        for deployment in candidates[1:]:
            if best_key <= 0.0:
                break  # it can start now: none after it can beat that (ties go first)
            key = deployment.start_delay(tokens)
            if key < best_key:
                best, best_key = deployment, key
        return best


class LeastBusy:
    """The deployment with the fewest calls queued and in flight."""

    name = "least_busy"

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        return min(candidates, key=Deployment.busy)


class LowestLatency:
    """The deployment with the lowest latency average (EWMA of its successful calls);
    a deployment with no measurement yet is tried first, so each gets measured."""

    name = "latency"

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        return min(candidates, key=lambda d: (d.latency, d.busy()))


class RoundRobin:
    """Each deployment in turn."""

    name = "round_robin"

    def __init__(self) -> None:
        self._turn = itertools.count()

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        return candidates[next(self._turn) % len(candidates)]


class Weighted:
    """At random, in proportion to each deployment's ``weight``."""

    name = "weighted"

    def __init__(self, *, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def choose(self, candidates: Sequence[Deployment], tokens: int) -> Deployment:
        weights = [d.weight for d in candidates]
        if sum(weights) <= 0:
            return candidates[0]
        return self._random.choices(candidates, weights=weights)[0]


STRATEGIES: dict[str, type[RoutingStrategy]] = {
    cls.name: cls for cls in (Headroom, LeastBusy, LowestLatency, RoundRobin, Weighted)
}


def strategy_named(strategy: str | RoutingStrategy) -> RoutingStrategy:
    """The strategy ``strategy`` names, or ``strategy`` itself when it is one.

    Raises:
        ConfigError: an unknown name, or an object without ``choose``.
    """
    if isinstance(strategy, str):
        cls = STRATEGIES.get(strategy)
        if cls is None:
            raise ConfigError(
                f"unknown routing strategy {strategy!r}; choose one of "
                f"{', '.join(sorted(STRATEGIES))} or pass an object with "
                "choose(candidates, tokens)",
                field="strategy",
            )
        return cls()
    if not callable(getattr(strategy, "choose", None)):
        raise ConfigError(
            f"strategy must be a name ({', '.join(sorted(STRATEGIES))}) or an object with "
            f"choose(candidates, tokens), got {type(strategy).__name__}",
            field="strategy",
        )
    return strategy
