"""Every retry attempt, and every call refused for rate, passes the Executor's request
and token limiters again."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import pytest
import trio

from callboard.calling import Calling
from callboard.limits import AdmissionPolicy, TokenBucket
from callboard.resilience import RateLimited, RetryPolicy
from callboard.testing import Fault

from .endpoint_rig import CHAT, Rig, rig

ESTIMATE = 200
CAPACITY = 250  # one estimate fits, two do not: a retry must wait for a refill
PERIOD = 60.0


def _token_rig(policy: RetryPolicy) -> AbstractAsyncContextManager[Rig]:
    return rig(
        retry=policy,
        executor_options={
            "limit_tokens": CAPACITY,
            "capacity_refresh_time": PERIOD,
            "token_estimator": lambda _payload: ESTIMATE,
            # The configured bucket's arithmetic exactly: full bursts, nothing learned.
            "admission_policy": AdmissionPolicy(pacing="burst", learn=False),
        },
    )


async def test_a_retry_reserves_its_tokens_again_and_everything_is_reconciled(
    autojump_clock: object,
) -> None:
    policy = RetryPolicy(max_retries=2, base_delay=0.5, jitter="none")
    async with _token_rig(policy) as r:
        assert r.executor.tokens_limiter is not None
        bucket = r.executor.tokens_limiter.ceiling
        assert isinstance(bucket, TokenBucket)
        r.fp.script("*", [Fault.error(429, should_retry=True), Fault.stall(5.0)])
        calling = Calling(dict(CHAT))
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(r.executor.call, calling)
            await r.fp.wait_received(2)
            # Both attempts' estimates are held while the retry is on the wire.
            assert r.executor.tokens_in_flight == 2 * ESTIMATE
        arrivals = [request.arrival - start for request in r.fp.requests]
        assert calling.status.value == "completed"
        assert calling.actual_tokens is not None and 0 < calling.actual_tokens < ESTIMATE
        # Settled once for both reservations: nothing in flight, and the refund of
        # 2 * ESTIMATE - actual filled the bucket back up (a leaked retry reservation
        # would leave it short of capacity).
        assert r.executor.tokens_in_flight == 0
        assert r.executor.in_flight == 0
        assert bucket.available == pytest.approx(CAPACITY)
    # The retry waited for the bucket to hold another estimate: after the first took
    # 200 of 250, 150 more refill at 250 / 60 s per second, i.e. 36 s after the start.
    rate = CAPACITY / PERIOD
    assert arrivals[0] == pytest.approx(0.0, abs=1e-6)
    assert arrivals[1] == pytest.approx((2 * ESTIMATE - CAPACITY) / rate, abs=1e-3)


async def test_a_retry_that_is_cancelled_waiting_for_tokens_holds_nothing(
    autojump_clock: object,
) -> None:
    policy = RetryPolicy(max_retries=2, base_delay=0.5, jitter="none")
    async with _token_rig(policy) as r:
        r.fp.script("*", [Fault.error(429, should_retry=True)])
        calling = Calling(dict(CHAT))
        with trio.move_on_after(10.0):  # the retry needs 36 s of refill
            await r.executor.call(calling)
        assert calling.status.value == "cancelled"
        assert len(r.fp.requests) == 1
        assert r.executor.tokens_in_flight == 0
        # The refused attempt used nothing: its whole reservation came back.
        assert r.executor.tokens_limiter is not None
        bucket = r.executor.tokens_limiter.ceiling
        assert isinstance(bucket, TokenBucket)
        assert bucket.available == pytest.approx(CAPACITY)


async def test_a_429_with_x_should_retry_false_is_not_retried() -> None:
    async with rig() as r:
        r.fp.script("*", [Fault.error(429, should_retry=False), None])
        with pytest.raises(RateLimited) as caught:
            await r.executor.call(Calling(dict(CHAT)))
        assert len(r.fp.requests) == 1
        assert r.fp.requests[0].status == 429
    assert caught.value.status == 429
    assert caught.value.should_retry is False


async def test_a_429_with_x_should_retry_true_is_retried(autojump_clock: object) -> None:
    # Even with no retries at all: a 429 is not the call's failure.
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.fp.script("*", [Fault.error(429, should_retry=True), None])
        response = await r.executor.call(Calling(dict(CHAT)))
        assert [request.status for request in r.fp.requests] == [429, 200]
    assert response.text.endswith("hello there")
