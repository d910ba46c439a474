"""Server-side rate limits: the buckets of one API key and what each request costs them.

A key has up to four limits, each per minute: requests (``rpm``), combined tokens
(``tpm``, OpenAI's TPM: the prompt plus ``max_tokens`` on arrival), uncached input
tokens (``itpm``) and output tokens (``otpm``), Anthropic's pair. A request is admitted
only when every limit has room for it; then each is charged the way
``Enforcement`` says, and settled when the reply is done
(``tpm``'s unused ``max_tokens`` refunded unless ``charging="no_refund"``; ``otpm``
charged the output actually produced: Anthropic says "OTPM rate limits are evaluated in
real time as output tokens are produced", so admission only needs a positive balance).

Time is ``trio.current_time()``, passed in by the server.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import attrs

from ._buckets import EPSILON, FixedWindow, Refilling, WindowBucket
from ._enforcement import Enforcement

__all__ = ["RESOURCES", "Admission", "BucketView", "Cost", "KeyLimits", "Rejection"]

RESOURCES = ("requests", "tokens", "input_tokens", "output_tokens")

# Without a request limit, foreign traffic still arrives in discrete requests: this many a
# second at a share of 1 (fewer at smaller shares).
_FOREIGN_REQUESTS_WITHOUT_RPM = 10.0


@attrs.frozen
class Cost:
    """What one request costs each limit.

    ``tokens`` is taken on arrival and ``tokens_used`` is what it really consumed (the
    difference is refunded under ``charging="adjust"``); ``input_tokens`` are the uncached
    input tokens (plus cache reads when they count); ``output_tokens`` are charged when
    the reply is delivered.
    """

    tokens: int
    tokens_used: int
    input_tokens: int
    output_tokens: int


@attrs.frozen
class Admission:
    """A request passed every limit and was charged ``tokens`` (its ``tpm`` charge)."""

    tokens: int


@attrs.frozen
class Rejection:
    """A request was refused.

    ``retry_after`` is the wait until it would fit (``None`` when it never can: it needs
    more than a limit allows in a minute); ``limited_by`` names the limit.
    """

    retry_after: float | None
    limited_by: str


@attrs.frozen
class BucketView:
    """What the rate-limit headers report about one limit."""

    limit: int
    remaining: int
    reset: float  # seconds until the bucket is full again


class _Limit:
    """One limit of one key: the buckets that enforce it and the one its headers show."""

    __slots__ = ("buckets", "per_minute", "shown")

    def __init__(self, per_minute: int, enforcement: Enforcement, now: float) -> None:
        self.per_minute = per_minute
        rate = per_minute / 60.0
        window = enforcement.window
        quantum: WindowBucket = (
            FixedWindow(per_minute * window / 60.0, window, now)
            if enforcement.fixed_windows
            else Refilling(per_minute * window / 60.0, rate, now)
        )
        self.buckets: list[WindowBucket] = [quantum]
        self.shown: WindowBucket = quantum
        if enforcement.hide_window:
            minute = Refilling(float(per_minute), rate, now)
            self.buckets.append(minute)
            self.shown = minute

    def refill(self, now: float) -> None:
        for bucket in self.buckets:
            bucket.refill(now)

    def wait_for(self, amount: float, now: float) -> float:
        return max(bucket.wait_for(amount, now) for bucket in self.buckets)

    def take(self, amount: float) -> None:
        for bucket in self.buckets:
            bucket.take(amount)

    def give(self, amount: float) -> None:
        for bucket in self.buckets:
            bucket.give(amount)

    def view(self, now: float, rounding: int) -> BucketView:
        left = max(0.0, self.shown.remaining() + EPSILON)
        remaining = int(left) if rounding == 1 else int(round(left / rounding) * rounding)
        return BucketView(self.per_minute, remaining, self.shown.until_full(now))


class KeyLimits:
    """The limits of one API key (a limit set to ``None`` is unlimited).

    Args:
        limits: per-minute limits by resource name (``RESOURCES``).
        enforcement: how they are enforced.
        now: the trio time the key was first seen (its buckets start full then).
        seed: seeds the jitter of the foreign traffic on this key.
    """

    def __init__(
        self,
        limits: dict[str, int | None],
        enforcement: Enforcement,
        now: float,
        seed: str,
    ) -> None:
        self._enforcement = enforcement
        self._limits = {
            name: _Limit(value, enforcement, now)
            for name, value in limits.items()
            if value is not None and name in RESOURCES
        }
        share = enforcement.foreign_share
        self._foreign_rate = 0.0
        if share > 0 and self._limits:
            rpm = limits.get("requests")
            base = rpm / 60.0 if rpm else _FOREIGN_REQUESTS_WITHOUT_RPM
            self._foreign_rate = share * base
        self._rng = random.Random(seed)
        self._foreign_origin = now
        self._foreign_index = 0
        self._next_foreign = self._foreign_time(0)
        self.foreign_requests = 0

    # -- foreign traffic ----------------------------------------------------------------

    def _foreign_time(self, index: int) -> float:
        if self._foreign_rate <= 0:
            return math.inf
        return self._foreign_origin + (index + self._rng.random()) / self._foreign_rate

    def _advance(self, now: float) -> None:
        """Refill every bucket to ``now``, applying the foreign requests due by then."""
        if now - self._next_foreign > 60.0:
            # A long idle gap: only the last minute of foreign traffic still shows in the
            # buckets (they were full before it); skip the rest.
            skip = math.floor((now - 60.0 - self._foreign_origin) * self._foreign_rate)
            self.foreign_requests += max(0, skip - self._foreign_index)
            self._foreign_index = max(self._foreign_index, skip)
            self._next_foreign = self._foreign_time(self._foreign_index)
        while self._next_foreign <= now:
            at = self._next_foreign
            for name, limit in self._limits.items():
                limit.refill(at)
                limit.take(self._foreign_take(name))
            self.foreign_requests += 1
            self._foreign_index += 1
            self._next_foreign = self._foreign_time(self._foreign_index)
        for limit in self._limits.values():
            limit.refill(now)

    def _foreign_take(self, name: str) -> float:
        if name == "requests":
            return 1.0
        share = self._enforcement.foreign_share
        return share * self._limits[name].per_minute / 60.0 / self._foreign_rate

    # -- admission ----------------------------------------------------------------------

    def _checks(self, cost: Cost) -> Iterator[tuple[str, float]]:
        yield "requests", 1.0
        yield "tokens", float(cost.tokens)
        yield "input_tokens", float(cost.input_tokens)
        yield "output_tokens", 1.0  # a positive balance: the output is charged as produced

    def admit(self, cost: Cost, now: float) -> Admission | Rejection:
        """Charge ``cost`` if every limit has room now, else say how long to wait."""
        self._advance(now)
        waits: list[tuple[float, str]] = []
        for name, need in self._checks(cost):
            limit = self._limits.get(name)
            if limit is None:
                continue
            if need > limit.per_minute:
                return Rejection(None, name)
            waits.append((limit.wait_for(need, now), name))
        wait, limited_by = max(waits, default=(0.0, "requests"))
        if wait > 0:
            return Rejection(wait, limited_by)
        for name, amount in (
            ("requests", 1.0),
            ("tokens", float(cost.tokens)),
            ("input_tokens", float(cost.input_tokens)),
        ):
            if name in self._limits:
                self._limits[name].take(amount)
        return Admission(cost.tokens)

    def settle(self, cost: Cost, now: float) -> int:
        """After the reply: charge the output produced and refund ``tpm`` per the charging
        policy. Returns the tokens refunded."""
        self._advance(now)
        output = self._limits.get("output_tokens")
        if output is not None:
            output.take(float(cost.output_tokens))
        tokens = self._limits.get("tokens")
        refund = cost.tokens - cost.tokens_used
        if tokens is None or refund <= 0 or self._enforcement.charging == "no_refund":
            return 0
        tokens.give(float(refund))
        return refund

    def views(self, now: float) -> dict[str, BucketView]:
        """Every limit as the headers describe it."""
        self._advance(now)
        rounding = self._enforcement.token_rounding
        return {
            name: limit.view(now, 1 if name == "requests" else rounding)
            for name, limit in self._limits.items()
        }
