"""CircuitBreaker: stop calling a provider that keeps failing, and find out when it is back.

Closed (calls flow) → open after ``failure_threshold`` consecutive failures (calls fail at
once with :class:`CircuitOpen`) → half-open once ``recovery_time`` has passed (a bounded
number of probe calls go through) → closed again when a probe succeeds, or open again when
one fails.

The breaker is plain state read at call time, with no timer task: "open" turns into
"half-open" when the first call after ``recovery_time`` asks. Results are tied to the
state they were admitted under (a *generation*), so a slow call admitted before the
circuit opened cannot close it, and only probes decide a half-open circuit.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Generator
from contextlib import contextmanager

import attrs
import trio

from callboard.errors import ConfigError

from ._errors import (
    CircuitOpen,
    ConnectionFailed,
    InvalidResponse,
    ProviderError,
    ServerError,
    StreamInterrupted,
    Timeout,
)

__all__ = ["CircuitBreaker", "CircuitPermit", "CircuitState", "CircuitTransition"]


class CircuitState(enum.Enum):
    """Where a circuit breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@attrs.frozen
class CircuitTransition:
    """A change of state, reported to ``on_transition`` (the Endpoint publishes it).

    Attributes:
        name: the breaker's name (usually the endpoint's).
        old: the state before.
        new: the state after.
        at: ``trio.current_time()`` of the change.
        consecutive_failures: the failure count that led here.
    """

    name: str | None
    old: CircuitState
    new: CircuitState
    at: float
    consecutive_failures: int


@attrs.frozen
class CircuitPermit:
    """Admission to make one call; hand it back with the call's outcome.

    Attributes:
        generation: the breaker state this call was admitted under.
        probe: whether this call is a half-open probe.
    """

    generation: int
    probe: bool


def default_counts_as_failure(error: BaseException) -> bool:
    """Failures that say the service is unhealthy: 5xx, overload, timeouts, broken links.

    Client mistakes (400, 401, 404) and rate limiting say nothing about the service's
    health, so they do not trip the breaker.
    """
    return isinstance(
        error, ServerError | Timeout | ConnectionFailed | InvalidResponse | StreamInterrupted
    )


def _positive_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a whole number >= 1, got {value!r}", field=attribute.name
        )


def _recovery(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds >= 0, got {value!r}",
            field=attribute.name,
        )


