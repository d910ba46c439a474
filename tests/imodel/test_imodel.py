"""iModel: construction, inline and started invocation, limits, errors, concurrency."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard.actors import LifecycleEvent
from callboard.calling import (
    Calling,
    CallingCompleted,
    CallingQueued,
    CallingStarted,
    CallingStatus,
    CallingTimeoutError,
)
from callboard.errors import CallboardError, ConfigError
from callboard.executor import Executor
from callboard.imodel import HookPhase, HookRegistry, InvocationError, iModel
from callboard.limits import AdaptiveLimiter, TokenBucket
from callboard.tools import Tool
from tests.model_backends import Boom, EchoBackend, FailingBackend

# -- construction --------------------------------------------------------------------


def test_backend_or_provider_exactly_one() -> None:
    with pytest.raises(ConfigError, match="exactly one") as neither:
        iModel()
    assert neither.value.field == "backend"
    with pytest.raises(ConfigError, match="exactly one"):
        iModel(backend=EchoBackend(), provider="openai")


def test_an_unknown_provider_is_a_typed_error_without_the_key() -> None:
    with pytest.raises(CallboardError, match="openai") as caught:
        iModel(provider="no-such-provider", api_key="sk-canary-0000")
    assert "sk-canary-0000" not in str(caught.value)
    assert isinstance(caught.value, ConfigError)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit_requests": 0}, "limit_requests"),
        ({"limit_tokens": -5}, "limit_tokens"),
        ({"capacity_refresh_time": float("inf")}, "capacity_refresh_time"),
        ({"queue_capacity": 0}, "queue_capacity"),
        ({"bogus": 1}, "bogus"),
        ({"rate_limiter": TokenBucket(5, 1), "limit_requests": 5}, "rate_limiter"),
    ],
)
def test_bad_configuration_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        iModel(backend=EchoBackend(), **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_identity_and_descriptive_attributes() -> None:
    def lookup(city: str) -> str:
        return city

    first = iModel(backend=Tool(lookup))
    second = iModel(backend=Tool(lookup))
    assert first.id != second.id
    assert first.name == "lookup"
    assert first.tags == frozenset({"tool"})
    named = iModel(
        backend=EchoBackend(),
        name="echo",
        version="2",
        tags={"test"},
        provider_metadata={"session_id": "s1"},
    )
    assert (named.name, named.version, named.tags) == ("echo", "2", frozenset({"test"}))
    assert named.provider_metadata == {"session_id": "s1"}
    assert "inline" in repr(named)


def test_limits_build_buckets_shared_by_both_paths() -> None:
    model = iModel(backend=EchoBackend(), limit_requests=50, limit_tokens=100_000)
    assert isinstance(model.rate_limiter, AdaptiveLimiter)
    assert isinstance(model.rate_limiter.ceiling, TokenBucket)
    assert model.rate_limiter.capacity == 50
    assert model.executor.requests_limiter is model.rate_limiter
    assert model.executor.tokens_limiter is model.token_limiter


def test_explicit_executor_lends_its_limiters() -> None:
    shared = Executor(EchoBackend(), limit_requests=7)
    model = iModel(backend=EchoBackend(), executor=shared)
    assert model.rate_limiter is shared.requests_limiter
    with pytest.raises(ConfigError, match="own limits"):
        iModel(backend=EchoBackend(), executor=shared, limit_requests=3)


# -- invoking ------------------------------------------------------------------------


async def test_inline_invoke_returns_the_completed_calling() -> None:
    backend = EchoBackend()
    model = iModel(backend=backend)
    calling = await model.invoke(messages=["hi"])
    assert calling.status is CallingStatus.COMPLETED
    assert calling.response == {"messages": ["hi"]}
    assert not model.is_started


async def test_started_invoke_goes_through_the_executor_actor() -> None:
    backend = EchoBackend()
    async with iModel(backend=backend) as model:
        assert model.is_started
        assert model.supervisor is not None
        assert [c.id for c in model.supervisor.which_children()] == ["executor"]
        calling = await model.invoke(x=1)
        assert calling.response == {"x": 1}
        assert "started" in repr(model)
    assert not model.is_started
    assert model.supervisor is None


async def test_create_calling_then_invoke_it() -> None:
    model = iModel(backend=EchoBackend())
    calling = await model.create_calling(timeout=5.0, x=2)
    assert calling.status is CallingStatus.PENDING and calling.timeout == 5.0
    calling.timeout = 10.0
    assert await model.invoke(calling=calling) is calling
    assert calling.response == {"x": 2}


@pytest.mark.parametrize("started", [False, True])
async def test_untyped_errors_are_wrapped_with_the_calling_attached(started: bool) -> None:
    model = iModel(backend=FailingBackend())

    async def run() -> None:
        with pytest.raises(InvocationError) as caught:
            await model.invoke(q=1)
        error = caught.value
        assert isinstance(error.__cause__, Boom)
        assert error.calling.status is CallingStatus.FAILED  # type: ignore[attr-defined]
        assert isinstance(error, CallboardError)

    if started:
        async with model:
            await run()
    else:
        await run()


@pytest.mark.parametrize("started", [False, True])
async def test_poll_timeout_is_an_overall_deadline(started: bool, autojump_clock: object) -> None:
    model = iModel(backend=EchoBackend(delay=100.0))

    async def run() -> None:
        start = trio.current_time()
        with pytest.raises(CallingTimeoutError) as caught:
            await model.invoke(poll_timeout=3.0, poll_interval=0.1, q=1)
        assert trio.current_time() - start == pytest.approx(3.0)
        assert caught.value.calling.status is CallingStatus.FAILED  # type: ignore[attr-defined]

    if started:
        async with model:
            await run()
    else:
        await run()


async def test_inline_limits_wait_on_the_same_bucket(autojump_clock: object) -> None:
    backend = EchoBackend()
    model = iModel(backend=backend, limit_requests=2, capacity_refresh_time=10)
    for _ in range(4):
        await model.invoke(q=1)
    # 2 per 10 s is paced smoothly: a bucket of one (not a burst of 2), one every 5 s
    relative = [t - backend.started[0] for t in backend.started]
    assert relative == pytest.approx([0.0, 5.0, 10.0, 15.0])


async def test_cancelled_inline_caller_cancels_its_call_and_refunds(autojump_clock: object) -> None:
    model = iModel(backend=EchoBackend(delay=50.0), limit_requests=1, capacity_refresh_time=100)
    calling = await model.create_calling(q=1)
    with trio.move_on_after(1.0):
        await model.invoke(calling=calling)
    assert calling.status is CallingStatus.CANCELLED
    second = await model.create_calling(q=2)
    with trio.move_on_after(1.0):
        await model.invoke(calling=second)  # waits for the bucket: never started
    assert second.status is CallingStatus.CANCELLED
    assert second.started_at is None
    bucket = model.rate_limiter
    assert isinstance(bucket, AdaptiveLimiter)
    assert bucket.waiting == 0
    assert isinstance(bucket.ceiling, TokenBucket)
    assert bucket.ceiling.waiting == 0


async def _events_of(model: iModel, body: object) -> list[type[LifecycleEvent]]:
    seen: list[type[LifecycleEvent]] = []
    with model.broadcast.subscribe() as subscription:
        await body  # type: ignore[misc]
        while True:
            try:
                event = subscription.receive_nowait()
            except trio.WouldBlock:
                break
            seen.append(type(event))
    return seen


async def test_inline_and_started_publish_the_same_calling_events() -> None:
    inline = iModel(backend=EchoBackend())
    inline_events = await _events_of(inline, inline.invoke(q=1))
    async with iModel(backend=EchoBackend()) as started:
        started_events = await _events_of(started, started.invoke(q=1))
    expected = [CallingQueued, CallingStarted, CallingCompleted]
    assert inline_events == expected
    assert started_events == expected


# -- concurrency (lionpride deadlocks at 5 concurrent invokes) ---------------------------


@pytest.mark.parametrize("started", [False, True])
async def test_a_thousand_concurrent_invokes_all_complete(
    started: bool, autojump_clock: object
) -> None:
    backend = EchoBackend(delay=0.5)
    model = iModel(
        backend=backend,
        limit_requests=200,
        limit_tokens=20_000,
        capacity_refresh_time=1.0,
        queue_capacity=100,
    )
    done: list[Calling] = []

    async def one(i: int) -> None:
        done.append(await model.invoke(messages=[{"role": "user", "content": f"task {i}"}]))

    async def all_of_them() -> None:
        async with trio.open_nursery() as nursery:
            for i in range(1000):
                nursery.start_soon(one, i)

    start = trio.current_time()
    if started:
        async with model:
            await all_of_them()
    else:
        await all_of_them()
    assert len(done) == 1000
    assert all(c.status is CallingStatus.COMPLETED for c in done)
    assert backend.calls == 1000
    # 95 at once (a smooth bucket holds half its 190 until a provider first answers,
    # and this backend never does), then 200/s: the last one starts around 4.5 s in
    assert 4.4 <= trio.current_time() - start <= 5.5


# -- provider models over the fake provider (loopback HTTP) ----------------------------


async def test_provider_model_matches_an_endpoint_and_runs_it_in_its_tree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from callboard.testing import FakeProvider

    monkeypatch.setenv("OPENAI_TEST_KEY", "test-key")
    async with FakeProvider() as server:
        model = iModel(
            provider="openai",
            base_url=f"{server.base_url}/v1",
            api_key="OPENAI_TEST_KEY",
            model="gpt-4o",
            timeout=None,
            limit_requests=100,
        )
        assert model.api_key_env == "OPENAI_TEST_KEY"
        async with model:
            assert model.supervisor is not None
            assert [c.id for c in model.supervisor.which_children()] == ["endpoint", "executor"]
            calling = await model.invoke(messages=[{"role": "user", "content": "hello"}])
            hi = [{"role": "user", "content": "hi"}]
            chunks = [chunk async for chunk in model.invoke_stream(messages=hi)]
        inline = await model.invoke(messages=[{"role": "user", "content": "again"}])
    assert calling.status is CallingStatus.COMPLETED
    assert calling.response.text
    assert "".join(chunks)
    assert inline.response.text


async def test_errors_leave_the_model_block_unwrapped() -> None:
    """The block's own exception is not wrapped in an ExceptionGroup by the model's
    nursery, and the tree still stops."""
    model = iModel(backend=FailingBackend())
    with pytest.raises(InvocationError):
        async with model:
            await model.invoke(q=1)
    assert not model.is_started and model.supervisor is None


async def test_inline_events_reach_inline_observers_and_are_not_built_for_nobody() -> None:
    quiet = iModel(backend=EchoBackend())
    await quiet.invoke(q=1)
    assert quiet.broadcast.published == 0  # no subscriber, no observer: nothing built

    seen: list[type[LifecycleEvent]] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.AnyEvent, lambda event: seen.append(type(event)))
    observed = iModel(backend=EchoBackend(), hook_registry=hooks)
    await observed.invoke(q=1)  # inline: the observer runs in this task, no subscriber
    assert seen == [CallingQueued, CallingStarted, CallingCompleted]


@pytest.mark.parametrize("bad", [-1.0, float("nan")])
async def test_a_bad_poll_timeout_is_refused_before_the_call(bad: float) -> None:
    backend = EchoBackend()
    model = iModel(backend=backend)
    calling = await model.create_calling(q=1)
    with pytest.raises(ConfigError) as refused:
        await model.invoke(calling=calling, poll_timeout=bad)
    assert refused.value.field == "poll_timeout"  # the argument that was wrong
    assert calling.status is CallingStatus.PENDING
    assert backend.calls == 0


def test_an_inline_model_reused_in_a_later_trio_run_is_not_held_by_an_old_pause() -> None:
    # A pause (provider feedback) is on the clock of the trio.run that set it; every run's
    # clock has another origin, so a later run must not wait it out against its own clock.
    model = iModel(backend=EchoBackend(), limit_requests=10)

    async def pause_late() -> None:
        await trio.sleep(1_000)
        model.executor.pause(30.0)

    trio.run(pause_late, clock=trio.testing.MockClock(autojump_threshold=0))

    async def invoke_early() -> float:
        start = trio.current_time()
        await model.invoke(prompt="hi")
        return trio.current_time() - start

    assert trio.run(invoke_early, clock=trio.testing.MockClock(autojump_threshold=0)) == 0.0
