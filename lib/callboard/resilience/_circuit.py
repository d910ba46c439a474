"""CircuitBreaker: stop calling a provider that keeps failing, and find out when it is back.

Closed (calls flow) → open when too many calls fail (calls fail at once with
``CircuitOpen``) → half-open once ``recovery_time`` has passed (a bounded number of
probe calls go through) → closed again when a probe succeeds, or open again when one
fails.

"Too many" is a failure *rate*: at least ``failure_rate`` of the calls that ended within
the last ``window`` seconds, once there were ``minimum_calls`` of them. A rate is what
high volume needs: under a steady 10% of random faults, five failures in a row happen
every few thousand calls, and a breaker that counts consecutive failures would open
again and again on a healthy provider. The seeds' rule (``failure_threshold``
consecutive failures) is there too, off by default.

The breaker is plain state read at call time, with no timer task: "open" turns into
"half-open" when the first call after ``recovery_time`` asks. Results are tied to the
state they were admitted under (a *generation*), so a slow call admitted before the
circuit opened cannot close it, and only probes decide a half-open circuit. A probe
that has not answered within ``probe_timeout`` stops holding its slot, so a half-open
circuit tries again within seconds instead of waiting out a stalled request.
"""

from __future__ import annotations

import enum
import math
from collections import deque
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
from ._window import OutcomeWindow

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
        reason: why it opened (``"12 of 20 calls failed in the last 10 s"``); empty
            for the other transitions.
    """

    name: str | None
    old: CircuitState
    new: CircuitState
    at: float
    consecutive_failures: int
    reason: str = ""


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


def _optional_positive_int(
    _instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None:
        _positive_int(_instance, attribute, value)  # pyright: ignore[reportArgumentType]


def _recovery(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds >= 0, got {value!r}",
            field=attribute.name,
        )


def _positive_seconds(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ConfigError(
            f"{attribute.name} must be a finite number of seconds > 0, got {value!r}",
            field=attribute.name,
        )


def _rate(_instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not (_is_number(value) and 0 < value <= 1):
        raise ConfigError(
            f"{attribute.name} must be a share of calls in (0, 1] (0.5: half of them), or "
            f"None to open on consecutive failures only, got {value!r}",
            field=attribute.name,
        )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@attrs.define(eq=False)
class CircuitBreaker:
    """Fail fast while a provider is down; probe it to notice when it recovers.

    Args:
        failure_threshold: consecutive failures that open the circuit too (the seeds'
            rule); ``None`` (the default) leaves it to the failure rate.
        recovery_time: seconds the circuit stays open before probes are let through.
        half_open_probes: how many probe calls may be in flight while half-open.
        name: shown in errors and transitions.
        on_transition: called synchronously with every ``CircuitTransition``.
        counts_as_failure: which errors count against the service's health.
        failure_rate: the share of calls that failed within ``window`` that opens the
            circuit; ``None`` to open on ``failure_threshold`` only.
        window: seconds of recent calls the rate is taken over.
        minimum_calls: calls that must have ended within ``window`` before the rate
            can open the circuit (a few failures of a quiet model mean little).
        probe_timeout: seconds a half-open probe holds its slot; one still unanswered
            then lets another probe go.

    Raises:
        ConfigError: a setting is out of range, or neither rule can open the circuit.

    Example:
        >>> import trio.testing
        >>> async def main():
        ...     breaker = CircuitBreaker(failure_rate=0.5, minimum_calls=4, recovery_time=10.0)
        ...     for failed in (True, False, True, True):
        ...         permit = breaker.acquire()
        ...         (breaker.record_failure if failed else breaker.record_success)(permit)
        ...     try:
        ...         breaker.acquire()
        ...     except CircuitOpen as err:
        ...         return breaker.state.value, err.retry_after
        >>> trio.run(main, clock=trio.testing.MockClock())
        ('open', 10.0)
    """

    failure_threshold: int | None = attrs.field(default=None, validator=_optional_positive_int)
    recovery_time: float = attrs.field(default=5.0, validator=_recovery)
    half_open_probes: int = attrs.field(default=1, validator=_positive_int)
    name: str | None = None
    on_transition: Callable[[CircuitTransition], None] | None = attrs.field(
        default=None, repr=False
    )
    counts_as_failure: Callable[[BaseException], bool] = attrs.field(
        default=default_counts_as_failure, repr=False
    )
    failure_rate: float | None = attrs.field(default=0.5, kw_only=True, validator=_rate)
    window: float = attrs.field(default=10.0, kw_only=True, validator=_positive_seconds)
    minimum_calls: int = attrs.field(default=20, kw_only=True, validator=_positive_int)
    probe_timeout: float = attrs.field(default=10.0, kw_only=True, validator=_positive_seconds)
    _state: CircuitState = attrs.field(default=CircuitState.CLOSED, init=False)
    _failures: int = attrs.field(default=0, init=False)
    _opened_at: float = attrs.field(default=0.0, init=False)
    _reason: str = attrs.field(default="", init=False)
    _probes: deque[float] = attrs.field(factory=deque[float], init=False)
    _generation: int = attrs.field(default=0, init=False)
    _outcomes: OutcomeWindow = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.failure_threshold is None and self.failure_rate is None:
            raise ConfigError(
                "the circuit could never open: give failure_rate (a share of calls) or "
                "failure_threshold (consecutive failures), or both",
                field="failure_rate",
            )
        self._outcomes = OutcomeWindow(self.window)

    @property
    def state(self) -> CircuitState:
        """The state as of the last call (open turns half-open only when a call asks)."""
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    @property
    def recent(self) -> tuple[int, int]:
        """``(calls, failures)`` that ended within the last ``window`` seconds while
        the circuit was closed (what the failure rate is taken over)."""
        return self._outcomes.counts(trio.current_time())

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
            CircuitOpen: the circuit is open, or half-open with every probe slot taken
                (``retry_after`` says when a probe may go, in both cases).
        """
        if self._state is CircuitState.OPEN:
            wait = self._opened_at + self.recovery_time - trio.current_time()
            if wait > 0:
                raise CircuitOpen(
                    f"circuit {self.name or ''} is open {self._reason}; calls fail fast "
                    f"for {wait:.3g} s more, then a probe is tried",
                    provider=provider,
                    calling_id=calling_id,
                    retry_after=wait,
                )
            self._move(CircuitState.HALF_OPEN)
        if self._state is CircuitState.HALF_OPEN:
            now = trio.current_time()
            probes = self._probes
            while probes and probes[0] + self.probe_timeout <= now:
                probes.popleft()  # unanswered too long: its slot goes to a new probe
            if len(probes) >= self.half_open_probes:
                wait = probes[0] + self.probe_timeout - now
                raise CircuitOpen(
                    f"circuit {self.name or ''} is half-open and its "
                    f"{self.half_open_probes} probe call(s) are in flight; retry when they "
                    f"end (within {wait:.3g} s)",
                    provider=provider,
                    calling_id=calling_id,
                    retry_after=wait,
                )
            probes.append(now)
            return CircuitPermit(generation=self._generation, probe=True)
        return CircuitPermit(generation=self._generation, probe=False)

    def record_success(self, permit: CircuitPermit) -> None:
        """The call admitted with ``permit`` succeeded (or the service answered sanely)."""
        if permit.generation != self._generation:
            return
        self._failures = 0
        if permit.probe:
            self._free_probe()
            self._move(CircuitState.CLOSED)
        else:
            self._outcomes.add(trio.current_time(), False)

    def record_failure(self, permit: CircuitPermit) -> None:
        """The call admitted with ``permit`` failed in a way that counts against health."""
        if permit.generation != self._generation:
            return
        self._failures += 1
        if permit.probe:
            self._free_probe()
            self._move(CircuitState.OPEN, "after a half-open probe failed")
            return
        outcomes = self._outcomes
        outcomes.add(trio.current_time(), True)
        threshold = self.failure_threshold
        if threshold is not None and self._failures >= threshold:
            self._move(CircuitState.OPEN, f"after {self._failures} consecutive failures")
            return
        rate = self.failure_rate
        calls, failures = outcomes.calls, outcomes.failures
        if rate is not None and calls >= self.minimum_calls and failures >= rate * calls:
            self._move(
                CircuitState.OPEN,
                f"after {failures} of {calls} calls failed in the last {self.window:g} s",
            )

    def release(self, permit: CircuitPermit) -> None:
        """The call ended without a verdict (cancelled): free its probe slot, count nothing."""
        if permit.generation == self._generation and permit.probe:
            self._free_probe()

    def _free_probe(self) -> None:
        if self._probes:
            self._probes.popleft()

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

    def _move(self, new: CircuitState, reason: str = "") -> None:
        old = self._state
        now = trio.current_time()
        self._state = new
        self._generation += 1
        self._probes.clear()
        if new is CircuitState.OPEN:
            self._opened_at = now
            self._reason = reason
        elif new is CircuitState.CLOSED:
            self._failures = 0
            self._outcomes.clear()  # a fresh start: the old failures said "down"
        if self.on_transition is not None:
            self.on_transition(
                CircuitTransition(
                    name=self.name,
                    old=old,
                    new=new,
                    at=now,
                    consecutive_failures=self._failures,
                    reason=reason,
                )
            )
