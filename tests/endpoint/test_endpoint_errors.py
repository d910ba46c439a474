"""Every failure a provider can produce reaches the caller as its typed error."""

from __future__ import annotations

import pytest
import trio

from callboard.calling import Calling
from callboard.endpoint import CallingRetrying, CircuitChanged, CircuitSettings
from callboard.executor import CallingRequeued
from callboard.resilience import (
    AuthenticationError,
    BadRequest,
    CircuitOpen,
    Conflict,
    ConnectionFailed,
    InvalidResponse,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProviderError,
    RateLimited,
    RetryPolicy,
    ServerError,
    Timeout,
)
from callboard.testing import FakeProvider, Fault

from .endpoint_rig import CHAT, ROUTES, drain, rig

STATUSES: list[tuple[int, type[ProviderError]]] = [
    (400, BadRequest),
    (401, AuthenticationError),
    (403, PermissionDenied),
    (404, NotFound),
    (408, Timeout),
    (409, Conflict),
    (422, BadRequest),
    (429, RateLimited),
    (500, ServerError),
    (502, ServerError),
    (503, ServerError),
    (529, Overloaded),
]


# A 429 is not the call's failure: it goes back to its place in the queue (see
# test_endpoint_rate_refusal.py), so it is left out here.
FINAL = [(status, kind) for status, kind in STATUSES if status != 429]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize(("status", "kind"), FINAL, ids=[str(s) for s, _ in FINAL])
async def test_each_error_status_becomes_its_typed_error(
    provider: str, status: int, kind: type[ProviderError]
) -> None:
    async with rig(provider, retry=RetryPolicy.disabled()) as r:
        r.fp.script(ROUTES[provider], [Fault.error(status)])
        calling = Calling(dict(CHAT))
        with pytest.raises(kind) as caught:
            await r.executor.call(calling)
    error = caught.value
    assert type(error) is kind
    assert (error.status, error.provider, error.calling_id) == (status, provider, calling.id)
    assert calling.actual_tokens == 0  # refused: the whole reservation is refunded


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault.html_502(), ServerError),
        (Fault.malformed_json(), InvalidResponse),
        (Fault.reset(), ConnectionFailed),
    ],
)
async def test_broken_answers_become_typed_errors(fault: Fault, kind: type[ProviderError]) -> None:
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.fp.script("*", [fault])
        calling = Calling(dict(CHAT))
        with pytest.raises(kind) as caught:
            await r.executor.call(calling)
    assert caught.value.calling_id == calling.id
    assert caught.value.provider == "openai"


async def test_an_html_error_page_says_so() -> None:
    async with rig(retry=RetryPolicy.disabled()) as r:
        r.fp.script("*", [Fault.html_502()])
        with pytest.raises(ServerError, match="HTML page"):
            await r.executor.call(Calling(dict(CHAT)))


async def test_a_wrong_key_is_an_authentication_error_without_the_key() -> None:
    fp = FakeProvider(keys=["the-right-key"])
    async with rig(fp=fp) as r:
        calling = Calling(dict(CHAT))
        with pytest.raises(AuthenticationError) as caught:
            await r.executor.call(calling)
    assert caught.value.status == 401
    assert "test-key" not in str(caught.value) + repr(caught.value)
    assert len(fp.requests) == 1  # a 401 is not retried


async def test_retry_timing_follows_an_exact_429_503_script(autojump_clock: object) -> None:
    policy = RetryPolicy(max_retries=3, base_delay=0.5, multiplier=2.0, jitter="none")
    async with rig(retry=policy) as r, r.bus.subscribe() as events:
        r.fp.script("*", [Fault.rate_limited(), Fault.error(503), None])
        calling = Calling(dict(CHAT))
        start = trio.current_time()
        response = await r.executor.call(calling)
        arrivals = [request.arrival - start for request in r.fp.requests]
        keys = {request.header("idempotency-key") for request in r.fp.requests}
        seen = drain(events)
        retries = [e for e in seen if isinstance(e, CallingRetrying)]
        requeued = [e for e in seen if isinstance(e, CallingRequeued)]
    assert response.text.endswith("hello there")
    # The 429 (retry-after 1 s) sends the call back to admission without spending a
    # retry; the 503 is the first retry: backoff 0.5 * 2 ** (1 - 1) = 0.5 s.
    assert arrivals == pytest.approx([0.0, 1.0, 1.5], abs=1e-6)
    assert keys == {f"callboard-{calling.id}"}
    assert [(e.calling_id, e.wait) for e in requeued] == [(calling.id, 1.0)]
    assert [(e.attempt, e.delay) for e in retries] == [(1, 0.5)]
    assert calling.attempts == 1  # one dispatch; retries happen inside the Endpoint


async def test_should_retry_false_is_never_retried() -> None:
    async with rig() as r:
        r.fp.script("*", [Fault.error(503, should_retry=False), None])
        with pytest.raises(ServerError):
            await r.executor.call(Calling(dict(CHAT)))
        assert len(r.fp.requests) == 1


async def test_retries_stop_at_the_policy_bound(autojump_clock: object) -> None:
    async with rig(retry=RetryPolicy(max_retries=2, jitter="none")) as r:
        r.fp.script("*", [Fault.error(500)] * 5)
        with pytest.raises(ServerError) as caught:
            await r.executor.call(Calling(dict(CHAT)))
        assert len(r.fp.requests) == 3
    assert any("gave up after 3 attempts" in note for note in caught.value.__notes__)


async def test_circuit_opens_fails_fast_then_probes_and_closes(autojump_clock: object) -> None:
    circuit = CircuitSettings(failure_threshold=2, recovery_time=10.0)
    async with (
        rig(retry=RetryPolicy.disabled(), circuit=circuit) as r,
        r.bus.subscribe() as events,
    ):
        r.fp.script("*", [Fault.error(500), Fault.error(500)])
        for _ in range(2):
            with pytest.raises(ServerError):
                await r.executor.call(Calling(dict(CHAT)))
        with pytest.raises(CircuitOpen) as refused:
            await r.executor.call(Calling(dict(CHAT)))
        assert refused.value.retry_after == pytest.approx(10.0)
        assert len(r.fp.requests) == 2  # the open circuit sent nothing
        await trio.sleep(10.0)
        assert (await r.executor.call(Calling(dict(CHAT)))).status_code == 200
        changes = [e for e in drain(events) if isinstance(e, CircuitChanged)]
    assert [(c.old, c.new) for c in changes] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]
    assert all(c.endpoint == "openai:chat" for c in changes)


async def test_rate_limits_and_bad_requests_do_not_trip_the_circuit() -> None:
    circuit = CircuitSettings(failure_threshold=1)
    async with rig(retry=RetryPolicy.disabled(), circuit=circuit) as r:
        r.fp.script("*", [Fault.error(429), Fault.error(400), Fault.error(429, should_retry=False)])
        with pytest.raises(BadRequest):  # the 429 went back to admission, then a 400
            await r.executor.call(Calling(dict(CHAT)))
        with pytest.raises(RateLimited):
            await r.executor.call(Calling(dict(CHAT)))
        assert r.endpoint.breaker.state.value == "closed"
