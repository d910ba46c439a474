"""What an AdaptiveLimiter learns from the provider, on a simulated clock.

Each test pins one rule of ``callboard.limits._adaptive`` / ``_controller``: headers may
lower the level but never lift admission above the smooth pace, a refused call waiting
for its turn is not in flight, the first burst holds half back until a first answer,
calibration does not feed corrections in flight back into itself, and a refusal's cut
depends on whether it is isolated.
"""

from __future__ import annotations

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard import AdaptiveLimiter, AdmissionPolicy, TokenCharge
from callboard.limits import RateController, RateLimitState
from tests.limits.test_bucket_properties import assert_window_bound, run_simulated


async def test_a_minute_of_room_in_the_headers_does_not_lift_the_pace(
    autojump_clock: object,
) -> None:
    """A provider that reports the minute's remaining (2,900 of 3,000) while it enforces
    50 a second: answering every grant with that header must not refill the bucket, so
    one second admits about 50, not one per answer."""
    limiter = AdaptiveLimiter(3000, 60.0)  # 50 a second, a bucket of 47.5
    limiter.clean()  # a first answer: the whole bucket is there
    start = trio.current_time()
    granted = 0
    while trio.current_time() - start < 1.0:
        await limiter.acquire()
        granted += 1
        key = object()
        limiter.hold(key, 1)
        limiter.feedback(RateLimitState(limit_requests=3000, remaining_requests=2900), since=0)
        limiter.unhold(key)
    assert granted <= 47.5 + 50 + 1


async def test_a_header_below_the_level_lowers_it(autojump_clock: object) -> None:
    limiter = AdaptiveLimiter(600, 60.0)
    limiter.clean()
    limiter.feedback(RateLimitState(remaining_requests=3), since=0)
    assert limiter.available <= 3 - 1  # less one typical grant


async def test_a_header_gives_back_what_only_the_grants_in_flight_explained(
    autojump_clock: object,
) -> None:
    """A burst of 20 in flight: the first answer cannot tell whether the provider counted
    the other 19 and lowers the level as if not; the last answer shows it did, and the
    level comes back (never above the burst)."""
    limiter = AdaptiveLimiter(1200, 60.0)  # 20 a second, a bucket of 19
    limiter.clean()
    keys = [object() for _ in range(19)]
    for key in keys:
        assert limiter.try_acquire(1)
        limiter.hold(key, 1)
    # The provider's bucket of 20 counted all 19 before answering the first.
    limiter.feedback(RateLimitState(remaining_requests=1), since=limiter.answered(keys[0]))
    assert limiter.available < -15
    for key in keys[1:]:
        limiter.feedback(RateLimitState(remaining_requests=1), since=limiter.answered(key))
    assert -0.5 <= limiter.available <= 0.5


async def test_a_refused_call_waiting_again_is_not_in_flight(autojump_clock: object) -> None:
    """What was granted while a refused call waits for its turn again was answered by
    the provider before the next header: it must not count as unanswered."""
    limiter = AdaptiveLimiter(6000, 60.0)
    refused = object()
    assert limiter.try_acquire(1)
    limiter.hold(refused, 1)
    limiter.answered(refused)  # its 429 came back; it waits for its turn
    for _ in range(30):
        key = object()
        await limiter.acquire()
        limiter.hold(key, 1)
        assert limiter.answered(key) == 0.0  # nothing else was in flight


async def test_the_first_burst_holds_half_back_until_a_first_answer(
    autojump_clock: object,
) -> None:
    limiter = AdaptiveLimiter(1200, 60.0)  # a bucket of 19
    assert limiter.available == 9.5
    key = object()
    assert limiter.try_acquire(1)
    limiter.hold(key, 1)
    limiter.answered(key)
    limiter.clean()
    assert limiter.available == 18.0
    burst = AdaptiveLimiter(1200, 60.0, policy=AdmissionPolicy(pacing="burst"))
    assert burst.available == 1200  # an explicit full burst is not probed


async def test_what_refilled_before_the_first_answer_is_taken_back(
    autojump_clock: object,
) -> None:
    """The provider's bucket starts when the first request arrives, not when it left:
    a slow first connection must not leave the client's bucket ahead of it (one 429 at
    the end of a full burst against exactly the configured limit)."""
    limiter = AdaptiveLimiter(600, 60.0, policy=AdmissionPolicy(pacing="burst"))
    key = object()
    await limiter.acquire(600)
    limiter.hold(key, 600)
    await trio.sleep(0.5)  # the first answer comes late: 5 refilled meanwhile
    limiter.answered(key)
    limiter.clean()
    assert abs(limiter.available) < 1e-9
    await trio.sleep(0.5)
    limiter.clean()
    assert abs(limiter.available - 5.0) < 1e-9  # from then on it refills as configured


async def test_a_refusal_before_the_first_answer_keeps_the_half_back(
    autojump_clock: object,
) -> None:
    limiter = AdaptiveLimiter(1200, 60.0)
    key = object()
    assert limiter.try_acquire(1)
    limiter.hold(key, 1)
    limiter.refused(key)
    limiter.clean()
    assert limiter.available <= 0.0


