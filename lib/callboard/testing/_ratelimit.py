"""Server-side rate limits: a request bucket and a token bucket per API key.

Real providers admit a request only if the key's request bucket holds one request and its
token bucket holds the request's estimate (prompt tokens plus ``max_tokens``); when the
response is done, the unused part of ``max_tokens`` is refunded. Both buckets refill
continuously at ``limit / 60`` per second and start full. Time is ``trio.current_time()``.

This is deliberately a small, separate implementation from ``callboard.limits``: the fake
provider is the referee the client-side limiter is tested against, so it must not share
its code.
"""

from __future__ import annotations

import attrs

__all__ = ["Admission", "KeyLimits", "Rejection"]

# Refill arithmetic in floats: a client that waits exactly the advertised retry-after must
# be admitted, so comparisons forgive rounding dust.
_EPSILON = 1e-9


@attrs.define
class _Bucket:
    capacity: float
    per_second: float
    level: float
    updated: float

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.per_second)
            self.updated = now

    def wait_for(self, amount: float) -> float:
        missing = amount - self.level
        return 0.0 if missing <= _EPSILON else missing / self.per_second

    def until_full(self) -> float:
        return max(0.0, (self.capacity - self.level) / self.per_second)


@attrs.frozen
class Admission:
    """A request passed the buckets and was charged ``tokens``."""

    tokens: int


@attrs.frozen
class Rejection:
    """A request was refused.

    ``retry_after`` is the wait until it would fit (``None`` when it never can: the
    estimate exceeds the token bucket's capacity); ``limited_by`` is ``"requests"`` or
    ``"tokens"``.
    """

    retry_after: float | None
    limited_by: str


@attrs.frozen
class BucketView:
    """What the rate-limit headers report about one bucket."""

    limit: int
    remaining: int
    reset: float  # seconds until the bucket is full again


class KeyLimits:
    """The two buckets of one API key (either may be unlimited: ``None``)."""

    def __init__(self, rpm: int | None, tpm: int | None, now: float) -> None:
        self._requests = None if rpm is None else _Bucket(rpm, rpm / 60, rpm, now)
        self._tokens = None if tpm is None else _Bucket(tpm, tpm / 60, tpm, now)

    def admit(self, tokens: int, now: float) -> Admission | Rejection:
        """Charge one request and ``tokens`` if both fit now, else say how long to wait."""
        waits: list[tuple[float, str]] = []
        if self._requests is not None:
            self._requests.refill(now)
            waits.append((self._requests.wait_for(1), "requests"))
        if self._tokens is not None:
            self._tokens.refill(now)
            if tokens > self._tokens.capacity:
                return Rejection(None, "tokens")
            waits.append((self._tokens.wait_for(tokens), "tokens"))
        wait, limited_by = max(waits, default=(0.0, "requests"))
        if wait > 0:
            return Rejection(wait, limited_by)
        if self._requests is not None:
            self._requests.level = max(0.0, self._requests.level - 1)
        if self._tokens is not None:
            self._tokens.level = max(0.0, self._tokens.level - tokens)
        return Admission(tokens)

    def refund(self, tokens: int, now: float) -> None:
        """Give back tokens charged but not used (``max_tokens`` minus actual output)."""
        if self._tokens is not None and tokens > 0:
            self._tokens.refill(now)
            self._tokens.level = min(self._tokens.capacity, self._tokens.level + tokens)

    def view(self, now: float) -> tuple[BucketView | None, BucketView | None]:
        """The request and token buckets as the headers describe them."""
        views: list[BucketView | None] = []
        for bucket in (self._requests, self._tokens):
            if bucket is None:
                views.append(None)
                continue
            bucket.refill(now)
            views.append(
                BucketView(
                    limit=int(bucket.capacity),
                    remaining=int(bucket.level + _EPSILON),
                    reset=bucket.until_full(),
                )
            )
        return views[0], views[1]
