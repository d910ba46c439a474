"""CircuitBreaker: transitions on the Trio clock, probes, guard, and a model-based check."""

from __future__ import annotations

import math
import random

import attrs
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.errors import ConfigError
from callboard.resilience import (
    BadRequest,
    CircuitBreaker,
    CircuitOpen,
    CircuitPermit,
    CircuitState,
    CircuitTransition,
    ConnectionFailed,
    RateLimited,
    ServerError,
)

CLOSED, OPEN, HALF_OPEN = CircuitState.CLOSED, CircuitState.OPEN, CircuitState.HALF_OPEN


@pytest.mark.parametrize(
    ("field", "value"),
    [("failure_threshold", 0), ("recovery_time", -1.0), ("half_open_probes", 0)],
)
def test_invalid_settings(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        CircuitBreaker(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field


def fail(breaker: CircuitBreaker) -> None:
    breaker.record_failure(breaker.acquire())


async def test_opens_after_threshold_and_fails_fast(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[CircuitTransition] = []
    breaker = CircuitBreaker(
        failure_threshold=3, recovery_time=10.0, name="openai-chat", on_transition=seen.append
    )
    fail(breaker)
    fail(breaker)
    breaker.record_success(breaker.acquire())  # a success resets the count
    fail(breaker)
    fail(breaker)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 2
    fail(breaker)
    assert breaker.state is OPEN
    opened = trio.current_time()
    await trio.sleep(4.0)
    with pytest.raises(CircuitOpen) as info:
        breaker.acquire(provider="openai", calling_id="c-7")
    assert info.value.retry_after == pytest.approx(6.0)
    assert info.value.provider == "openai"
    assert info.value.calling_id == "c-7"
    assert "openai-chat" in str(info.value)
    assert seen == [
        CircuitTransition(
            name="openai-chat",
            old=CLOSED,
            new=OPEN,
            at=opened,
            consecutive_failures=3,
            reason="after 3 consecutive failures",
        )
    ]


async def test_half_open_probe_success_closes(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[CircuitState, CircuitState]] = []
    breaker = CircuitBreaker(
        failure_threshold=1,
        recovery_time=5.0,
        half_open_probes=2,
        on_transition=lambda t: seen.append((t.old, t.new)),
    )
    fail(breaker)
    await trio.sleep(5.0)
    first = breaker.acquire()
    assert breaker.state is HALF_OPEN
    second = breaker.acquire()
    assert first.probe
    assert second.probe
    with pytest.raises(CircuitOpen) as info:
        breaker.acquire()
    assert info.value.retry_after == pytest.approx(10.0)  # the probe_timeout at most
    breaker.record_success(first)
    assert breaker.state is CLOSED
    # The other probe's late verdict belongs to the old state and changes nothing.
    breaker.record_failure(second)
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 0
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, CLOSED)]


async def test_half_open_probe_failure_reopens_for_a_full_recovery_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=5.0)
    fail(breaker)
    fail(breaker)
    await trio.sleep(6.0)
    probe = breaker.acquire()
    await trio.sleep(1.0)
    breaker.record_failure(probe)
    assert breaker.state is OPEN
    with pytest.raises(CircuitOpen) as info:
        breaker.acquire()
    assert info.value.retry_after == pytest.approx(5.0)


async def test_cancelled_probe_frees_its_slot(autojump_clock: trio.testing.MockClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time=1.0)
    fail(breaker)
    await trio.sleep(1.0)
    with trio.move_on_after(0.5), breaker.guard():
        await trio.sleep_forever()
    assert breaker.state is HALF_OPEN
    probe = breaker.acquire()
    assert probe.probe


async def test_stale_results_from_before_opening_are_ignored(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time=1.0)
    slow = breaker.acquire()
    fail(breaker)
    assert breaker.state is OPEN
    breaker.record_success(slow)
    assert breaker.state is OPEN


async def test_guard_classifies_outcomes(autojump_clock: trio.testing.MockClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, recovery_time=1.0)
    for error in (BadRequest("mine"), RateLimited("slow")):
        with pytest.raises(type(error)), breaker.guard():
            raise error
    assert breaker.consecutive_failures == 0
    with pytest.raises(ServerError), breaker.guard():
        raise ServerError("theirs")
    assert breaker.consecutive_failures == 1
    with pytest.raises(KeyError), breaker.guard():
        raise KeyError("our bug")
    assert breaker.consecutive_failures == 1
    with pytest.raises(ConnectionFailed), breaker.guard():
        raise ConnectionFailed("reset")
    assert breaker.state is OPEN
    with pytest.raises(CircuitOpen), breaker.guard():
        pytest.fail("the block must not run while open")
    await trio.sleep(1.0)
    with breaker.guard() as permit:
        assert permit.probe
    assert breaker.state is CLOSED


