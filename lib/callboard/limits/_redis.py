"""A limiter shared by processes and machines: a GCRA bucket in Redis, one Lua script."""

from __future__ import annotations

import math
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import trio

from callboard.actors import Broadcast, LifecycleEvent
from callboard.errors import ConfigError

from ._bucket import TokenBucket
from ._errors import LimitsError, OversizeRequest
from ._redis_outage import Outage, RedisLimiterDown, RedisLimiterRecovered, RedisUnavailable
from ._state import RateLimitState
from ._waiters import WaitLine

if TYPE_CHECKING:
    import coredis

__all__ = ["RedisLimiter"]

SCRIPT = resources.files("callboard.limits").joinpath("_redis_script.lua").read_text()

# Rounding dust: a waiter computed ready must not fall short by a hair and re-sleep zero.
_SLACK = 1e-9
# The shortest local sleep between two script calls, so a wait rounded to zero cannot spin.
_MIN_WAIT = 1e-4


def _positive(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


class RedisLimiter:
    """One rate limit shared by every process that names the same Redis ``key``.

    The bucket is GCRA state in Redis (one theoretical arrival time, plus a pause for a
    provider's retry-after), read and updated atomically by one Lua script that takes its
    time from Redis ``TIME``: client clocks never matter and N processes together admit
    what one ``TokenBucket`` of the same ``capacity`` and ``refill_period`` would.
    The script runs by ``EVALSHA`` and is loaded again when Redis answers ``NOSCRIPT``
    (after a restart or ``SCRIPT FLUSH``).

    Within a process, waiters queue FIFO in front of the script: only the head asks
    Redis, and it sleeps locally on the Trio clock for the wait Redis returns.

    ``refund()``, ``debit()`` and ``observe()`` are synchronous (the Executor calls
    them from synchronous code), so they are recorded locally and sent with the next
    script call, or by ``flush()``. Refunded units stay usable in this process until
    then (``try_acquire()`` can only grant those: it cannot wait for Redis), so a
    process holds back at most what it was refunded since its last call to Redis.

    A Redis outage follows ``on_outage``: ``"fail"`` (the default) raises
    ``RedisUnavailable``; ``"fallback"`` admits on a local ``TokenBucket`` of
    ``capacity / fallback_share`` (give the number of processes sharing the limit), so N
    processes together stay within the limit. Either way ``RedisLimiterDown`` and
    ``RedisLimiterRecovered`` are published on ``broadcast``, and Redis is tried
    again at most every ``probe_interval`` seconds.

    Args:
        client: an open ``coredis.Redis`` client (``async with client: ...``).
        key: the Redis key of the bucket; every process sharing the limit uses the same.
        capacity: the most the bucket holds, hence the largest single grant and burst.
        refill_period: seconds for an empty bucket to refill completely.
        unit: which part of a [`RateLimitState`][callboard.RateLimitState] ``observe()`` reads.
        on_outage: ``"fail"`` (fail closed) or ``"fallback"`` (local bucket).
        fallback_share: how many processes share the limit; the fallback bucket holds
            ``capacity / fallback_share``.
        broadcast: where outage and recovery events go (optional).
        timeout: seconds one script call may take before Redis counts as down.
        probe_interval: seconds between attempts to reach Redis while it is down.

    Raises:
        ConfigError: a number is not positive and finite, ``key`` is empty, or
            ``unit`` or ``on_outage`` is unknown.

    Example:
        A fragment: it needs a running redis-server, and ``backend`` is yours::

            async with coredis.Redis(host="127.0.0.1", port=6379) as client:
                requests = RedisLimiter(client, "openai:gpt-4o:rpm", 500, 60)
                tokens = RedisLimiter(client, "openai:gpt-4o:tpm", 30_000, 60, unit="tokens")
                executor = Executor(backend, limit_requests=requests, limit_tokens=tokens)
    """

    def __init__(
        self,
        client: coredis.Redis[Any],
        key: str,
        capacity: float,
        refill_period: float,
        *,
        unit: Literal["requests", "tokens"] = "requests",
        on_outage: Literal["fail", "fallback"] = "fail",
        fallback_share: int = 1,
        broadcast: Broadcast[LifecycleEvent] | None = None,
        timeout: float = 1.0,
        probe_interval: float = 1.0,
    ) -> None:
        if not (isinstance(key, str) and key):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(f"key must be a non-empty string, got {key!r}", field="key")
        for field, value in (
            ("capacity", capacity),
            ("refill_period", refill_period),
            ("timeout", timeout),
            ("probe_interval", probe_interval),
        ):
            if not _positive(value):
                raise ConfigError(
                    f"{field} must be a positive finite number, got {value!r}", field=field
                )
        if unit not in ("requests", "tokens"):
            raise ConfigError(f"unit must be 'requests' or 'tokens', got {unit!r}", field="unit")
        if on_outage not in ("fail", "fallback"):
            raise ConfigError(
                f"on_outage must be 'fail' or 'fallback', got {on_outage!r}", field="on_outage"
            )
        if not (isinstance(fallback_share, int) and fallback_share >= 1):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                f"fallback_share must be the number of processes sharing the limit (>= 1), "
                f"got {fallback_share!r}",
                field="fallback_share",
            )
        self._client = client
        self._key = key
        self._capacity = float(capacity)
        self._period = float(refill_period)
        self._unit: Literal["requests", "tokens"] = unit
        self._policy: Literal["fail", "fallback"] = on_outage
        self._fallback = (
            TokenBucket(self._capacity / fallback_share, self._period, unit=unit)
            if on_outage == "fallback"
            else None
        )
        self._broadcast = broadcast
        self._timeout = float(timeout)
        self._probe_interval = float(probe_interval)
        self._waiters = WaitLine()
        # Adjustments not yet sent to Redis.
        self._credit = 0.0
        self._debt = 0.0
        self._remaining: float | None = None
        self._retry_after = 0.0
        # The share of the configured rate every process on the key admits at (learned
        # from the provider), its epoch (cuts so far), and a proposal not yet sent.
        self._share = 1.0
        self._epoch = 0
        self._proposal: tuple[float, int] | None = None  # (share, 1 cut | 2 raise)
        self._sha: str | None = None
        self._script_loads = 0
        self._down_since: float | None = None
        self._down_error = ""
        self._next_probe = -math.inf
        # The shared bucket as Redis last told this process: (trio run, when, level,
        # no grant before); every process's takes show in it.
        self._heard: tuple[object, float, float, float] | None = None

    def __repr__(self) -> str:
        return (
            f"RedisLimiter(key={self._key!r}, capacity={self._capacity:g}, "
            f"refill_period={self._period:g}, unit={self._unit!r}, "
            f"on_outage={self._policy!r}, waiting={len(self._waiters)})"
        )

    @property
    def key(self) -> str:
        """The Redis key of the bucket."""
        return self._key

    @property
    def capacity(self) -> float:
        """The most the bucket holds and the largest amount one request may ask for."""
        return self._capacity

    @property
    def refill_period(self) -> float:
        """Seconds for an empty bucket to refill completely."""
        return self._period

    @property
    def unit(self) -> Literal["requests", "tokens"]:
        """Which part of a [`RateLimitState`][callboard.RateLimitState] ``observe()`` reads."""
        return self._unit

    @property
    def waiting(self) -> int:
        """How many tasks of this process are queued in ``acquire()``."""
        return len(self._waiters)

    @property
    def down(self) -> bool:
        """True while the last attempt to reach Redis failed."""
        return self._down_since is not None

    @property
    def shared_share(self) -> float:
        """The share of the configured rate the processes on this key admit at, as of the
        last script call (1.0 until a process learned the provider allows less)."""
        return self._share

    @property
    def shared_epoch(self) -> int:
        """How often a process on this key cut the shared rate, as of the last call."""
        return self._epoch

    def share_cut(self, share: float) -> None:
        """Lower the rate every process on the key admits at to ``share`` of the
        configured one (sent with the next script call; a lower share wins)."""
        if 0 < share < 1 and (
            self._proposal is None or self._proposal[1] != 1 or share < self._proposal[0]
        ):
            self._proposal = (share, 1)

    def share_raise(self, share: float) -> None:
        """Raise the shared rate to ``share`` of the configured one, unless some process
        cut it since this one last heard (a cut always wins)."""
        if share > 0 and self._proposal is None:
            self._proposal = (min(1.0, share), 2)

    @property
    def script_loads(self) -> int:
        """How often this limiter loaded its script into Redis (first use, ``NOSCRIPT``)."""
        return self._script_loads

    # -- the Limiter protocol -----------------------------------------------------------

    async def acquire(self, n: float = 1) -> None:
        """Wait in FIFO order (within this process) until Redis grants ``n``, then take it.

        Cancellation-safe: if this raises ``trio.Cancelled`` nothing was taken. A script
        call in flight is shielded (bounded by ``timeout``) so its grant is never lost.

        Raises:
            OversizeRequest: at once, when ``n`` exceeds the capacity.
            RedisUnavailable: Redis is down and ``on_outage="fail"``.
            ConfigError: ``n`` is negative or not finite.
        """
        self._check(n)
        await trio.lowlevel.checkpoint_if_cancelled()
        await self._waiters.wait(lambda: self._attempt(n))

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` without waiting if this process holds that much refunded credit.

        A synchronous call cannot ask Redis, so only units refunded here since the last
        script call (or the fallback bucket, during an outage) can be granted.

        Raises:
            OversizeRequest: ``n`` exceeds the capacity.
            ConfigError: ``n`` is negative or not finite.
        """
        self._check(n)
        if self._waiters:
            return False
        if self._take_credit(n):
            return True
        if self._fallback is not None and self.down:
            return self._fallback.try_acquire(n)
        return False

    def refund(self, n: float) -> None:
        """Give back ``n`` units; usable here at once, returned to Redis on the next call.

        Raises:
            ConfigError: ``n`` is negative or not finite.
        """
        self._check_amount(n)
        if self._fallback is not None and self.down:
            self._fallback.refund(n)
        else:
            self._credit += n
        self._wake_head()

    def debit(self, n: float) -> None:
        """Charge ``n`` more units: from local credit first, the rest on the next call.

        Raises:
            ConfigError: ``n`` is negative or not finite.
        """
        self._check_amount(n)
        if self._fallback is not None and self.down:
            self._fallback.debit(n)
            return
        covered = min(self._credit, n)
        self._credit -= covered
        self._debt += n - covered

    def observe(self, state: RateLimitState) -> None:
        """Lower the shared bucket to what the provider reports (sent on the next call).

        A reported ``remaining`` caps the shared level and a ``retry_after`` pauses every
        process sharing the key; neither ever raises what is available.
        """
        remaining = state.remaining_requests if self._unit == "requests" else state.remaining_tokens
        if remaining is not None:
            low = float(remaining)
            self._remaining = low if self._remaining is None else min(self._remaining, low)
        if state.retry_after is not None and state.retry_after > 0:
            self._retry_after = max(self._retry_after, state.retry_after)
        if self._fallback is not None:
            self._fallback.observe(state)

    def delay(self, n: float) -> float:
        """Seconds until the shared bucket could grant ``n``, from what Redis said at this
        process's last script call (every ``acquire`` that asked it, every ``flush``):
        what other processes took shows, as of then; refills since are counted, takes
        since are not. 0.0 before this process first heard from Redis."""
        heard = self._heard
        if heard is None or heard[0] is not trio.lowlevel.current_trio_token():
            return 0.0
        _, at, level, no_grant_before = heard
        now = trio.current_time()
        rate = self._capacity * self._share / self._period
        level = min(self._capacity * self._share, level + (now - at) * rate) + self._credit
        return max(0.0, no_grant_before - now, (n - level) / rate)

    async def flush(self) -> float:
        """Send pending refunds, debits and provider feedback to Redis now.

        Returns the shared bucket's level afterwards (negative while in debt).

        Raises:
            RedisUnavailable: Redis cannot be reached (whatever the outage policy: there
                is no shared level to report).
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            _, _, level = await self._call(-1)
        except Outage as outage:
            self._went_down(outage.error)
            raise RedisUnavailable(self._key, outage.error) from None
        self._came_back()
        return level

    # -- one attempt of the head waiter -------------------------------------------------

    async def _attempt(self, n: float) -> float | None:
        """Try to take ``n``; ``None`` when taken, else the Trio time to try again."""
        if self._take_credit(n):
            await trio.lowlevel.cancel_shielded_checkpoint()
            return None
        now = trio.current_time()
        if self.down and now < self._next_probe:
            return await self._degraded(n, self._down_error)
        try:
            granted, wait, _ = await self._call(n)
        except Outage as outage:
            self._went_down(outage.error)
            return await self._degraded(n, outage.error)
        self._came_back()
        if granted:
            return None
        return trio.current_time() + max(wait, _MIN_WAIT)

    async def _degraded(self, n: float, error: str) -> None:
        if self._fallback is None:
            raise RedisUnavailable(self._key, error)
        await self._fallback.acquire(n)

    def _take_credit(self, n: float) -> bool:
        if self._credit + _SLACK * max(n, 1.0) < n:
            return False
        self._credit = max(0.0, self._credit - n)
        return True

    # -- Redis --------------------------------------------------------------------------

    async def _call(self, take: float) -> tuple[bool, float, float]:
        """Run the script once with every pending adjustment; raise Outage if Redis is down."""
        import coredis.exceptions

        refund, debt = self._credit, self._debt
        remaining, retry_after = self._remaining, self._retry_after
        proposal = self._proposal
        self._credit = self._debt = self._retry_after = 0.0
        self._remaining = None
        self._proposal = None
        args: list[float] = [
            self._capacity,
            self._period,
            take,
            refund,
            debt,
            -1.0 if remaining is None else remaining,
            retry_after,
            -1.0 if proposal is None else proposal[0],
            0 if proposal is None else proposal[1],
            self._epoch,
        ]
        try:
            # Shielded: once sent, the script may have granted; its answer must be read.
            with trio.CancelScope(shield=True), trio.fail_after(self._timeout):
                reply = await self._eval(args)
                self._share, self._epoch = float(reply[3]), int(reply[4])
                granted, wait, level = int(reply[0]) == 1, float(reply[1]), float(reply[2])
                now = trio.current_time()
                run = trio.lowlevel.current_trio_token()
                self._heard = (run, now, level, now + wait if take >= 0 and not granted else now)
                return granted, wait, level
        except (coredis.exceptions.RedisError, OSError, trio.TooSlowError) as exc:
            # The script may or may not have run. Keep what errs on the safe side if it
            # did: charges and feedback are kept for the next call, refunds are dropped.
            self._debt += debt
            self._retry_after = max(self._retry_after, retry_after)
            if proposal is not None and proposal[1] == 1:
                self.share_cut(proposal[0])  # a cut errs on the safe side: keep it
            if remaining is not None and (self._remaining is None or remaining < self._remaining):
                self._remaining = remaining
            raise Outage(type(exc).__name__) from None
        raise AssertionError("unreachable: the shielded call returns or raises")

    async def _eval(self, args: list[float]) -> list[Any]:
        import coredis.exceptions

        keys = [self._key]
        values = [repr(a) for a in args]
        if self._sha is None:
            await self._load()
        assert self._sha is not None
        try:
            reply = await self._client.evalsha(self._sha, keys=keys, args=values)
        except coredis.exceptions.NoScriptError:
            await self._load()
            reply = await self._client.evalsha(self._sha, keys=keys, args=values)
        if not isinstance(reply, list) or len(reply) != 5:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LimitsError(f"the limiter script answered {reply!r}, expected five values")
        return reply  # pyright: ignore[reportUnknownVariableType]

    async def _load(self) -> None:
        sha = await self._client.script_load(SCRIPT)
        self._sha = sha.decode() if isinstance(sha, bytes) else str(sha)
        self._script_loads += 1

    # -- outage bookkeeping -------------------------------------------------------------

    def _went_down(self, error: str) -> None:
        now = trio.current_time()
        self._next_probe = now + self._probe_interval
        self._down_error = error
        if self._down_since is None:
            self._down_since = now
            self._publish(RedisLimiterDown(key=self._key, policy=self._policy, error=error))

    def _came_back(self) -> None:
        if self._down_since is not None:
            down_for = trio.current_time() - self._down_since
            self._down_since = None
            self._publish(RedisLimiterRecovered(key=self._key, down_for=down_for))

    def _publish(self, event: LifecycleEvent) -> None:
        if self._broadcast is not None and not self._broadcast.closed:
            self._broadcast.publish(event)

    # -- checks -------------------------------------------------------------------------

    def _check(self, n: float) -> None:
        self._check_amount(n)
        if n > self._capacity:
            raise OversizeRequest(n, self._capacity)

    @staticmethod
    def _check_amount(n: float) -> None:
        if not (
            isinstance(n, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
            and not isinstance(n, bool)
            and math.isfinite(n)
            and n >= 0
        ):
            raise ConfigError(f"the amount must be a finite number >= 0, got {n!r}", field="n")

    def _wake_head(self) -> None:
        self._waiters.wake_head()
