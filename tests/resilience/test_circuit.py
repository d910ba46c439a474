"""CircuitBreaker: transitions on the Trio clock, probes, guard, and a model-based check."""

from __future__ import annotations

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
            name="openai-chat", old=CLOSED, new=OPEN, at=opened, consecutive_failures=3
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
    assert info.value.retry_after is None
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
    """The breaker's rules, written as plainly as possible."""

    threshold: int
    recovery: float
    probes: int
    state: CircuitState = CLOSED
    failures: int = 0
    opened_at: float = 0.0
    in_flight: int = 0
    generation: int = 0

    def move(self, new: CircuitState, now: float) -> None:
        self.state = new
        self.generation += 1
        self.in_flight = 0
        if new is OPEN:
            self.opened_at = now
        if new is CLOSED:
            self.failures = 0

    def acquire(self, now: float) -> tuple[int, bool] | None:
        if self.state is OPEN:
            if now < self.opened_at + self.recovery:
                return None
            self.move(HALF_OPEN, now)
        if self.state is HALF_OPEN:
            if self.in_flight >= self.probes:
                return None
            self.in_flight += 1
            return (self.generation, True)
        return (self.generation, False)

    def finish(self, permit: tuple[int, bool], outcome: str, now: float) -> None:
        generation, probe = permit
        if generation != self.generation:
            return
        if outcome == "release":
            self.in_flight -= probe
        elif outcome == "success":
            self.failures = 0
            if probe:
                self.move(CLOSED, now)
        else:
            self.failures += 1
            if probe or self.failures >= self.threshold:
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
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(
    threshold=st.integers(1, 4),
    recovery=st.integers(1, 8),
    probes=st.integers(1, 3),
    ops=operations,
)
def test_breaker_matches_the_model(
    threshold: int, recovery: int, probes: int, ops: list[tuple[str, int]]
) -> None:
    async def scenario() -> None:
        transitions: list[tuple[CircuitState, CircuitState]] = []
        breaker = CircuitBreaker(
            failure_threshold=threshold,
            recovery_time=float(recovery),
            half_open_probes=probes,
            on_transition=lambda t: transitions.append((t.old, t.new)),
        )
        model = Model(threshold, float(recovery), probes)
        pending: list[tuple[CircuitPermit, tuple[int, bool]]] = []
        for op, arg in ops:
            now = trio.current_time()
            if op == "sleep":
                await trio.sleep(arg)
            elif op == "start":
                expected = model.acquire(now)
                try:
                    permit = breaker.acquire()
                except CircuitOpen:
                    assert expected is None
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
