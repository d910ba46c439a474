"""RetryPolicy: delays, what is retried, the driver's timing on the Trio clock, budgets."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing

from callboard.errors import ConfigError
from callboard.resilience import (
    Attempt,
    BadRequest,
    CircuitOpen,
    ConnectionFailed,
    InvalidResponse,
    ProviderError,
    RateLimited,
    RetryBudget,
    RetryPolicy,
    RetryScheduled,
    ServerError,
    StreamInterrupted,
    Timeout,
    error_from_response,
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("base_delay", -0.1),
        ("base_delay", float("inf")),
        ("max_delay", float("nan")),
        ("multiplier", 0.5),
        ("jitter", "half"),
        ("max_retry_after", -1),
        ("min_retry_after", -0.5),
    ],
)
def test_invalid_settings_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert field in str(info.value)


def test_budget_must_allow_an_attempt() -> None:
    with pytest.raises(ConfigError):
        RetryBudget(max_attempts=0)


def test_backoff_without_jitter_is_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, multiplier=3.0, max_delay=10.0, jitter="none")
    assert [policy.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.5, 4.5, 10.0, 10.0]
    assert policy.backoff(100_000) == 10.0


def test_full_jitter_uses_the_given_random_source() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0, jitter="full")
    expected = random.Random(7)
    got = [policy.backoff(n, rng=random.Random(7)) for n in (1, 2, 3)]
    assert got == [expected.uniform(0, 1.0), *[random.Random(7).uniform(0, d) for d in (2, 4)]]
    draws = [policy.backoff(3, rng=random.Random(seed)) for seed in range(200)]
    assert all(0 <= d <= 4.0 for d in draws)
    assert min(draws) < 1.0 < 3.0 < max(draws)


def test_equal_jitter_keeps_half_the_backoff() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=100.0, jitter="equal")
    draws = [policy.backoff(3, rng=random.Random(seed)) for seed in range(200)]
    assert all(2.0 <= d <= 4.0 for d in draws)
    assert policy.backoff(3, rng=random.Random(1)) == 2.0 + random.Random(1).uniform(0, 2.0)


@pytest.mark.parametrize(
    "error",
    [
        error_from_response(408, {}, b""),
        error_from_response(409, {}, b""),
        error_from_response(429, {}, b""),
        error_from_response(500, {}, b""),
        error_from_response(503, {}, b""),
        error_from_response(529, {}, b""),
        ConnectionFailed("refused"),
        Timeout("slow"),
    ],
)
def test_transient_errors_are_retried(error: ProviderError) -> None:
    policy = RetryPolicy(jitter="none", base_delay=1.0)
    assert policy.is_retryable(error)
    assert policy.delay_for(1, error) == 1.0


@pytest.mark.parametrize(
    "error",
    [
        error_from_response(400, {}, b""),
        error_from_response(401, {}, b""),
        error_from_response(403, {}, b""),
        error_from_response(404, {}, b""),
        error_from_response(422, {}, b""),
        InvalidResponse("html"),
        StreamInterrupted("cut", partial_text="x"),
        CircuitOpen("open", retry_after=3.0, should_retry=True),
    ],
)
def test_final_errors_are_not_retried(error: ProviderError) -> None:
    assert RetryPolicy().delay_for(1, error) is None


def test_x_should_retry_overrides_both_ways() -> None:
    policy = RetryPolicy(jitter="none", base_delay=1.0)
    assert policy.delay_for(1, error_from_response(400, {"x-should-retry": "true"}, b"")) == 1.0
    assert policy.delay_for(1, error_from_response(503, {"x-should-retry": "false"}, b"")) is None


def test_server_hint_is_used_exactly_and_an_excessive_one_gives_up() -> None:
    policy = RetryPolicy(jitter="full", max_retry_after=30.0)
    assert policy.delay_for(1, error_from_response(429, {"retry-after": "12"}, b"")) == 12.0
    assert policy.delay_for(1, error_from_response(429, {"retry-after-ms": "700"}, b"")) == 0.7
    assert policy.delay_for(1, error_from_response(429, {"retry-after": "31"}, b"")) is None


def test_a_zero_hint_waits_the_floor_not_nothing() -> None:
    # retry-after: 0 used to retry at once; the SDKs wait about half a second.
    policy = RetryPolicy()
    assert policy.delay_for(1, error_from_response(429, {"retry-after": "0"}, b"")) == 0.5
    assert policy.delay_for(1, error_from_response(503, {"retry-after-ms": "20"}, b"")) == 0.5
    exact = RetryPolicy(min_retry_after=0.0)
    assert exact.delay_for(1, error_from_response(429, {"retry-after-ms": "0"}, b"")) == 0.0


def test_other_exceptions_are_never_retried() -> None:
    assert not RetryPolicy().is_retryable(ValueError("x"))
    assert RetryPolicy().delay_for(1, ValueError("x")) is None


def test_delay_for_stops_after_max_retries() -> None:
    policy = RetryPolicy(max_retries=2, jitter="none")
    error = ServerError("x")
    assert policy.delay_for(2, error) is not None
    assert policy.delay_for(3, error) is None
    assert RetryPolicy.disabled().delay_for(1, error) is None


class Script:
    """A provider stand-in that fails with the given errors, then answers."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.attempts: list[tuple[float, Attempt]] = []

    async def __call__(self, attempt: Attempt) -> str:
        self.attempts.append((trio.current_time(), attempt))
        await trio.lowlevel.checkpoint()
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_429_503_script_waits_exactly_what_the_server_said(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Script(
        error_from_response(429, {"retry-after": "2"}, b""),
        error_from_response(503, {"retry-after-ms": "1500"}, b""),
        error_from_response(
            429,
            {
                "retry-after": "Wed, 21 Oct 2015 07:28:04 GMT",
                "date": "Wed, 21 Oct 2015 07:28:00 GMT",
            },
            b"",
        ),
        error_from_response(503, {}, b""),
    )
    policy = RetryPolicy(max_retries=5, base_delay=0.25, jitter="none")
    start = trio.current_time()
    assert await policy.run(script) == "ok"
    times = [round(t - start, 9) for t, _ in script.attempts]
    # 2 s (retry-after), 1.5 s (retry-after-ms), 4 s (HTTP date), then backoff for the
    # 4th failed attempt: 0.25 * 2**3 = 2 s.
    assert times == [0.0, 2.0, 3.5, 7.5, 9.5]
    assert [a.number for _, a in script.attempts] == [1, 2, 3, 4, 5]


async def test_backoff_timing_with_seeded_jitter(autojump_clock: trio.testing.MockClock) -> None:
    script = Script(ServerError("a"), ServerError("b"))
    policy = RetryPolicy(max_retries=3, base_delay=1.0, jitter="full")
    start = trio.current_time()
    await policy.run(script, rng=random.Random(42))
    expected = random.Random(42)
    first = expected.uniform(0, 1.0)
    second = expected.uniform(0, 2.0)
    times = [t - start for t, _ in script.attempts]
    assert times == pytest.approx([0.0, first, first + second])


async def test_gives_up_with_the_last_error_and_a_note(
    autojump_clock: trio.testing.MockClock,
) -> None:
    last = ServerError("third")
    script = Script(ServerError("first"), ServerError("second"), last)
    with pytest.raises(ServerError) as info:
        await RetryPolicy(max_retries=2, jitter="none").run(script)
    assert info.value is last
    assert len(script.attempts) == 3
    assert any("gave up after 3 attempts" in note for note in info.value.__notes__)


async def test_final_error_raises_at_once_without_a_note() -> None:
    script = Script(BadRequest("bad"))
    with pytest.raises(BadRequest) as info:
        await RetryPolicy().run(script)
    assert len(script.attempts) == 1
    assert not getattr(info.value, "__notes__", [])


async def test_other_exceptions_propagate_untouched() -> None:
    async def attempt(_: Attempt) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await RetryPolicy().run(attempt)


async def test_before_attempt_runs_before_every_attempt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events: list[str] = []

    async def before(attempt: Attempt) -> None:
        events.append(f"acquire {attempt.number}")

    async def attempt_fn(attempt: Attempt) -> str:
        events.append(f"call {attempt.number}")
        if attempt.number < 3:
            raise RateLimited("slow", retry_after=1.0)
        return "done"

    await RetryPolicy(max_retries=3).run(attempt_fn, before_attempt=before)
    assert events == ["acquire 1", "call 1", "acquire 2", "call 2", "acquire 3", "call 3"]


async def test_idempotency_key_is_stable_across_attempts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Script(ServerError("a"), Timeout("b"))
    budget = RetryBudget.for_calling("calling-123", max_attempts=5)
    await RetryPolicy(jitter="none").run(script, budget=budget)
    keys = {a.idempotency_key for _, a in script.attempts}
    assert keys == {"callboard-calling-123"}
    fresh = RetryBudget(max_attempts=2)
    assert fresh.idempotency_key.startswith("callboard-")
    assert fresh.idempotency_key != RetryBudget(max_attempts=2).idempotency_key


async def test_on_retry_reports_each_scheduled_retry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    first = RateLimited("slow", retry_after=3.0)
    reported: list[RetryScheduled] = []
    await RetryPolicy().run(Script(first), on_retry=reported.append)
    assert reported == [RetryScheduled(attempt=1, delay=3.0, error=first)]


async def test_nested_policies_share_one_budget(autojump_clock: trio.testing.MockClock) -> None:
    calls = 0

    async def always_fails(_: Attempt) -> None:
        nonlocal calls
        calls += 1
        await trio.lowlevel.checkpoint()
        raise ServerError("down")

    inner = RetryPolicy(max_retries=3, base_delay=0.1, jitter="none")
    outer = RetryPolicy(max_retries=3, base_delay=0.1, jitter="none")
    budget = RetryBudget(max_attempts=4)

    async def through_inner(_: Attempt) -> None:
        await inner.run(always_fails, budget=budget)

    with pytest.raises(ServerError):
        await outer.run(through_inner, budget=budget)
    # Without the shared budget this would be 4 × 4 = 16 requests.
    assert calls == 4
    assert budget.remaining_retries == 0


async def test_nested_without_budget_would_multiply(autojump_clock: trio.testing.MockClock) -> None:
    # The contrast case, documenting why the budget exists.
    calls = 0

    async def always_fails(_: Attempt) -> None:
        nonlocal calls
        calls += 1
        await trio.lowlevel.checkpoint()
        raise ServerError("down")

    policy = RetryPolicy(max_retries=2, base_delay=0.1, jitter="none")

    async def through_inner(_: Attempt) -> None:
        await policy.run(always_fails)

    with pytest.raises(ServerError):
        await policy.run(through_inner)
    assert calls == 9


async def test_cancelled_during_backoff_makes_no_further_attempt(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Script(RateLimited("slow", retry_after=10.0))
    with trio.move_on_after(5.0) as scope:
        await RetryPolicy().run(script)
    assert scope.cancelled_caught
    assert len(script.attempts) == 1