# --- model-based check ------------------------------------------------------------------


@attrs.define
class Model:
    """The breaker's rules, written as plainly as possible: every outcome kept with its
    time, the window's calls counted by slice (a tenth of the window) from the list."""

    threshold: int | None
    rate: float | None
    window: float
    minimum: int
    recovery: float
    probes: int
    probe_timeout: float
    state: CircuitState = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    in_flight: list[float] = attrs.field(factory=list[float])
    outcomes: list[tuple[float, bool]] = attrs.field(factory=list[tuple[float, bool]])
    generation: int = 0

    def move(self, new: CircuitState, now: float) -> None:
        self.state = new
        self.generation += 1
        self.in_flight = []
        if new is OPEN:
            self.opened_at = now
        if new is CLOSED:
            self.failures = 0
            self.outcomes = []

    def recent(self, now: float) -> list[bool]:
        width = self.window / 10
        oldest = math.floor((now - self.window) / width)
        return [failed for at, failed in self.outcomes if math.floor(at / width) >= oldest]

    def acquire(self, now: float) -> tuple[int, bool] | None:
        if self.state is OPEN:
            if now < self.opened_at + self.recovery:
                return None
            self.move(HALF_OPEN, now)
        if self.state is HALF_OPEN:
            self.in_flight = [t for t in self.in_flight if t + self.probe_timeout > now]
            if len(self.in_flight) >= self.probes:
                return None
            self.in_flight.append(now)
            return (self.generation, True)
        return (self.generation, False)

    def finish(self, permit: tuple[int, bool], outcome: str, now: float) -> None:
        generation, probe = permit
        if generation != self.generation:
            return
        if probe and self.in_flight:
            self.in_flight.pop(0)
        if outcome == "release":
            return
        if outcome == "success":
            self.failures = 0
            if probe:
                self.move(CLOSED, now)
            else:
                self.outcomes.append((now, False))
            return
        self.failures += 1
        if probe:
            self.move(OPEN, now)
            return
        self.outcomes.append((now, True))
        recent = self.recent(now)
        if (self.threshold is not None and self.failures >= self.threshold) or (
            self.rate is not None
            and len(recent) >= self.minimum
            and sum(recent) >= self.rate * len(recent)
        ):
            self.move(OPEN, now)


def finish(breaker: CircuitBreaker, permit: CircuitPermit, outcome: str) -> None:
    if outcome == "success":
        breaker.record_success(permit)
    elif outcome == "failure":
        breaker.record_failure(permit)
    else:
        breaker.release(permit)


operations = st.lists(
    st.tuples(
        st.sampled_from(["start", "failure", "failure", "success", "release", "sleep"]),
        st.integers(0, 12),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(
    threshold=st.none() | st.integers(1, 4),
    rate=st.none() | st.sampled_from([0.25, 0.5, 1.0]),
    window=st.sampled_from([5.0, 10.0, 30.0]),
    minimum=st.integers(1, 8),
    recovery=st.integers(1, 8),
    probes=st.integers(1, 3),
    probe_timeout=st.sampled_from([2.0, 10.0]),
    ops=operations,
)
def test_breaker_matches_the_model(
    threshold: int | None,
    rate: float | None,
    window: float,
    minimum: int,
    recovery: int,
    probes: int,
    probe_timeout: float,
    ops: list[tuple[str, int]],
) -> None:
    if threshold is None and rate is None:
        rate = 0.5  # the breaker refuses settings under which it could never open

    async def scenario() -> None:
        transitions: list[tuple[CircuitState, CircuitState]] = []
        breaker = CircuitBreaker(
            failure_threshold=threshold,
            recovery_time=float(recovery),
            half_open_probes=probes,
            on_transition=lambda t: transitions.append((t.old, t.new)),
            failure_rate=rate,
            window=window,
            minimum_calls=minimum,
            probe_timeout=probe_timeout,
        )
        model = Model(threshold, rate, window, minimum, float(recovery), probes, probe_timeout)
        pending: list[tuple[CircuitPermit, tuple[int, bool]]] = []
        for op, arg in ops:
            now = trio.current_time()
            if op == "sleep":
                await trio.sleep(arg / 2)
            elif op == "start":
                expected = model.acquire(now)
                try:
                    permit = breaker.acquire()
                except CircuitOpen as refused:
                    assert expected is None
                    assert refused.retry_after is not None and refused.retry_after > 0
                else:
                    assert expected == (permit.generation, permit.probe)
                    pending.append((permit, expected))
            elif pending and arg % 2:
                # finish a call that has been in flight
                permit, model_permit = pending.pop(arg % len(pending))
                finish(breaker, permit, op)
                model.finish(model_permit, op, now)
            else:
                # a quick call: admitted (or refused) and finished at once
                expected = model.acquire(now)
                try:
                    permit = breaker.acquire()
                except CircuitOpen:
                    assert expected is None
                else:
                    assert expected == (permit.generation, permit.probe)
                    finish(breaker, permit, op)
                    model.finish(expected, op, now)
            assert breaker.state is model.state
            assert breaker.consecutive_failures == model.failures
            if breaker.state is CLOSED:
                recent = model.recent(trio.current_time())
                assert breaker.recent == (len(recent), sum(recent))
            # Every transition is reported and each one changes the state.
            assert all(old is not new for old, new in transitions)
            if transitions:
                assert transitions[-1][1] is breaker.state

    trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))


