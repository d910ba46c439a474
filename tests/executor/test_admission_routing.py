"""executor.admission.estimate_delay() and snapshot(): what a router reads, on MockClock."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

from callboard import Admission, AdmissionPolicy, AdmissionSnapshot, ConfigError, LimitSnapshot
from callboard.calling import Calling
from callboard.executor import Executor
from callboard.limits import RateLimitState
from tests.backends import NoopBackend, SleepingBackend

BURST = AdmissionPolicy(pacing="burst")


@asynccontextmanager
async def running(executor: Executor) -> AsyncIterator[Executor]:
    async with trio.open_nursery() as nursery:
        await nursery.start(executor.run)
        yield executor
        executor.ref.stop()


async def test_no_limit_means_no_delay(autojump_clock: trio.abc.Clock):
    async with running(Executor(NoopBackend())) as executor:
        assert isinstance(executor.admission, Admission)
        assert executor.admission.estimate_delay() == 0.0
        assert executor.admission.estimate_delay(10_000) == 0.0
        snapshot = executor.admission.snapshot()
    assert isinstance(snapshot, AdmissionSnapshot)
    assert snapshot.requests is None and snapshot.tokens is None
    assert snapshot.paused_until is None and snapshot.refusals == 0


async def test_request_bucket_delay_falls_as_it_refills(autojump_clock: trio.abc.Clock):
    # 10 requests per 10 s, full bursts: ten go at once, then one a second.
    executor = Executor(
        NoopBackend(), limit_requests=10, capacity_refresh_time=10.0, admission_policy=BURST
    )
    async with running(executor):
        admission = executor.admission
        assert admission.estimate_delay() == 0.0
        for _ in range(10):
            await executor.call(Calling({"x": 1}))
        start = trio.current_time()
        assert admission.estimate_delay() == pytest.approx(1.0, abs=1e-6)
        await trio.sleep(0.25)
        assert admission.estimate_delay() == pytest.approx(0.75, abs=1e-6)
        snapshot = admission.snapshot()
        assert isinstance(snapshot.requests, LimitSnapshot)
        assert snapshot.requests.configured_rate == pytest.approx(1.0)
        assert snapshot.requests.effective_rate == pytest.approx(1.0)
        assert snapshot.requests.available == pytest.approx(0.25, abs=1e-6)
        # Waiting the estimate is enough: a call now starts without waiting more.
        await trio.sleep(admission.estimate_delay())
        await executor.call(Calling({"x": 1}))
        assert trio.current_time() - start == pytest.approx(1.0, abs=1e-6)


async def test_queued_calls_count_ahead(autojump_clock: trio.abc.Clock):
    # One slot, each call takes 5 s: the bucket (1 a second after its burst of 2) is
    # not the bottleneck; what is queued ahead of a new call is.
    executor = Executor(
        SleepingBackend(delay=5.0),
        limit_requests=2,
        capacity_refresh_time=2.0,
        concurrency_limit=1,
        admission_policy=BURST,
    )
    async with running(executor), trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(executor.call, Calling({"x": 1}))
        await trio.sleep(0.5)
        # One running (it took a request: the bucket holds 1 + 0.5 refilled), one
        # waiting for the slot, two queued: a new call is the third request from now,
        # 1.5 s away (0 s if the queue were not counted).
        assert executor.queued == 2
        assert executor.admission.estimate_delay() == pytest.approx(1.5, abs=1e-6)
        nursery.cancel_scope.cancel()


async def test_token_bucket_delay_and_capacity(autojump_clock: trio.abc.Clock):
    # 600 tokens per 60 s: 10 a second, at most 600 at once.
    executor = Executor(
        NoopBackend(),
        limit_tokens=600,
        capacity_refresh_time=60.0,
        admission_policy=BURST,
        token_estimator=lambda payload: int(payload["n"]),
    )
    async with running(executor):
        admission = executor.admission
        assert admission.estimate_delay(600) == 0.0
        assert admission.estimate_delay(601) == math.inf  # can never start here
        await executor.call(Calling({"n": 500}))
        # NoopBackend reports no usage: the 500 stay charged; 100 are left.
        assert admission.estimate_delay(100) == 0.0
        assert admission.estimate_delay(200) == pytest.approx(10.0, abs=1e-6)
        assert admission.estimate_delay() == 0.0  # the request alone: no token limit
        snapshot = admission.snapshot()
        assert snapshot.tokens is not None and snapshot.requests is None
        assert snapshot.tokens.available == pytest.approx(100.0, abs=1e-6)


async def test_the_pause_is_counted_and_capped(autojump_clock: trio.abc.Clock):
    executor = Executor(NoopBackend(), admission_policy=AdmissionPolicy(max_pause=30.0))
    async with running(executor):
        admission = executor.admission
        calling = Calling({"x": 1})
        await executor.call(calling)
        now = trio.current_time()
        # retry-after: 99999 must not freeze the model for a day: the pause is capped.
        admission.feedback(calling, RateLimitState(retry_after=99999.0), 200)
        assert admission.estimate_delay() == pytest.approx(30.0, abs=1e-6)
        snapshot = admission.snapshot()
        assert snapshot.paused_until == pytest.approx(now + 30.0)
        assert snapshot.max_pause == 30.0
        assert snapshot.last_headers == RateLimitState(retry_after=99999.0)
        await trio.sleep(10.0)
        assert admission.estimate_delay() == pytest.approx(20.0, abs=1e-6)
        await executor.call(Calling({"x": 2}))
        assert trio.current_time() == pytest.approx(now + 30.0, abs=1e-6)
        assert admission.estimate_delay() == 0.0
        assert admission.snapshot().paused_until is None


@pytest.mark.parametrize("tokens", [-1, 1.5, "10", True])
async def test_bad_token_counts_are_a_config_error(tokens: object):
    async with running(Executor(NoopBackend())) as executor:
        with pytest.raises(ConfigError, match="tokens must be an int >= 0"):
            executor.admission.estimate_delay(tokens)  # type: ignore[arg-type]