async def test_headers_give_back_reservations_kept_beyond_the_usage(
    autojump_clock: object,
) -> None:
    """``token_accounting="reserved"`` keeps the prompt + max_tokens; when the headers
    show the provider refunded, the level may rise by what was kept, no more."""
    policy = AdmissionPolicy(token_accounting="reserved", pacing="burst")
    limiter = AdaptiveLimiter(10_000, 60.0, unit="tokens", policy=policy)
    key = object()
    await limiter.acquire(1000)
    limiter.hold(key, 1000)
    since = limiter.answered(key)
    charge = TokenCharge(input_tokens=100, output_tokens=50, reserved_tokens=1000)
    limiter.settle(1000, estimate=1000, actual=150, charge=charge)
    assert limiter.available == 9000  # kept
    limiter.feedback(RateLimitState(remaining_tokens=9850), since=since)
    assert 9000 < limiter.available <= 9850


async def test_calibration_settles_when_many_calls_are_in_flight(
    autojump_clock: object,
) -> None:
    """The provider charges 13% of the estimate; with 32 calls in flight settling one
    after another, the calibration converges on it instead of swinging to its bounds."""
    limiter = AdaptiveLimiter(
        10**7, 60.0, unit="tokens", policy=AdmissionPolicy(token_accounting="input")
    )
    raw = 2300
    seen: list[float] = []
    for _ in range(20):
        scaled = [limiter.scale(raw) for _ in range(32)]
        for estimate in scaled:
            charge = TokenCharge(input_tokens=300, output_tokens=20)
            limiter.settle(estimate, estimate=estimate, actual=2320, charge=charge)
            seen.append(limiter.calibration)
    assert abs(seen[-1] - 300 / raw) < 0.01
    assert min(seen[32:]) > 0.1 and max(seen[32:]) < 1.0


def test_an_isolated_refusal_cuts_a_third_as_deep_and_recovers_sooner() -> None:
    policy = AdmissionPolicy(decrease=0.7, recovery=10.0)
    controller = RateController(30.0, policy)
    controller.refused(now=100.0, accepted=0.0)
    assert controller.rate == 27.0  # a third of 30%
    controller.refused(now=100.2, accepted=2.0)  # again, too soon to measure
    assert abs(controller.rate - 27.0 * 0.7) < 1e-9
    again = RateController(30.0, policy)
    again.refused(now=0.0, accepted=0.0)
    again.refused(now=50.0, accepted=0.0)  # a whole recovery later: isolated again
    assert abs(again.rate - 27.0 * 0.9) < 1e-9
    calm = RateController(30.0, policy)
    calm.refused(now=50.0, accepted=0.0)
    # The curve is CUBIC's: a cut of a third of the depth is back at the peak after
    # cbrt(1/3) of the recovery, not after all of it.
    t = 50.0
    calm.clean(t)
    while calm.rate < 30.0 - 1e-9 and t < 70.0:
        t += 0.1
        calm.clean(t)
    assert t - 50.0 <= 10.0 * (1 / 3) ** (1 / 3) + 0.2


async def test_refusals_of_grants_before_a_lower_limit_header_do_not_cut(
    autojump_clock: object,
) -> None:
    """The header said the limit is half what was configured: the refusals of what went
    out before it are explained by it, not by a rate still too high."""
    limiter = AdaptiveLimiter(3000, 60.0)
    keys = [object() for _ in range(8)]
    for key in keys:
        assert limiter.try_acquire(1)
        limiter.hold(key, 1)
    limiter.feedback(RateLimitState(limit_requests=1500), since=limiter.answered(keys[0]))
    assert limiter.rate == 25.0
    assert not any(limiter.refused(key) for key in keys[1:])
    assert limiter.rate == 25.0
    later = object()
    await limiter.acquire()
    limiter.hold(later, 1)
    assert limiter.refused(later)
    assert limiter.rate is not None and limiter.rate < 25.0


@settings(max_examples=60, deadline=None)
@given(
    per_minute=st.integers(60, 6_000),
    headers=st.lists(
        st.tuples(st.floats(0, 0.3), st.integers(0, 100_000), st.integers(0, 40)),
        min_size=1,
        max_size=80,
    ),
)
def test_headers_never_lift_admission_above_the_smooth_pace(
    per_minute: int, headers: list[tuple[float, int, int]]
) -> None:
    """Whatever ``remaining`` the headers report, whatever is in flight, a smooth limiter
    admits at most its burst plus its rate over any window (its effective bucket),
    after a first answer released the bucket's second half."""
    rate = per_minute / 60.0
    granted: list[tuple[float, float]] = []

    async def program() -> None:
        limiter = AdaptiveLimiter(per_minute, 60.0)
        limiter.clean()
        burst = limiter.burst
        keys: list[object] = []

        async def take() -> None:
            await limiter.acquire(1)
            granted.append((trio.current_time(), 1.0))
            key = object()
            limiter.hold(key, 1)
            keys.append(key)

        async with trio.open_nursery() as nursery:
            for wait, remaining, grants in headers:
                for _ in range(grants):
                    nursery.start_soon(take)
                await trio.sleep(wait)
                since = limiter.answered(keys.pop(0)) if keys else 0.0
                limiter.feedback(RateLimitState(remaining_requests=remaining), since=since)
                assert limiter.available <= burst + 1e-9
            nursery.cancel_scope.cancel()
        assert_window_bound(granted, burst, burst / rate)

    run_simulated(program)
