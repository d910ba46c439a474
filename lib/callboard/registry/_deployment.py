"""One deployment behind a Router: its model, its weight, and what the Router learned of
its health and speed.

Health is a small circuit of the Router's own, on top of the model's: a deployment that
keeps failing retryably, or whose server is gone, cools down (gets no new calls), is
then probed by one call at a time, and comes back on the first success. A connection
failure or a stopped actor tree cools it down at once: a vanished server must not get
new calls within a second of the first sign.
"""

from __future__ import annotations

import math

import trio

from callboard.imodel import iModel

__all__ = ["Deployment"]

# EWMA weight of the newest latency sample.
_ALPHA = 0.2


class Deployment:
    """A model the Router may send calls to.

    Args:
        model: the iModel serving this deployment (its name names the deployment).
        weight: its share for the ``weighted`` strategy.
        cooldown: seconds a failing deployment first rests (doubles while it keeps
            failing, up to ``max_cooldown``).
        max_cooldown: the longest rest.
        failures_to_cool: consecutive retryable failures (other than a connection
            failure or a stopped tree) that cool it down.
    """

    __slots__ = (
        "_cooldown",
        "_failures",
        "_max_cooldown",
        "_probing",
        "_rests",
        "cool_until",
        "failures_to_cool",
        "in_flight",
        "latency",
        "model",
        "served",
        "weight",
    )

    def __init__(
        self,
        model: iModel,
        *,
        weight: float = 1.0,
        cooldown: float = 1.0,
        max_cooldown: float = 30.0,
        failures_to_cool: int = 3,
    ) -> None:
        self.model = model
        self.weight = weight
        self._cooldown = cooldown
        self._max_cooldown = max_cooldown
        self.failures_to_cool = failures_to_cool
        self.in_flight = 0
        self.served = 0
        self.latency = -math.inf  # unmeasured sorts first for the latency strategy
        self.cool_until = -math.inf
        self._failures = 0
        self._rests = 0
        self._probing = False

    @property
    def name(self) -> str:
        return self.model.name

    def __repr__(self) -> str:
        return f"<Deployment {self.name!r} in_flight={self.in_flight} cool={self.cooling()}>"

    # -- what strategies read ----------------------------------------------------------

    def busy(self) -> int:
        """Calls queued at its Executor plus calls in flight through the Router."""
        return self.model.executor.queued + self.in_flight

    def start_delay(self, tokens: int) -> float:
        """Seconds until its admission could start a call of ``tokens``: the Executor's
        own estimate from its live buckets, learned limits, pause and queue, plus the
        calls the Router sent here that have not reached its queue yet."""
        executor = self.model.executor
        admission = executor.admission
        delay = admission.estimate_delay(tokens)
        unqueued = self.in_flight - executor.queued - executor.in_flight
        if unqueued > 0 and admission.requests is not None:
            rate = admission.requests.rate  # the effective rate, no snapshot built
            if rate:  # seconds a second, per call not yet queued
                delay += unqueued / rate
        return delay

    # -- health ------------------------------------------------------------------------

    def cooling(self) -> bool:
        return trio.current_time() < self.cool_until

    def available(self) -> bool:
        """May take a new call now: not cooling down, and not already being probed
        after a rest."""
        if self.cool_until == -math.inf:
            return True
        if trio.current_time() < self.cool_until:
            return False
        return not self._probing

    def begin(self) -> bool:
        """An attempt starts here; True when it is the probe after a rest."""
        self.in_flight += 1
        if self.cool_until != -math.inf and not self._probing:
            self._probing = True
            return True
        return False

    def succeeded(self, seconds: float) -> None:
        self.in_flight -= 1
        self.served += 1
        self.latency = (
            seconds
            if self.latency == -math.inf
            else (_ALPHA * seconds + (1 - _ALPHA) * self.latency)
        )
        self._failures = 0
        self._rests = 0
        self._probing = False
        self.cool_until = -math.inf

    def failed(self, *, at_once: bool, retry_after: float | None = None) -> bool:
        """A retryable failure. ``at_once`` (connection failure, stopped tree) cools it
        down now; otherwise after ``failures_to_cool`` in a row. A probe that fails
        rests it again, longer. Returns True when it started a rest."""
        self.in_flight -= 1
        self._failures += 1
        probe, self._probing = self._probing, False
        if not (at_once or probe or self._failures >= self.failures_to_cool):
            return False
        rest = min(self._cooldown * 2**self._rests, self._max_cooldown)
        if retry_after is not None:
            rest = max(rest, min(retry_after, self._max_cooldown))
        self._rests += 1
        self.cool_until = trio.current_time() + rest
        return True

    def released(self) -> None:
        """An attempt that ended neither as a success nor as this deployment's failure
        (the caller cancelled it, or the request itself was bad)."""
        self.in_flight -= 1
        self._probing = False
