"""The pacing half of an AdaptiveLimiter: a configured limit and an effective bucket,
taken at the same instant.

Every grant takes from two buckets: the *ceiling*, the limit as configured (a
``TokenBucket``, a ``RedisLimiter``, any ``Limiter``), and a local
*effective* bucket with its own rate and burst. The ceiling guarantees that admitted work
never exceeds the configured limit over any window; the effective bucket paces below it.
Waiters are served in FIFO order; the head waits for the effective bucket, then takes
the ceiling without waiting, or waits for the ceiling holding nothing here and checks
the effective bucket again (so neither bucket refills behind a waiter's back).

A request larger than the effective bucket is admitted when the bucket is full and
leaves it in debt, so any request the ceiling can hold is eventually admitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import trio

from callboard.errors import ConfigError

from ._controller import RateController
from ._errors import OversizeRequest
from ._policy import SMOOTH_MARGIN, AdmissionPolicy
from ._protocol import Limiter
from ._waiters import WaitLine

__all__ = ["PacedLimiter"]

_SLACK = 1e-9
# How fast the typical grant size (the margin kept in the provider's bucket) follows.
_TYPICAL = 0.1


class PacedLimiter:
    """A configured limit (the ceiling) taken together with an effective bucket whose
    rate a ``RateController`` sets; ``AdaptiveLimiter`` adds the learning."""

    _controller: RateController | None

    def _setup_pacing(self, ceiling: Limiter, policy: AdmissionPolicy, *, own: bool) -> None:
        if not isinstance(policy, AdmissionPolicy):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError("policy must be an AdmissionPolicy", field="policy")
        self._ceiling = ceiling
        self._own = own
        self.policy = policy
        self.unit: Literal["requests", "tokens"] = (
            "tokens" if getattr(ceiling, "unit", "requests") == "tokens" else "requests"
        )
        capacity = float(ceiling.capacity)
        period = getattr(ceiling, "refill_period", None)
        rate = capacity / period if isinstance(period, int | float) and period > 0 else None
        if rate is not None and not math.isfinite(rate):
            rate = None
        self._rate_configured = rate
        self._controller = (
            RateController(rate, policy) if rate is not None and policy.learn else None
        )
        self.pacing: Literal["smooth", "burst"] = policy.pacing or ("smooth" if own else "burst")
        if rate is None:
            self._burst0 = math.inf
        elif self.pacing == "burst":
            self._burst0 = capacity
        else:
            self._burst0 = max(1.0, min(capacity, rate * policy.burst * (1.0 - SMOOTH_MARGIN)))
        self._level = self._burst0 if math.isfinite(self._burst0) else 0.0
        self._updated: float | None = None
        self._run: trio.lowlevel.TrioToken | None = None
        self._paused_until = -math.inf
        self._waiters = WaitLine()
        self._taken = 0.0
        self._typical = 1.0
        # What the bucket refilled before the provider first answered (``None``: it has,
        # or nobody will tell): the provider's own bucket only starts when the first
        # request arrives, so that refill may be ahead of it.
        self._early: float | None = None

    @property
    def ceiling(self) -> Limiter:
        """The configured limit underneath (a TokenBucket for numbers)."""
        return self._ceiling

    @property
    def capacity(self) -> float:
        """The configured capacity: the most one request may ask for."""
        return self._ceiling.capacity

    @property
    def rate(self) -> float | None:
        """The effective rate in units a second (``None``: not paced)."""
        if self._controller is not None:
            return self._controller.rate
        return self._rate_configured

    @property
    def burst(self) -> float:
        """The effective bucket's size (``inf``: not paced)."""
        rate, configured = self.rate, self._rate_configured
        if rate is None or configured is None or not math.isfinite(self._burst0):
            return self._burst0
        return max(1.0, self._burst0 * rate / configured)

    @property
    def taken(self) -> float:
        """Units granted so far (never decreases; for counting what was admitted since)."""
        return self._taken

    @property
    def typical(self) -> float:
        """A running average of the amounts granted."""
        return self._typical

    @property
    def waiting(self) -> int:
        """How many tasks are queued in ``acquire()``."""
        return len(self._waiters)

    @property
    def paused_until(self) -> float:
        """Trio time before which nothing is granted (``-inf`` when not paused)."""
        return self._paused_until

    @property
    def available(self) -> float:
        """What the effective bucket could grant now (needs a running trio)."""
        self._refill(trio.current_time())
        return self._level

    async def acquire(self, n: float = 1) -> None:
        """Wait in FIFO order until both the effective bucket and the ceiling can grant
        ``n``, then take it from both. On ``Cancelled`` nothing was taken.

        Raises:
            OversizeRequest: at once, when ``n`` exceeds the configured capacity.
            ConfigError: ``n`` is negative or not finite.
        """
        if not self._waiters and self.try_acquire(n):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        await trio.lowlevel.checkpoint_if_cancelled()

        async def attempt() -> float | None:
            now = trio.current_time()
            if not self._ready(n, now):
                return self._ready_at(n, now)
            if self._ceiling.try_acquire(n):
                self._take(n)
                return None
            # The ceiling is short: wait for it holding nothing here, then look again.
            await self._ceiling.acquire(n)
            if self._ready(n, trio.current_time()):
                self._take(n)
                return None
            self._ceiling.refund(n)
            return -math.inf  # try again at once

        await self._waiters.wait(attempt)

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` now if both buckets can grant it and nobody is queued ahead.

        Raises:
            OversizeRequest: ``n`` exceeds the configured capacity.
            ConfigError: ``n`` is negative or not finite.
        """
        if self._waiters or not self._ready(n, trio.current_time()):
            self._check(n)
            return False
        if not self._ceiling.try_acquire(n):
            return False
        self._take(n)
        return True

    def refund(self, n: float) -> None:
        """Give back ``n`` units taken but not used, to both buckets."""
        self._ceiling.refund(n)
        self._refill(trio.current_time())
        self._level = min(self.burst, self._level + n)
        self._wake_head()

    def debit(self, n: float) -> None:
        """Charge ``n`` units beyond what was taken, to both buckets (debt allowed)."""
        self._ceiling.debit(n)
        self._refill(trio.current_time())
        self._level -= n

    def pause(self, seconds: float) -> float:
        """Grant nothing for ``seconds`` (at most ``policy.max_pause``); returns the end."""
        now = trio.current_time()
        self._refill(now)
        until = now + min(seconds, self.policy.max_pause)
        if until > self._paused_until:
            self._paused_until = until
            self._wake_head()
        return self._paused_until

    def delay(self, n: float) -> float:
        """Seconds from now until ``n`` units could be granted, waiters aside (for a
        router choosing the deployment that can start a call soonest). ``n`` may exceed
        the burst: it is then the time for the rate to supply it."""
        now = trio.current_time()
        self._refill(now)
        wait = max(0.0, self._paused_until - now)
        rate = self.rate
        if rate is not None and n > self._level:
            wait = max(wait, (n - self._level) / rate)
        # A ceiling that can tell how long it would hold ``n`` (a TokenBucket; a
        # RedisLimiter, from what every process took as last heard) says so.
        delay: Callable[[float], float] | None = getattr(self._ceiling, "delay", None)
        if delay is not None:
            wait = max(wait, delay(n))
        return wait

    def _check(self, n: float) -> None:
        if not (
            isinstance(n, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
            and not isinstance(n, bool)
            and math.isfinite(n)
            and n >= 0
        ):
            raise ConfigError(f"the amount must be a finite number >= 0, got {n!r}", field="n")
        if n > self._ceiling.capacity:
            raise OversizeRequest(n, self._ceiling.capacity)

    def _refill(self, now: float) -> None:
        run = trio.lowlevel.current_trio_token()
        if run is not self._run:
            # A new trio.run: its clock has another origin; forget this run's times.
            self._run = run
            self._updated = None
            self._paused_until = -math.inf
        rate = self.rate
        if self._updated is not None and now > self._updated and rate is not None:
            before = self._level
            self._level = min(self.burst, self._level + (now - self._updated) * rate)
            if self._early is not None:
                self._early += self._level - before
        if self._updated is None or now > self._updated:
            self._updated = now

    def _ready(self, n: float, now: float) -> bool:
        self._check(n)
        self._refill(now)
        if now < self._paused_until:
            return False
        if self.rate is None:
            return True
        need = min(n, self.burst)
        return self._level + _SLACK * max(need, 1.0) >= need

    def _ready_at(self, n: float, now: float) -> float:
        ready = self._paused_until
        rate = self.rate
        if rate is not None:
            need = min(n, self.burst)
            ready = max(ready, now + (need - self._level) / rate)
        return max(ready, math.nextafter(now, math.inf))

    def _take(self, n: float) -> None:
        self._level -= n
        self._taken += n
        self._typical += _TYPICAL * (n - self._typical)

    def _wake_head(self) -> None:
        self._waiters.wake_head()
