"""What holds a Calling back before it may start, and what admission learns on the way.

``Admission`` owns the pause, the concurrency slots and the two limiters (each an
[`AdaptiveLimiter`][callboard.AdaptiveLimiter]), offers each step both ways (waiting, for the
actor; without waiting, for the fast path a worker takes) and decides nothing about the
order of queued Callings: the Executor keeps the FIFO and asks. Two things do jump that
queue, because they were admitted before anything still queued: retries of running
calls and calls the provider refused for rate. They pass admission again here, in the
order they were first admitted, before any queued Calling.

It is also where provider feedback lands (``feedback()``,
``refused()``), and what a router asks how soon a call could start
(``estimate_delay()``, ``snapshot()``).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

import attrs
import trio

from callboard.calling import Calling
from callboard.errors import ConfigError
from callboard.limits import (
    AdaptiveLimiter,
    AdmissionPolicy,
    Limiter,
    LimitSnapshot,
    RateLimitState,
    reconcile,
    release,
    reserve,
    try_reserve,
)
from callboard.resilience import ProviderError

from ._learning import Refusal, exhausted_pause, limited_by, quota_gone

__all__ = ["Admission", "AdmissionSnapshot", "is_int", "is_number", "limiter"]


@attrs.frozen(kw_only=True)
class AdmissionSnapshot:
    """An Executor's admission right now: what was configured, what it learned.

    Attributes:
        requests, tokens: each limit's figures (``None``: no such limit).
        paused_until: trio time before which nothing is admitted (``None``: not paused).
        blocked_until: trio time until which the provider last asked to wait, when
            that was beyond ``max_pause`` (calls refused meanwhile fail at once).
        max_pause: the longest pause any header may impose.
        readmitting: refused or retried calls waiting to go again, ahead of the queue.
        refusals: 429s the provider answered so far.
        last_headers: the last rate-limit state a response carried (``None``: none).
        last_headers_at: trio time it arrived.
    """

    requests: LimitSnapshot | None
    tokens: LimitSnapshot | None
    paused_until: float | None
    blocked_until: float | None
    max_pause: float
    readmitting: int
    refusals: int
    last_headers: RateLimitState | None
    last_headers_at: float | None


class Admission:
    """The pause, slots, limiters and readmissions of one Executor.

    ``executor.admission`` is this object. Two of its methods are public API for
    routing: ``estimate_delay()`` (how soon could a call start here) and
    ``snapshot()`` (configured against effective limits, pause, last headers).

    Args:
        requests: the request limiter, or ``None`` for no request limit.
        tokens: the token limiter, or ``None``.
        concurrency_limit: Callings running at once, or ``None``.
        policy: pacing, learning, pause cap and token accounting.
    """

    def __init__(
        self,
        requests: AdaptiveLimiter | None,
        tokens: AdaptiveLimiter | None,
        concurrency_limit: int | None,
        policy: AdmissionPolicy,
    ) -> None:
        self.requests = requests
        self.tokens = tokens
        self.policy = policy
        self.slots = None if concurrency_limit is None else trio.CapacityLimiter(concurrency_limit)
        self._paused_until = -math.inf
        # The trio.run whose clock _paused_until is on: each run's clock has its own origin.
        self._paused_in: trio.lowlevel.TrioToken | None = None
        self._blocked_until = -math.inf
        # Each admitted call's place in the order of first admission (readmissions
        # follow it), until it settles.
        self._order: dict[Calling, int] = {}
        self._seq = 0
        # Refused and retried calls waiting to be admitted again, by first admission.
        self._readmits: list[tuple[int, int, Calling]] = []
        self._counter = 0
        self._turn = trio.Event()
        self._preemptible: set[trio.CancelScope] = set()
        self.refusals = 0
        self.last_headers: RateLimitState | None = None
        self.last_headers_at: float | None = None
        self.queued: Callable[[], tuple[int, int]] = lambda: (0, 0)
        """Callings and their tokens waiting in the queue (the Executor sets this)."""
        self.on_pause: Callable[[float], None] | None = None
        """Told the new end of every pause (the Executor publishes ExecutorPaused)."""

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
        called ``forget_other_runs()`` when it started): the hot path skips the check
        of which run set it."""
        return self._paused_until > now

    def pause(self, seconds: float) -> float | None:
        """Admit nothing for ``seconds`` from now, at most ``policy.max_pause``; extends,
        never shortens, a pause. Returns the new end, or ``None`` when it did not change.
        """
        if not (seconds > 0):
            return None
        until = trio.current_time() + min(seconds, self.policy.max_pause)
        if until <= self.paused_until:
            return None
        self._paused_until = until
        self._paused_in = trio.lowlevel.current_trio_token()
        self._preempt()
        if self.on_pause is not None:
            self.on_pause(until)
        return until

    def forget_other_runs(self) -> None:
        """Drop a pause that was set on another run's clock (called when a run starts)."""
        if self._paused_in is not trio.lowlevel.current_trio_token():
            self._paused_until = -math.inf
            self._blocked_until = -math.inf

    async def wait_unpaused(self) -> None:
        # A pause only ever grows, so re-sleeping to its new end is all a change needs.
        while (until := self.paused_until) > trio.current_time():
            with trio.move_on_at(until):
                await trio.sleep_forever()

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

    @property
    def readmitting(self) -> int:
        """Refused or retried calls waiting to be admitted again, ahead of the queue."""
        return len(self._readmits)

    async def reserve(self, tokens: int, calling: Calling | None = None) -> None:
        """Wait for admission's turn (no pause, no readmission ahead), then take one
        request and ``tokens`` together. On ``Cancelled`` nothing is held.

        A pause that starts, or a readmission that arrives, while this waits sends it
        back to waiting its turn (it took nothing), so neither is ever overtaken.
        """
        while True:
            await self.wait_unpaused()
            while self._readmits:
                turn = self._turn
                await turn.wait()
            if await self._preemptible_reserve(tokens):
                break
        if calling is not None:
            self._held(calling, tokens)

    def try_reserve(self, tokens: int, calling: Calling | None = None) -> bool:
        """Take one request and ``tokens`` now if both are there and nothing waits to be
        admitted again; all or nothing."""
        if self._readmits or not try_reserve(self.requests, self.tokens, tokens):
            return False
        if calling is not None:
            self._held(calling, tokens)
        return True

    async def readmit(self, calling: Calling, tokens: int) -> None:
        """Admit a call that already ran once again (a retry, or a 429), in the order
        calls were first admitted and before anything still queued. On ``Cancelled``
        nothing is held and the call left the line."""
        self._counter += 1
        entry = (self._order.get(calling, self._seq + 1), self._counter, calling)
        heapq.heappush(self._readmits, entry)
        if self._readmits[0] is entry:
            self._preempt()  # whoever is reserving now goes back to waiting its turn
        try:
            while True:
                await self.wait_unpaused()
                while self._readmits[0] is not entry:
                    turn = self._turn
                    await turn.wait()
                if self.paused_until > trio.current_time():
                    continue
                if await self._preemptible_reserve(tokens):
                    break
        finally:
            self._readmits.remove(entry)
            heapq.heapify(self._readmits)
            self._next_turn()
        self._held(calling, tokens)

    def _held(self, calling: Calling, tokens: int) -> None:
        """``calling`` was just granted one request and ``tokens``."""
        if calling not in self._order:
            self._seq += 1
            self._order[calling] = self._seq
        if self.requests is not None:
            self.requests.hold(calling, 1)
        if self.tokens is not None and tokens > 0:
            self.tokens.hold(calling, tokens)

    def _forget(self, calling: Calling) -> None:
        self._order.pop(calling, None)
        for limiter in (self.requests, self.tokens):
            if limiter is not None:
                limiter.unhold(calling)

    async def _preemptible_reserve(self, tokens: int) -> bool:
        """Reserve, unless preempted meanwhile (then nothing is held): True if reserved."""
        scope = trio.CancelScope()
        self._preemptible.add(scope)
        try:
            with scope:
                await reserve(self.requests, self.tokens, tokens)
                return True
        finally:
            self._preemptible.discard(scope)
        return False  # preempted: wait for the turn again

    def _preempt(self) -> None:
        for scope in self._preemptible:
            scope.cancel()
        self._next_turn()

    def _next_turn(self) -> None:
        self._turn.set()
        self._turn = trio.Event()

    def unreserve(self, tokens: int, calling: Calling | None = None) -> None:
        """Give back a reservation that was never used."""
        release(self.requests, self.tokens, tokens)
        if calling is not None:
            self._forget(calling)

    def settle(self, calling: Calling, reserved: int) -> None:
        """Settle the ``reserved`` tokens of a finished call with what the provider
        charged (the token limiter's ``token_accounting``) and forget it."""
        self._forget(calling)
        if self.tokens is not None:
            reconcile(
                self.tokens,
                reserved,
                calling.actual_tokens,
                estimate=calling.estimated_tokens,
                charge=calling.charge,
            )

    def estimate(self, estimate: int) -> int:
        """A token estimate as the token limiter will reserve it (calibrated)."""
        return self.tokens.scale(estimate) if self.tokens is not None else estimate

    # -- feedback -----------------------------------------------------------------------

    def observe(self, state: RateLimitState) -> float | None:
        """A provider's state for no known request: the limiters may only go lower, a
        ``retry_after`` pauses admission (capped). Returns the new end of a pause."""
        self._remember(state)
        for limiter in (self.requests, self.tokens):
            if limiter is not None:
                limiter.feedback(state, since=None)
        return self._pause_for(state)

    def feedback(self, calling: Calling, state: RateLimitState | None, status: int) -> None:
        """A response to ``calling`` arrived with HTTP ``status`` and, when it carried any,
        its rate-limit ``state``. A 2xx counts as clean (the rate may climb); a 429's
        consequences are decided by ``refused()``."""
        requests, tokens = self.requests, self.tokens
        # The request is answered (its grant is no longer in flight) whatever it carried.
        since_requests = requests.answered(calling) if requests is not None else None
        since_tokens = tokens.answered(calling) if tokens is not None else None
        if state is not None:
            self._remember(state)
            if requests is not None:
                requests.feedback(state, since=since_requests)
            if tokens is not None:
                tokens.feedback(state, since=since_tokens)
            self._pause_for(state)
        if 200 <= status < 300:
            if requests is not None:
                requests.accepted(1)
                requests.clean()
            if tokens is not None:
                tokens.accepted(calling.estimated_tokens)
                tokens.clean()

    def refused(self, calling: Calling, error: ProviderError, *, min_wait: float = 0.0) -> Refusal:
        """The provider refused ``calling`` with a 429: cut the limit it hit (unless the
        call was admitted before the last cut of that limit) and say whether the call
        may wait its turn again or fails now; after a ``retry-after`` it waits at least
        ``min_wait``."""
        self.refusals += 1
        now = trio.current_time()
        which = limited_by(error, self.last_headers)
        if quota_gone(error):
            return Refusal(True, 0.0, which, "the provider says the quota is gone")
        asked = error.retry_after
        if asked is not None and asked > self.policy.max_pause:
            self._blocked_until = max(self._blocked_until, now + asked)
            return Refusal(
                True,
                asked,
                which,
                f"the provider asked for a wait of {asked:g} s, beyond the pause cap "
                f"(max_pause={self.policy.max_pause:g} s)",
            )
        for limiter, name in ((self.requests, "requests"), (self.tokens, "tokens")):
            if limiter is not None and which in (name, "both"):
                limiter.refused(calling)
        wait = max(0.0, self.paused_until - now)
        if asked is not None:
            # "retry-after: 0" does not mean "hammer the server": this call waits the
            # floor (the pause for everyone stays what the provider asked).
            wait = max(wait, asked, min_wait)
        if now + wait >= calling.deadline:
            return Refusal(
                True, wait, which, f"the wait of {wait:g} s exceeds the call's remaining time"
            )
        return Refusal(False, wait, which)

    def _remember(self, state: RateLimitState) -> None:
        self.last_headers = state
        self.last_headers_at = trio.current_time()

    def _pause_for(self, state: RateLimitState) -> float | None:
        wait = state.retry_after
        exhausted = exhausted_pause(state)
        if exhausted is not None:
            wait = exhausted if wait is None else max(wait, exhausted)
        if wait is None or wait <= 0:
            return None
        if wait > self.policy.max_pause:
            self._blocked_until = max(self._blocked_until, trio.current_time() + wait)
        return self.pause(wait)

    # -- for a router -------------------------------------------------------------------

    def estimate_delay(self, tokens: int = 0) -> float:
        """Seconds from now until a new call of ``tokens`` estimated tokens could start
        here, for a router choosing the deployment with the most headroom.

        Counts the pause, the calls queued and refused ahead of it, each limiter's
        effective rate and level (the request bucket for one more request, the token
        bucket for ``tokens`` more, both after what is queued) and the token capacity:
        a call larger than the token bucket can never start here (``math.inf``). Cheap
        (no I/O, no waiting); a limiter shared through Redis answers from what this
        process knows. Concurrency slots are not counted (their release depends on the
        provider's latency; see ``Executor.in_flight``).

        Args:
            tokens: the call's token estimate (0: only its request counts).

        Returns:
            Seconds, 0.0 when it could start at once, ``math.inf`` when never.

        Raises:
            ConfigError: ``tokens`` is not an int >= 0.

        Example::

            fastest = min(models, key=lambda m: m.executor.admission.estimate_delay(500))
        """
        if not (is_int(tokens) and tokens >= 0):
            raise ConfigError(f"tokens must be an int >= 0, got {tokens!r}", field="tokens")
        now = trio.current_time()
        wait = max(0.0, self.paused_until - now)
        queued, queued_tokens = self.queued()
        ahead = queued + len(self._readmits)
        if self.requests is not None:
            wait = max(wait, self.requests.delay(1 + ahead))
        if self.tokens is not None and (tokens > 0 or queued_tokens > 0):
            scaled = self.estimate(tokens)
            if scaled > self.tokens.capacity:
                return math.inf
            wait = max(wait, self.tokens.delay(scaled + queued_tokens))
        return wait

    def snapshot(self) -> AdmissionSnapshot:
        """Configured against effective limits, the pause, the last headers, now."""
        now = trio.current_time()
        paused = self.paused_until
        return AdmissionSnapshot(
            requests=self.requests.snapshot() if self.requests is not None else None,
            tokens=self.tokens.snapshot() if self.tokens is not None else None,
            paused_until=paused if paused > now else None,
            blocked_until=self._blocked_until if self._blocked_until > now else None,
            max_pause=self.policy.max_pause,
            readmitting=len(self._readmits),
            refusals=self.refusals,
            last_headers=self.last_headers,
            last_headers_at=self.last_headers_at,
        )


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def limiter(
    limit: float | Limiter | None, period: float, unit: str, policy: AdmissionPolicy
) -> AdaptiveLimiter | None:
    """A limit as given to the Executor (a number per period, a Limiter or ``None``),
    as the adaptive limiter admission uses."""
    if limit is None:
        return None
    if isinstance(limit, Limiter):
        return AdaptiveLimiter.wrap(limit, policy=policy)
    if not (is_number(limit) and 0 < limit < math.inf):
        raise ConfigError(
            f"limit_{unit} must be a positive number per capacity_refresh_time, a Limiter "
            f"or None, got {limit!r}",
            field=f"limit_{unit}",
        )
    return AdaptiveLimiter(
        limit, period, unit="requests" if unit == "requests" else "tokens", policy=policy
    )
