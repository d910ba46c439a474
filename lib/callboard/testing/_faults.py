"""What can go wrong on purpose: latency, injected faults, per-route plans.

Every fault a real provider or the network in front of it produces has a kind here, so a
client's retry, timeout and stream-recovery paths can be tested against a real socket. All
values are frozen and hashable: a ``Fault`` can key a ``rates`` mapping.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping

import attrs

from callboard.errors import ConfigError

__all__ = ["Fault", "FaultKind", "Latency", "RouteFaults"]


class FaultKind(enum.Enum):
    """The kinds of fault the fake provider can inject."""

    ERROR = "error"
    """A JSON error body in the provider's shape with ``status`` (500, 502, 503, 529, ...)."""
    RATE_LIMITED = "rate_limited"
    """A 429 as if the key's bucket were empty (scripted tests of 429 handling)."""
    RESET = "reset"
    """Headers and part of the body are sent, then the TCP connection is reset."""
    STALL = "stall"
    """Nothing is sent until the client gives up (or until ``seconds`` have passed)."""
    MALFORMED_JSON = "malformed_json"
    """Status 200 with a JSON content type and a body that is cut in the middle."""
    HTML_502 = "html_502"
    """A 502 with an HTML page, as a load balancer in front of the API sends."""
    TRUNCATED_SSE = "truncated_sse"
    """A stream whose connection closes before the final events (usage, ``[DONE]``)."""
    SSE_ERROR = "sse_error"
    """A stream that sends an ``error`` event halfway through and ends there."""
    HOSTILE_BODY = "hostile_body"
    """Status 200 whose JSON is nested 1,100 levels deep (2.2 KB that exhaust a recursive
    parser's stack); in a stream, one event halfway through carries it."""


_STREAM_ONLY = frozenset({FaultKind.TRUNCATED_SSE, FaultKind.SSE_ERROR})


