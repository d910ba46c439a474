"""RetryPolicy: when to try a failed call again, and how long to wait first.

Two halves: ``delay_for`` is a pure function from (attempt, error) to a delay or "give
up", so the timing rules are tested without a clock; ``run`` is the async driver that
sleeps on the Trio clock between attempts.

Retries must happen in exactly one layer, but users do stack policies (one on the
Endpoint, one around ``invoke``). A ``RetryBudget`` travels with the Calling and
every policy spends from it, so nested policies share one bound on the total number of
attempts instead of multiplying (3 retries × 3 retries would be 16 requests).
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

import attrs
import trio

from callboard.errors import ConfigError

from ._errors import CircuitOpen, ProviderError

__all__ = ["Attempt", "RetryBudget", "RetryPolicy", "RetryScheduled"]

T = TypeVar("T")

Jitter = Literal["full", "equal", "none"]

_SYSTEM_RANDOM = random.Random()


def _non_negative_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a whole number >= 0, got {value!r}", field=attribute.name
        )


def _positive_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a whole number >= 1, got {value!r}", field=attribute.name
        )


def _non_negative_float(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds >= 0, got {value!r}",
            field=attribute.name,
        )


def _multiplier(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a finite number >= 1 (1 means constant delays), "
            f"got {value!r}",
            field=attribute.name,
        )


def _jitter(_instance: object, attribute: attrs.Attribute[Jitter], value: object) -> None:
    if value not in ("full", "equal", "none"):
        raise ConfigError(
            f"{attribute.name} must be 'full', 'equal' or 'none', got {value!r}",
            field=attribute.name,
        )


def _new_key() -> str:
    return f"callboard-{uuid.uuid4().hex}"


@attrs.frozen
class Attempt:
    """What an attempt function is told about the attempt it is making.

    Attributes:
        number: 1 for the first request of the Calling, counting across every policy
            that shares the budget.
        idempotency_key: the same for every attempt of one Calling; send it as the
            ``Idempotency-Key`` header so the provider can drop duplicates.
    """

    number: int
    idempotency_key: str


@attrs.frozen
class RetryScheduled:
    """Reported (through ``run``'s ``on_retry``) just before sleeping for a retry."""

    attempt: int
    delay: float
    error: ProviderError


@attrs.define
class RetryBudget:
    """The attempts one Calling may still make, shared by every retry layer.

    Create one per Calling and pass it to every ``RetryPolicy.run`` on the call's path:
    each retry, whichever layer schedules it, spends one, so the total number of requests
    never exceeds ``max_attempts`` however policies are nested.

    Args:
        max_attempts: the most requests the Calling may make, first one included.
        idempotency_key: sent with every attempt; defaults to a fresh random key.

    Example:
        >>> budget = RetryBudget(max_attempts=3)
        >>> budget.remaining_retries
        2
    """

    max_attempts: int = attrs.field(validator=_positive_int)
    idempotency_key: str = attrs.field(factory=_new_key)
    retries_used: int = attrs.field(default=0, init=False)

    @classmethod
    def for_calling(cls, calling_id: str, max_attempts: int) -> RetryBudget:
        """A budget whose idempotency key is derived from the Calling's id."""
        return cls(max_attempts=max_attempts, idempotency_key=f"callboard-{calling_id}")

    @property
    def remaining_retries(self) -> int:
        """How many more retries any layer may schedule."""
        return self.max_attempts - 1 - self.retries_used

    @property
    def next_attempt(self) -> Attempt:
        """The attempt about to be made."""
        return Attempt(number=self.retries_used + 1, idempotency_key=self.idempotency_key)


@attrs.frozen
class RetryPolicy:
    """When a failed provider call is tried again, and after how long.

    Retried: 408, 409, 429, 5xx and 529 responses, connection failures and timeouts (the
    errors whose ``retryable`` is true), unless the server's ``x-should-retry`` header
    says otherwise, which always wins. Not retried: other 4xx, invalid responses,
    interrupted streams and an open circuit.

    The wait is the server's hint when it gave one (``retry-after-ms``, ``retry-after``),
    but never less than ``min_retry_after``: ``retry-after: 0`` does not mean "hammer
    the server" (the official SDKs wait about half a second too); a hint longer than
    ``max_retry_after`` means give up now rather than hold the call.
    Otherwise it is exponential backoff ``base_delay * multiplier ** (attempt - 1)``
    capped at ``max_delay``, with jitter: ``"full"`` draws uniformly from [0, backoff],
    ``"equal"`` from [backoff / 2, backoff], ``"none"`` uses the backoff as is.

    Args:
        max_retries: retries after the first attempt (0 disables retrying).
        base_delay: backoff before the first retry, in seconds.
        max_delay: cap on the backoff.
        multiplier: growth factor per retry (>= 1).
        jitter: ``"full"``, ``"equal"`` or ``"none"``.
        max_retry_after: the longest server-requested wait to honour.
        min_retry_after: the shortest wait after a server hint (a shorter one, ``0``
            included, is raised to it); ``0`` takes hints exactly as given.

    Raises:
        ConfigError: a value is out of range (the error names the field).

    Example:
        >>> policy = RetryPolicy(max_retries=3, base_delay=1.0, jitter="none")
        >>> [policy.backoff(n) for n in (1, 2, 3)]
        [1.0, 2.0, 4.0]
    """

    max_retries: int = attrs.field(default=2, validator=_non_negative_int)
    base_delay: float = attrs.field(default=0.5, validator=_non_negative_float)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative_float)
    multiplier: float = attrs.field(default=2.0, validator=_multiplier)
    jitter: Jitter = attrs.field(default="full", validator=_jitter)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative_float)
    min_retry_after: float = attrs.field(default=0.5, validator=_non_negative_float)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_retries=0)

    def is_retryable(self, error: BaseException) -> bool:
        """Whether ``error`` is worth another attempt, ignoring counts and budgets."""
        if not isinstance(error, ProviderError) or isinstance(error, CircuitOpen):
            return False
        if error.should_retry is not None:
            return error.should_retry
        return error.retryable

    def backoff(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """The jittered backoff after failed attempt number ``attempt`` (1-based)."""
        exponent = max(0, attempt - 1)
        try:
            raw = min(self.max_delay, self.base_delay * self.multiplier**exponent)
        except OverflowError:
            raw = self.max_delay
        source = rng if rng is not None else _SYSTEM_RANDOM
        if self.jitter == "full":
            return source.uniform(0.0, raw)
        if self.jitter == "equal":
            return raw / 2 + source.uniform(0.0, raw / 2)
        return raw

    def delay_for(
        self, attempt: int, error: BaseException, *, rng: random.Random | None = None
    ) -> float | None:
        """How long to wait before retrying after attempt ``attempt`` failed with ``error``.

        Pure apart from the random draw (pass a seeded ``rng`` for exact values).

        Args:
            attempt: the number of the attempt that failed, 1 for the first.
            error: what it failed with.
            rng: the random source for jitter.

        Returns:
            The delay in seconds, or ``None`` to give up.
        """
        return self._delay(attempt, attempt, error, rng)

    def _delay(
        self, layer_attempt: int, call_attempt: int, error: BaseException, rng: random.Random | None
    ) -> float | None:
        # ``layer_attempt`` counts this policy's own attempts (bounded by max_retries);
        # ``call_attempt`` counts the whole Calling's, so backoff keeps growing when an
        # outer layer retries an inner one.
        if layer_attempt > self.max_retries or not self.is_retryable(error):
            return None
        assert isinstance(error, ProviderError)
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return max(error.retry_after, self.min_retry_after)
        return self.backoff(call_attempt, rng=rng)

    async def run(
        self,
        attempt_fn: Callable[[Attempt], Awaitable[T]],
        *,
        budget: RetryBudget | None = None,
        before_attempt: Callable[[Attempt], Awaitable[None]] | None = None,
        on_retry: Callable[[RetryScheduled], None] | None = None,
        rng: random.Random | None = None,
    ) -> T:
        """Call ``attempt_fn`` until it succeeds, the error is final or the budget is spent.

        Args:
            attempt_fn: makes one attempt; raises a ``ProviderError`` on failure. Any
                other exception (including ``Cancelled``) propagates at once.
            budget: the Calling's shared budget; a fresh one of ``max_retries + 1``
                attempts when omitted.
            before_attempt: awaited before every attempt, the first included, so the
                caller can pass the rate limiter again.
            on_retry: told about every retry before its sleep (to publish an event).
            rng: random source for jitter.

        Returns:
            What the successful attempt returned.

        Raises:
            ProviderError: the last attempt's error, with a note saying how many attempts
                were made when any retry happened.

        Example:
            >>> async def main():
            ...     async def attempt(a: Attempt) -> int:
            ...         return a.number
            ...     return await RetryPolicy().run(attempt)
            >>> trio.run(main)
            1
        """
        if budget is None:
            budget = RetryBudget(max_attempts=self.max_retries + 1)
        local_retries = 0
        while True:
            attempt = budget.next_attempt
            if before_attempt is not None:
                await before_attempt(attempt)
            try:
                return await attempt_fn(attempt)
            except ProviderError as error:
                delay = None
                if budget.remaining_retries > 0:
                    delay = self._delay(local_retries + 1, attempt.number, error, rng)
                if delay is None:
                    if local_retries:
                        error.add_note(
                            f"gave up after {attempt.number} attempts "
                            f"(idempotency key {budget.idempotency_key})"
                        )
                    raise
                failure = error
            budget.retries_used += 1
            local_retries += 1
            if on_retry is not None:
                on_retry(RetryScheduled(attempt=attempt.number, delay=delay, error=failure))
            await trio.sleep(delay)
