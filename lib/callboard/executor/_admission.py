"""What holds a Calling back before it may start: a pause, a concurrency slot, the request
and token limiters.

:class:`Admission` owns these and offers each step both ways: waiting (the actor's path,
every wait cancellable and taking nothing when cancelled) and without waiting (the fast
path a worker takes when capacity frees up). It decides nothing about order; the
Executor keeps the FIFO and asks.
"""

from __future__ import annotations

import math

import trio

from callboard.errors import ConfigError
from callboard.limits import (
    Limiter,
    RateLimitState,
    TokenBucket,
    reconcile,
    release,
    reserve,
    try_reserve,
)

__all__ = ["Admission", "is_int", "is_number", "limiter"]


class Admission:
    """The pause, slots and limiters of one Executor.

    Args:
        requests: the request limiter, or ``None`` for no request limit.
        tokens: the token limiter, or ``None``.
        concurrency_limit: Callings running at once, or ``None``.
    """

    __slots__ = ("_paused_in", "_paused_until", "requests", "slots", "tokens")

    def __init__(
        self, requests: Limiter | None, tokens: Limiter | None, concurrency_limit: int | None
    ) -> None:
        self.requests = requests
        self.tokens = tokens
        self.slots = None if concurrency_limit is None else trio.CapacityLimiter(concurrency_limit)
        self._paused_until = -math.inf
        # The trio.run whose clock _paused_until is on: each run's clock has its own origin.
        self._paused_in: trio.lowlevel.TrioToken | None = None

    # -- the pause ----------------------------------------------------------------------

    @property
    def paused_until(self) -> float:
        """Trio time before which nothing is admitted (``-inf`` when not paused), in the
        current ``trio.run`` (a pause set in another run, on another clock, does not count).
        """
        if self._paused_in is not trio.lowlevel.current_trio_token():
            return -math.inf
        return self._paused_until

    def is_paused(self, now: float) -> bool:
        """True while a pause holds admission back, for the Executor's own run (which
        called :meth:`forget_other_runs` when it started): the hot path skips the check
        of which run set it."""
        return self._paused_until > now

    def pause(self, seconds: float) -> float | None:
        """Admit nothing for ``seconds`` from now; extends, never shortens, a pause.

        Returns the new end of the pause, or ``None`` when it did not change.
        """
        until = trio.current_time() + seconds
        if until <= self.paused_until:
            return None
        self._paused_until = until
        self._paused_in = trio.lowlevel.current_trio_token()
        return until

    def forget_other_runs(self) -> None:
        """Drop a pause that was set on another run's clock (called when a run starts)."""
        if self._paused_in is not trio.lowlevel.current_trio_token():
            self._paused_until = -math.inf

    async def wait_unpaused(self) -> None:
        # A pause only ever grows, so re-sleeping to its new end is all a change needs.
        while (until := self.paused_until) > trio.current_time():
            with trio.move_on_at(until):
                await trio.sleep_forever()

    def observe(self, state: RateLimitState) -> float | None:
        """Feed a provider's rate-limit state to the limiters and honour its retry-after.

        Returns the new end of the pause when it changed.
        """
        for limiter in (self.requests, self.tokens):
            if limiter is not None:
                limiter.observe(state)
        if state.retry_after is not None and state.retry_after > 0:
            return self.pause(state.retry_after)
        return None

    # -- slots ----------------------------------------------------------------------------

    def no_free_slot(self) -> bool:
        return self.slots is not None and self.slots.available_tokens < 1

    async def acquire_slot(self) -> object | None:
        """Wait for a concurrency slot; the borrower to release it with, or ``None`` when
        there is no concurrency limit. On ``Cancelled`` nothing is held."""
        if self.slots is None:
            return None
        borrower = object()
        await self.slots.acquire_on_behalf_of(borrower)
        return borrower

    def try_acquire_slot(self) -> tuple[bool, object | None]:
        """(taken, borrower) without waiting."""
        if self.slots is None:
            return True, None
        borrower = object()
        try:
            self.slots.acquire_on_behalf_of_nowait(borrower)
        except trio.WouldBlock:
            return False, None
        return True, borrower

    def release_slot(self, slot: object | None) -> None:
        if slot is not None and self.slots is not None:
            self.slots.release_on_behalf_of(slot)

    # -- request and token budget -------------------------------------------------------

    def token_capacity(self) -> float:
        return self.tokens.capacity if self.tokens is not None else math.inf

    async def reserve(self, tokens: int) -> None:
        """Take one request and ``tokens`` together; on ``Cancelled`` nothing is held."""
        await reserve(self.requests, self.tokens, tokens)

    def try_reserve(self, tokens: int) -> bool:
        """Take one request and ``tokens`` now if both are there; all or nothing."""
        return try_reserve(self.requests, self.tokens, tokens)

    def unreserve(self, tokens: int) -> None:
        """Give back a reservation that was never used."""
        release(self.requests, self.tokens, tokens)

    def reconcile(self, reserved: int, actual: int | None) -> None:
        """Settle ``reserved`` tokens with the usage the provider reported."""
        reconcile(self.tokens, reserved, actual)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def limiter(limit: float | Limiter | None, period: float, unit: str) -> Limiter | None:
    """A limit as given to the Executor (a number per period, a Limiter or ``None``)."""
    if limit is None:
        return None
    if isinstance(limit, Limiter):
        return limit
    if not (is_number(limit) and 0 < limit < math.inf):
        raise ConfigError(
            f"limit_{unit} must be a positive number per capacity_refresh_time, a Limiter "
            f"or None, got {limit!r}",
            field=f"limit_{unit}",
        )
    return TokenBucket(limit, period, unit="requests" if unit == "requests" else "tokens")
