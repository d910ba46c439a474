"""What a RedisLimiter says when Redis goes away and comes back."""

from __future__ import annotations

from typing import Literal

import attrs

from callboard.actors import LifecycleEvent

from ._errors import LimitsError

__all__ = ["Outage", "RedisLimiterDown", "RedisLimiterRecovered", "RedisUnavailable"]


class RedisUnavailable(LimitsError):
    """Redis could not be reached and the limiter fails closed (``on_outage="fail"``).

    Nothing was admitted. The limiter tries Redis again at most every ``probe_interval``
    seconds; in between it refuses at once. Restart or reconnect Redis, or construct the
    limiter with ``on_outage="fallback"`` to keep going on a local bucket.

    Attributes:
        key: the Redis key of the limiter's bucket.
        error: the type name of the error that showed Redis was down.
    """

    def __init__(self, key: str, error: str) -> None:
        super().__init__(
            f"the Redis server behind limiter {key!r} is unreachable ({error}); nothing is "
            "admitted while it is down (on_outage='fail'); bring Redis back, or pass "
            "on_outage='fallback' to admit on a local bucket meanwhile"
        )
        self.key = key
        self.error = error


@attrs.frozen(kw_only=True)
class RedisLimiterDown(LifecycleEvent):
    """A ``RedisLimiter`` lost Redis and now follows its outage ``policy``."""

    key: str
    policy: Literal["fail", "fallback"]
    error: str


@attrs.frozen(kw_only=True)
class RedisLimiterRecovered(LifecycleEvent):
    """A [`RedisLimiter`][callboard.RedisLimiter] reached Redis again after ``down_for`` seconds."""

    key: str
    down_for: float


class Outage(Exception):
    """Inside the limiter: a script call found Redis unreachable (``error`` says how)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error