@attrs.define(eq=False)
class CircuitBreaker:
    """Fail fast while a provider is down; probe it to notice when it recovers.

    Args:
        failure_threshold: consecutive failures that open the circuit.
        recovery_time: seconds the circuit stays open before probes are let through.
        half_open_probes: how many probe calls may be in flight while half-open.
        name: shown in errors and transitions.
        on_transition: called synchronously with every :class:`CircuitTransition`.
        counts_as_failure: which errors count against the service's health.

    Raises:
        ConfigError: a setting is out of range.

    Example:
        >>> import trio.testing
        >>> async def main():
        ...     breaker = CircuitBreaker(failure_threshold=1, recovery_time=10.0)
        ...     permit = breaker.acquire()
        ...     breaker.record_failure(permit)
        ...     try:
        ...         breaker.acquire()
        ...     except CircuitOpen as err:
        ...         return breaker.state.value, err.retry_after
        >>> trio.run(main, clock=trio.testing.MockClock())
        ('open', 10.0)
    """

    failure_threshold: int = attrs.field(default=5, validator=_positive_int)
    recovery_time: float = attrs.field(default=30.0, validator=_recovery)
    half_open_probes: int = attrs.field(default=1, validator=_positive_int)
    name: str | None = None
    on_transition: Callable[[CircuitTransition], None] | None = attrs.field(
        default=None, repr=False
    )
    counts_as_failure: Callable[[BaseException], bool] = attrs.field(
        default=default_counts_as_failure, repr=False
    )
    _state: CircuitState = attrs.field(default=CircuitState.CLOSED, init=False)
    _failures: int = attrs.field(default=0, init=False)
    _opened_at: float = attrs.field(default=0.0, init=False)
    _probes: int = attrs.field(default=0, init=False)
    _generation: int = attrs.field(default=0, init=False)

    @property
    def state(self) -> CircuitState:
        """The state as of the last call (open turns half-open only when a call asks)."""
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def acquire(
        self, *, provider: str | None = None, calling_id: str | None = None
    ) -> CircuitPermit:
        """Ask to make a call.

        Args:
            provider: carried on the error if refused.
            calling_id: carried on the error if refused.

        Returns:
            A permit to hand to ``record_success``, ``record_failure`` or ``release``.

        Raises:
            CircuitOpen: the circuit is open, or half-open with every probe slot taken.
        """
        if self._state is CircuitState.OPEN:
            wait = self._opened_at + self.recovery_time - trio.current_time()
            if wait > 0:
                raise CircuitOpen(
                    f"circuit {self.name or ''} is open after {self._failures} consecutive "
                    f"failures; calls fail fast for {wait:.3g} s more, then a probe is tried",
                    provider=provider,
                    calling_id=calling_id,
                    retry_after=wait,
                )
            self._move(CircuitState.HALF_OPEN)
        if self._state is CircuitState.HALF_OPEN:
            if self._probes >= self.half_open_probes:
                raise CircuitOpen(
                    f"circuit {self.name or ''} is half-open and its "
                    f"{self.half_open_probes} probe call(s) are in flight; retry when they end",
                    provider=provider,
                    calling_id=calling_id,
                )
            self._probes += 1
            return CircuitPermit(generation=self._generation, probe=True)
        return CircuitPermit(generation=self._generation, probe=False)

    def record_success(self, permit: CircuitPermit) -> None:
        """The call admitted with ``permit`` succeeded (or the service answered sanely)."""
        if permit.generation != self._generation:
            return
        self._failures = 0
        if permit.probe:
            self._probes -= 1
            self._move(CircuitState.CLOSED)

    def record_failure(self, permit: CircuitPermit) -> None:
        """The call admitted with ``permit`` failed in a way that counts against health."""
        if permit.generation != self._generation:
            return
        self._failures += 1
        if permit.probe:
            self._probes -= 1
            self._move(CircuitState.OPEN)
        elif self._failures >= self.failure_threshold:
            self._move(CircuitState.OPEN)

    def release(self, permit: CircuitPermit) -> None:
        """The call ended without a verdict (cancelled): free its probe slot, count nothing."""
        if permit.generation == self._generation and permit.probe:
            self._probes -= 1

    @contextmanager
    def guard(
        self, *, provider: str | None = None, calling_id: str | None = None
    ) -> Generator[CircuitPermit]:
        """Acquire a permit and record the outcome of the block.

        A ``counts_as_failure`` error records a failure; any other ``ProviderError``
        means the service answered, which is a success; anything else (``Cancelled``
        included) releases the permit without a verdict.

        Raises:
            CircuitOpen: the call is refused.
        """
        permit = self.acquire(provider=provider, calling_id=calling_id)
        try:
            yield permit
        except BaseException as error:
            if self.counts_as_failure(error):
                self.record_failure(permit)
            elif isinstance(error, ProviderError):
                self.record_success(permit)
            else:
                self.release(permit)
            raise
        self.record_success(permit)

    def _move(self, new: CircuitState) -> None:
        old = self._state
        now = trio.current_time()
        self._state = new
        self._generation += 1
        self._probes = 0
        if new is CircuitState.OPEN:
            self._opened_at = now
        elif new is CircuitState.CLOSED:
            self._failures = 0
        if self.on_transition is not None:
            self.on_transition(
                CircuitTransition(
                    name=self.name, old=old, new=new, at=now, consecutive_failures=self._failures
                )
            )