async def test_stale_release_does_not_free_a_new_probe_slot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, recovery_time=1.0, half_open_probes=2)
    fail(breaker)
    await trio.sleep(1.0)
    old_probe = breaker.acquire()
    breaker.record_failure(breaker.acquire())  # the other probe fails: open again
    await trio.sleep(1.0)
    breaker.acquire()
    breaker.acquire()
    breaker.release(old_probe)
    with pytest.raises(CircuitOpen):
        breaker.acquire()


# --- the failure rate ----------------------------------------------------------------------


def _random_faults(
    clock: trio.testing.MockClock, breaker: CircuitBreaker, share: float, calls: int
) -> int:
    """``calls`` calls 1 ms apart, each failing with probability ``share``; how many the
    breaker refused."""
    rng = random.Random(13)
    refused = 0
    for _ in range(calls):
        clock.jump(0.001)
        try:
            permit = breaker.acquire()
        except CircuitOpen:
            refused += 1
            continue
        if rng.random() < share:
            breaker.record_failure(permit)
        else:
            breaker.record_success(permit)
    return refused


async def test_random_faults_never_open_the_default_breaker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # fixed here: 5 consecutive failures opened it for 30 s again and again under a
    # steady 10% of faults, failing thousands of calls fast against a healthy provider
    clock = autojump_clock
    assert _random_faults(clock, CircuitBreaker(), 0.10, 50_000) == 0
    assert _random_faults(clock, CircuitBreaker(), 0.25, 50_000) == 0
    # the seeds' rule alone (the old default): runs of bad luck shut it for 30 s each
    seeds_rule = CircuitBreaker(failure_threshold=5, recovery_time=30.0, failure_rate=None)
    assert _random_faults(clock, seeds_rule, 0.25, 50_000) > 10_000


async def test_a_provider_that_is_down_opens_it_and_probes_return_within_seconds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[CircuitTransition] = []
    breaker = CircuitBreaker(on_transition=seen.append)  # the defaults
    for _ in range(19):
        fail(breaker)
    assert breaker.state is CLOSED  # fewer than minimum_calls: a quiet model's bad luck
    fail(breaker)
    assert breaker.state is OPEN
    assert seen[-1].reason == "after 20 of 20 calls failed in the last 10 s"
    with pytest.raises(CircuitOpen, match="20 of 20 calls failed") as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(5.0)
    await trio.sleep(5.0)
    stalled = breaker.acquire()  # a probe the provider never answers
    assert stalled.probe
    with pytest.raises(CircuitOpen, match="half-open") as refused:
        breaker.acquire()
    assert refused.value.retry_after == pytest.approx(10.0)
    await trio.sleep(10.0)
    second = breaker.acquire()  # the stalled probe no longer holds the slot
    assert second.probe
    breaker.record_success(second)
    assert breaker.state is CLOSED
    assert breaker.recent == (0, 0)


async def test_old_failures_leave_the_window(autojump_clock: trio.testing.MockClock) -> None:
    breaker = CircuitBreaker(minimum_calls=10, window=10.0)
    for _ in range(9):
        fail(breaker)
    await trio.sleep(12.0)  # those nine are older than the window now
    for _ in range(9):
        breaker.record_success(breaker.acquire())
    fail(breaker)
    assert breaker.recent == (10, 1)
    assert breaker.state is CLOSED


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"failure_rate": 0.0}, "failure_rate"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"window": 0}, "window"),
        ({"minimum_calls": 0}, "minimum_calls"),
        ({"probe_timeout": -1}, "probe_timeout"),
        ({"failure_rate": None}, "failure_rate"),  # then nothing could open it
    ],
)
def test_invalid_rate_settings(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        CircuitBreaker(**settings)  # type: ignore[arg-type]
    assert info.value.field == field