def _check_status(_instance: Fault, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 400 <= value <= 599:
        raise ConfigError(f"Fault.status must be an HTTP error status 400..599, got {value}")


@attrs.frozen
class Fault:
    """One injected fault. Build one with the class methods, e.g. ``Fault.error(529)``.

    Args:
        kind: what happens.
        status: the HTTP status for ``ERROR`` faults.
        should_retry: the ``x-should-retry`` header sent with ``ERROR`` faults (``None``
            leaves it out).
        seconds: for ``STALL``, how long to stall before answering normally (``None``
            stalls until the client closes the connection); for ``RATE_LIMITED``, the
            ``retry-after`` it sends (``None``: one second).

    Example::

        fp.script("/v1/chat/completions", [Fault.error(503), None])  # fail once, then ok
    """

    kind: FaultKind
    status: int = attrs.field(default=500, validator=_check_status)
    should_retry: bool | None = True
    seconds: float | None = None

    @classmethod
    def error(cls, status: int = 500, *, should_retry: bool | None = True) -> Fault:
        """An error response in the provider's JSON shape."""
        return cls(FaultKind.ERROR, status=status, should_retry=should_retry)

    @classmethod
    def rate_limited(cls, retry_after: float = 1.0) -> Fault:
        """A 429 with ``retry-after`` headers saying ``retry_after`` seconds (an absurd
        value such as 99999 too), whatever the buckets hold."""
        if not (retry_after >= 0 and math.isfinite(retry_after)):
            raise ConfigError(f"Fault.rate_limited retry_after must be >= 0, got {retry_after!r}")
        return cls(FaultKind.RATE_LIMITED, status=429, seconds=retry_after)

    @classmethod
    def hostile_body(cls) -> Fault:
        """A 200 whose JSON is nested deep enough to exhaust a recursive parser."""
        return cls(FaultKind.HOSTILE_BODY)

    @classmethod
    def reset(cls) -> Fault:
        """Reset the connection after part of the body was sent."""
        return cls(FaultKind.RESET)

    @classmethod
    def stall(cls, seconds: float | None = None) -> Fault:
        """Send nothing until the client gives up, or for ``seconds`` then answer."""
        if seconds is not None and not (seconds >= 0 and math.isfinite(seconds)):
            raise ConfigError(f"Fault.stall seconds must be >= 0 or None, got {seconds!r}")
        return cls(FaultKind.STALL, seconds=seconds)

    @classmethod
    def malformed_json(cls) -> Fault:
        """A 200 whose JSON body is cut short."""
        return cls(FaultKind.MALFORMED_JSON)

    @classmethod
    def html_502(cls) -> Fault:
        """A 502 HTML page, as a proxy in front of the API would send."""
        return cls(FaultKind.HTML_502, status=502)

    @classmethod
    def truncated_sse(cls) -> Fault:
        """Close a stream before its final events."""
        return cls(FaultKind.TRUNCATED_SSE)

    @classmethod
    def sse_error(cls) -> Fault:
        """Send an SSE ``error`` event halfway through a stream."""
        return cls(FaultKind.SSE_ERROR, status=529)

    @property
    def label(self) -> str:
        """A short name for counting: the kind, with the status of an error and the
        wait of a 429 (``"error 503"``, ``"rate_limited 99999s"``, ``"reset"``)."""
        if self.kind is FaultKind.ERROR:
            return f"error {self.status}"
        if self.kind is FaultKind.RATE_LIMITED:
            seconds = self.seconds if self.seconds is not None else 1.0
            return f"rate_limited {seconds:g}s"
        return self.kind.value

    @property
    def stream_only(self) -> bool:
        """Whether the fault only changes streamed responses (ignored for plain JSON)."""
        return self.kind in _STREAM_ONLY


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigError(
            f"Latency.{attribute.name} must be a finite number >= 0, got {value!r}",
            field=attribute.name,
        )


def _check_distribution(_instance: object, _attribute: object, value: str) -> None:
    if value not in ("uniform", "exponential"):
        raise ConfigError(
            f"Latency.distribution must be 'uniform' or 'exponential', got {value!r}",
            field="distribution",
        )


@attrs.frozen
class Latency:
    """How long the server thinks before answering, and between streamed chunks.

    The delay before the response (or before the first streamed event) is ``base`` plus a
    random part: uniform in ``[0, jitter]`` or, with ``distribution="exponential"``,
    exponential with mean ``jitter``. Draws come from the provider's seeded generator.

    Args:
        base: fixed part of the delay, in seconds.
        jitter: scale of the random part, in seconds.
        distribution: ``"uniform"`` or ``"exponential"``.
        per_chunk: pause between streamed events, in seconds.
    """

    base: float = attrs.field(default=0.0, validator=_non_negative)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    distribution: str = attrs.field(default="uniform", validator=_check_distribution)
    per_chunk: float = attrs.field(default=0.0, validator=_non_negative)

    def draw(self, rng: random.Random) -> float:
        """One delay before a response, in seconds."""
        if self.jitter == 0:
            return self.base
        if self.distribution == "exponential":
            return self.base + rng.expovariate(1 / self.jitter)
        return self.base + rng.uniform(0, self.jitter)


def _check_rates(_instance: object, _attribute: object, value: Mapping[Fault, float]) -> None:
    for fault, rate in value.items():
        if not 0 <= rate <= 1:
            raise ConfigError(
                f"RouteFaults.rates[{fault.kind.value}] must be in [0, 1], got {rate!r}",
                field="rates",
            )
    total = sum(value.values())
    if total > 1 + 1e-9:
        raise ConfigError(
            f"RouteFaults.rates must add up to at most 1, got {total:g}", field="rates"
        )


@attrs.frozen
class RouteFaults:
    """The random faults and latency of one route (or of every route, under ``"*"``).

    Args:
        rates: probability of each fault per request; they must add up to at most 1.
        latency: overrides the provider-wide latency on this route.

    Example::

        RouteFaults(rates={Fault.error(529): 0.1, Fault.reset(): 0.05})
    """

    rates: Mapping[Fault, float] = attrs.field(factory=dict[Fault, float], validator=_check_rates)
    latency: Latency | None = None

    def draw(self, rng: random.Random) -> Fault | None:
        """Pick at most one fault for a request."""
        if not self.rates:
            return None
        roll = rng.random()
        for fault, rate in self.rates.items():
            if roll < rate:
                return fault
            roll -= rate
        return None
