"""The interface every limiter offers, so another implementation can drop in."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ._state import RateLimitState

__all__ = ["Limiter", "SharedRate"]


@runtime_checkable
class Limiter(Protocol):
    """What the Executor needs from a limiter: take, give back, charge, and listen.

    [`TokenBucket`][callboard.TokenBucket] is the in-process implementation; a limiter
    shared between processes (Redis, say) implements the same five methods and ``capacity``.

    Implementations must make ``acquire`` cancellation-safe (when it raises ``Cancelled``
    it took nothing), serve waiters in FIFO order, and raise
    [`OversizeRequest`][callboard.OversizeRequest] at once for a request that can never fit.
    """

    @property
    def capacity(self) -> float:
        """The largest amount one request may ask for (``math.inf`` if there is none).

        The Executor fails a request larger than this at once, before queueing it.
        """
        ...

    async def acquire(self, n: float = 1) -> None:
        """Wait until ``n`` units are available, then take them."""
        ...

    def try_acquire(self, n: float = 1) -> bool:
        """Take ``n`` units if that is possible right now without waiting; say whether."""
        ...

    def refund(self, n: float) -> None:
        """Give back ``n`` units that were taken but not used."""
        ...

    def debit(self, n: float) -> None:
        """Charge ``n`` more units than were taken (the provider reported more usage)."""
        ...

    def observe(self, state: RateLimitState) -> None:
        """Adapt to what the provider reported; only ever lowers what is available."""
        ...


@runtime_checkable
class SharedRate(Protocol):
    """A limiter shared by processes that also shares what they learn of the provider.

    [`RedisLimiter`][callboard.RedisLimiter] implements it: when one process's
    [`AdaptiveLimiter`][callboard.AdaptiveLimiter] cuts its rate after a 429, every process
    on the key admits at the lower share of the configured rate, and each follows.
    """

    @property
    def shared_share(self) -> float:
        """The share of the configured rate every process admits at (1.0: all of it)."""
        ...

    @property
    def shared_epoch(self) -> int:
        """How often a process cut the shared rate (to notice another process's cut)."""
        ...

    def share_cut(self, share: float) -> None:
        """Lower the shared rate to ``share`` of the configured one."""
        ...

    def share_raise(self, share: float) -> None:
        """Raise it back to ``share``, unless another process cut it meanwhile."""
        ...
