"""Taking one request and its tokens together, and settling them afterwards.

A call needs a request slot and a token estimate at the same instant. Holding one while
waiting for the other would let the held bucket refill behind the waiter's back and burst
later, so ``reserve`` waits for one, tries the other without waiting, and when that is
short gives the first back and waits for the other instead. The Executor and the inline
path of ``iModel`` both admit calls this way; so can a custom executor over any
``Limiter`` (a ``TokenBucket``, a ``RedisLimiter``).
"""

from __future__ import annotations

from ._adaptive import AdaptiveLimiter
from ._charge import TokenCharge
from ._protocol import Limiter

__all__ = ["reconcile", "release", "reserve", "try_reserve"]


async def reserve(requests: Limiter | None, tokens: Limiter | None, amount: int) -> None:
    """Take one request and ``amount`` tokens together; on ``Cancelled`` nothing is held.

    Either limiter may be ``None`` (no such limit); ``amount <= 0`` takes no tokens.
    """
    if tokens is None or amount <= 0:
        if requests is not None:
            await requests.acquire(1)
        return
    if requests is None:
        await tokens.acquire(amount)
        return
    while True:
        await tokens.acquire(amount)
        if requests.try_acquire(1):
            return
        tokens.refund(amount)
        await requests.acquire(1)
        if tokens.try_acquire(amount):
            return
        requests.refund(1)


def try_reserve(requests: Limiter | None, tokens: Limiter | None, amount: int) -> bool:
    """Take one request and ``amount`` tokens now if both are there; all or nothing."""
    if tokens is None or amount <= 0:
        return requests is None or requests.try_acquire(1)
    if not tokens.try_acquire(amount):
        return False
    if requests is None or requests.try_acquire(1):
        return True
    tokens.refund(amount)
    return False


def release(requests: Limiter | None, tokens: Limiter | None, amount: int) -> None:
    """Give back a reservation that was never used (the call did not go out)."""
    if requests is not None:
        requests.refund(1)
    if tokens is not None and amount > 0:
        tokens.refund(amount)


def reconcile(
    tokens: Limiter | None,
    reserved: int,
    actual: int | None,
    *,
    estimate: int | None = None,
    charge: TokenCharge | None = None,
) -> None:
    """Settle ``reserved`` tokens against what the provider reported.

    For an [`AdaptiveLimiter`][callboard.AdaptiveLimiter] the settlement follows its policy's
    ``token_accounting`` (``estimate`` is what the call's last attempt reserved,
    ``charge`` the provider's breakdown). For any other limiter: refunds what was
    reserved and not used, debits what was used beyond it; ``None`` (no usage reported)
    keeps the reservation as the charge.
    """
    if isinstance(tokens, AdaptiveLimiter):
        tokens.settle(
            reserved,
            estimate=reserved if estimate is None else estimate,
            actual=actual,
            charge=charge,
        )
        return
    if tokens is None or actual is None:
        return
    difference = actual - reserved
    if difference < 0:
        tokens.refund(-difference)
    elif difference > 0:
        tokens.debit(difference)
