"""A token bucket with continuous refill, strict FIFO waiters and provider feedback."""

from __future__ import annotations

import math
from typing import Literal

import trio

from callboard.errors import ConfigError

from ._errors import OversizeRequest
from ._state import RateLimitState
from ._waiters import WaitLine

__all__ = ["TokenBucket"]

# Float refill arithmetic can leave a waiter a hair short of its amount at the very
# instant it was computed to be ready; a relative slack this small keeps it from
# re-sleeping for a zero-length interval (which would spin) and is far below any
# amount a provider counts.
_SLACK = 1e-9


def _finite(value: object) -> bool:
    # Typed as object: callers pass whatever users gave, and bool is not a number here.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class TokenBucket:
    """Admit work at a sustained rate, with bursts up to a capacity, in strict FIFO order.

    The bucket holds up to ``capacity`` tokens and refills continuously at
    ``capacity / refill_period`` tokens a second, the way OpenAI and Anthropic describe
    their own limits ("N per minute" is ``TokenBucket(N, 60)``). It starts full.

    Guarantee (tested exactly): over any window of length ``w`` seconds, the net amount
    taken -- granted by ``acquire()`` and ``try_acquire()``, plus ``debit()``, minus
    ``refund()`` -- is at most ``capacity + capacity * w / refill_period`` whenever the
    level at the window's end is not negative (a ``debit()`` larger than what is left
    puts the bucket into debt, which later grants wait out). Refunds never lift the level
    above ``capacity``. A relative rounding slack of 1e-9 of the amount applies.

    Waiters are served strictly first come, first served whatever their sizes: a large
    request is never starved by small ones and small ones never jump it. The head waiter
    sleeps until exactly the instant its amount will be there (no polling) and is woken
    early only when a refund or a cancellation changes the picture.

    Args:
        capacity: the most the bucket holds, hence the largest single grant and burst.
        refill_period: seconds for an empty bucket to refill completely.
        unit: which part of a [`RateLimitState`][callboard.RateLimitState] ``observe()`` reads:
            ``"requests"`` or ``"tokens"``.

    Raises:
        ConfigError: ``capacity`` or ``refill_period`` is not a positive finite number,
            or ``unit`` is unknown.

    Example:
        >>> async def main():
        ...     bucket = TokenBucket(10, 1.0)       # 10 a second, bursts of 10
        ...     await bucket.acquire(10)            # the initial burst
        ...     start = trio.current_time()
        ...     await bucket.acquire(5)             # waits for half a refill
        ...     return trio.current_time() - start
        >>> round(trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0)), 6)
        0.5
    """

    __slots__ = (
        "_capacity",
        "_level",
        "_paused_until",
        "_rate",
        "_refill_period",
        "_run",
        "_unit",
        "_updated",
        "_waiters",
    )

    def __init__(
        self,
        capacity: float,
        refill_period: float,
        *,
        unit: Literal["requests", "tokens"] = "requests",
    ) -> None:
        if not (_finite(capacity) and capacity > 0):
            raise ConfigError(
                f"capacity must be a positive finite number, got {capacity!r}",
                field="capacity",
            )
        if not (_finite(refill_period) and refill_period > 0):
            raise ConfigError(
                f"refill_period must be a positive finite number of seconds, got {refill_period!r}",
                field="refill_period",
            )
        if unit not in ("requests", "tokens"):
            raise ConfigError(f"unit must be 'requests' or 'tokens', got {unit!r}", field="unit")
        self._capacity = float(capacity)
        self._refill_period = float(refill_period)
        self._rate = self._capacity / self._refill_period
        self._unit: Literal["requests", "tokens"] = unit
        self._level = self._capacity
        self._updated: float | None = None  # set on first use, inside trio.run
        # Times above are on the clock of the trio.run that set them; every run's clock has
        # its own origin, so a bucket reused in a later run must not compare against them.
        self._run: trio.lowlevel.TrioToken | None = None
        self._paused_until = -math.inf
        self._waiters = WaitLine()

    def __repr__(self) -> str:
        return (
            f"TokenBucket(capacity={self._capacity:g}, refill_period={self._refill_period:g}, "
            f"unit={self._unit!r}, waiting={len(self._waiters)})"
        )

    @property
    def capacity(self) -> float:
        """The most the bucket holds and the largest amount one request may ask for."""
        return self._capacity

    @property
    def refill_period(self) -> float:
        """Seconds for an empty bucket to refill completely."""
        return self._refill_period

    @property
    def rate(self) -> float:
        """Sustained refill rate in units per second."""
        return self._rate

    @property
    def unit(self) -> Literal["requests", "tokens"]:
        """Which part of a [`RateLimitState`][callboard.RateLimitState] ``observe()`` reads."""
        return self._unit

    @property
    def available(self) -> float:
        """What could be taken right now (negative while in debt); needs a running trio."""
        self._refill(trio.current_time())
        return self._level

    def delay(self, n: float) -> float:
        """Seconds until the bucket could grant ``n`` at its rate (0.0 when it can now;
        waiters ahead are not counted); needs a running trio."""
        short = n - self.available
        return short / self._rate if short > 0 else 0.0

    @property
    def waiting(self) -> int:
        """How many tasks are queued in ``acquire()``."""
        return len(self._waiters)

    @property
    def paused_until(self) -> float:
        """Trio time before which nothing is granted (``-inf`` when not paused)."""
        return self._paused_until

    async def acquire(self, n: float = 1) -> None:
        """Wait in FIFO order until ``n`` units are available, then take them.

        Cancellation-safe: if this raises ``trio.Cancelled`` nothing was taken and the
        waiters behind it move up.

        Args:
            n: how much to take, ``0 <= n <= capacity``.

        Raises:
            OversizeRequest: at once, when ``n`` exceeds the capacity.
            ConfigError: ``n`` is negative or not finite.
        """
        self._check(n)
        await trio.lowlevel.checkpoint_if_cancelled()
        if not self._waiters and self._take(n, trio.current_time()):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return

        async def attempt() -> float | None:
            now = trio.current_time()
            return None if self._take(n, now) else self._ready_at(n, now)

        await self._waiters.wait(attempt)

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` units if they are there now and nobody is queued ahead; say whether.

        Raises:
            OversizeRequest: ``n`` exceeds the capacity.
            ConfigError: ``n`` is negative or not finite.
        """
        self._check(n)
        return not self._waiters and self._take(n, trio.current_time())

    def refund(self, n: float) -> None:
        """Give back ``n`` units taken but not used; the level never exceeds the capacity.

        Raises:
            ConfigError: ``n`` is negative or not finite.
        """
        self._check_amount(n)
        self._refill(trio.current_time())
        self._level = min(self._capacity, self._level + n)
        self._wake_head()

    def debit(self, n: float) -> None:
        """Charge ``n`` units beyond what was taken; the level may go negative (debt).

        Raises:
            ConfigError: ``n`` is negative or not finite.
        """
        self._check_amount(n)
        self._refill(trio.current_time())
        self._level -= n

    def observe(self, state: RateLimitState) -> None:
        """Lower the bucket to what the provider reports; never raise it.

        The level drops to the provider's ``remaining`` count for this bucket's unit when
        that is lower, and a ``retry_after`` pauses every grant until it has passed. The
        configured refill rate is kept, so configure limits no higher than the
        provider's.
        """
        now = trio.current_time()
        self._refill(now)
        remaining = state.remaining_requests if self._unit == "requests" else state.remaining_tokens
        if remaining is not None:
            self._level = min(self._level, float(remaining))
        if state.retry_after is not None and state.retry_after > 0:
            self._paused_until = max(self._paused_until, now + state.retry_after)
        self._wake_head()

    def _check(self, n: float) -> None:
        self._check_amount(n)
        if n > self._capacity:
            raise OversizeRequest(n, self._capacity)

    @staticmethod
    def _check_amount(n: float) -> None:
        if not (_finite(n) and n >= 0):
            raise ConfigError(
                f"the amount must be a finite number >= 0, got {n!r}",
                field="n",
            )

    def _refill(self, now: float) -> None:
        run = trio.lowlevel.current_trio_token()
        if run is not self._run:
            # First use in this trio.run: forget the previous run's times (its clock had
            # another origin), keep the level -- nothing says how much time went by.
            self._run = run
            self._updated = None
            self._paused_until = -math.inf
        if self._updated is not None and now > self._updated:
            self._level = min(self._capacity, self._level + (now - self._updated) * self._rate)
        if self._updated is None or now > self._updated:
            self._updated = now

    def _take(self, n: float, now: float) -> bool:
        self._refill(now)  # first: it also drops a previous trio.run's pause
        if now < self._paused_until:
            return False
        if self._level + _SLACK * max(n, 1.0) < n:
            return False
        self._level -= n
        return True

    def _ready_at(self, n: float, now: float) -> float:
        # Strictly later than now: a deadline equal to now would wake at once with
        # nothing refilled and spin.
        ready = max(self._paused_until, now + (n - self._level) / self._rate)
        return max(ready, math.nextafter(now, math.inf))

    def _wake_head(self) -> None:
        self._waiters.wake_head()
