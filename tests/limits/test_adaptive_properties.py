"""Property tests of AdaptiveLimiter's rules, on a simulated clock.

The referee is the fake provider's own bucket (``callboard.testing``'s, which shares no
code with the client): a per-minute limit enforced per second, as OpenAI and Anthropic
document ("60 RPM may be enforced as 1 request per second").
"""

from __future__ import annotations

import math

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard import AdaptiveLimiter, AdmissionPolicy
from callboard.limits import RateController, RateLimitState
from callboard.testing._buckets import Refilling
from tests.limits.test_bucket_properties import assert_window_bound, run_simulated

TOLERANCE = 1e-6

# What a client does between grants: wait, ask for n units, be refused (a cut), get a
# clean response, read a header stating a limit (per minute).
step = st.one_of(
    st.tuples(st.just("acquire"), st.floats(0, 0.5), st.integers(1, 20)),
    st.tuples(st.just("refused"), st.floats(0, 0.5), st.just(0)),
    st.tuples(st.just("clean"), st.floats(0, 0.5), st.just(0)),
    st.tuples(st.just("limit"), st.floats(0, 0.5), st.integers(1, 10_000)),
)


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(60, 6_000),
    window=st.sampled_from([1.0, 2.0, 10.0, 60.0]),
    steps=st.lists(step, min_size=1, max_size=60),
)
def test_smooth_admission_stays_inside_the_providers_window(
    per_minute: int, window: float, steps: list[tuple[str, float, int]]
):
    """Whatever the feedback, a smooth limiter configured with the provider's exact
    per-minute limit is never refused by the provider enforcing it over a shorter
    window, never exceeds the configured limit over any window, and its effective
    rate never exceeds the configured one."""
    rate = per_minute / 60.0
    granted: list[tuple[float, float]] = []
    refused: list[tuple[float, float, float]] = []

    async def program() -> None:
        limiter = AdaptiveLimiter(per_minute, 60.0, unit="tokens")
        provider = Refilling(rate * window, rate, trio.current_time())

        async def take(n: int) -> None:
            await limiter.acquire(n)
            now = trio.current_time()
            provider.refill(now)
            if provider.wait_for(n, now) > 0:
                refused.append((now, n, provider.remaining()))
            provider.take(n)
            granted.append((now, n))

        async with trio.open_nursery() as nursery:
            for kind, wait, n in steps:
                await trio.sleep(wait)
                if kind == "acquire":
                    nursery.start_soon(take, min(n, int(limiter.burst) or 1))
                elif kind == "refused":
                    limiter.refused()
                elif kind == "clean":
                    limiter.clean()
                else:
                    limiter.feedback(RateLimitState(limit_requests=n, limit_tokens=n), since=0)
                snapshot = limiter.snapshot()
                assert snapshot.effective_rate is not None
                assert snapshot.effective_rate <= rate * (1 + TOLERANCE)
                assert snapshot.effective_burst <= per_minute + TOLERANCE

    run_simulated(program)
    assert not refused, f"the provider would have refused: {refused[:3]}"
    assert_window_bound(granted, per_minute, 60.0)


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(60, 6_000),
    decrease=st.floats(0.3, 0.9),
    recovery=st.floats(1.0, 30.0),
    cuts=st.lists(st.tuples(st.floats(0, 3), st.integers(1, 6_000)), min_size=1, max_size=10),
)
def test_the_rate_recovers_within_a_bounded_time(
    per_minute: int, decrease: float, recovery: float, cuts: list[tuple[float, int]]
):
    """After refusals and headers stating a lower limit, once the provider's limit is
    back and responses come back clean, the effective rate is back at the configured
    one within RateController.worst_recovery() seconds of clean responses."""
    policy = AdmissionPolicy(decrease=decrease, recovery=recovery)
    bound = RateController(per_minute / 60.0, policy).worst_recovery()
    back_at: list[float] = []

    async def program() -> None:
        limiter = AdaptiveLimiter(per_minute, 60.0, policy=policy)
        for wait, lowered in cuts:
            await trio.sleep(wait)
            limiter.feedback(RateLimitState(limit_requests=lowered), since=0)
            limiter.refused()
        # The provider's limit rises back to what was configured.
        limiter.feedback(RateLimitState(limit_requests=per_minute), since=0)
        start = trio.current_time()
        while trio.current_time() - start <= bound + 1.0:
            limiter.clean()
            snapshot = limiter.snapshot()
            assert snapshot.effective_rate is not None
            if snapshot.effective_rate >= per_minute / 60.0 * (1 - TOLERANCE):
                back_at.append(trio.current_time() - start)
                return
            await trio.sleep(0.1)

    run_simulated(program)
    assert back_at, f"not back at the configured rate after {bound:.1f} s of clean responses"
    # One step of 0.1 s of slack: the clean response that crosses the bound.
    assert back_at[0] <= bound + 0.1 + TOLERANCE
    assert math.isfinite(bound)
