"""Hooks: interceptor order and exit rules, observers as actors, ErrorHandling fires."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.lowlevel

from callboard.actors import LifecycleEvent
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingAbortedError,
    CallingCompleted,
    CallingFailed,
    CallingStatus,
)
from callboard.errors import ConfigError
from callboard.imodel import (
    HookAborted,
    HookFailed,
    HookPhase,
    HookRegistry,
    InvocationError,
    ObserverFailed,
    ObserverLagged,
    iModel,
)
from tests.model_backends import EchoBackend, FailingBackend


def test_register_defaults_and_validation() -> None:
    hooks = HookRegistry()
    create = hooks.register(HookPhase.PreEventCreate, print)
    pre = hooks.register(HookPhase.PreInvocation, print, exit=True, timeout=2.5, name="guard")
    assert (create.timeout, create.exit, create.name) == (10.0, False, "print")
    assert (pre.timeout, pre.exit, pre.name) == (2.5, True, "guard")
    assert hooks.hooks(HookPhase.PreInvocation) == (pre,)
    with pytest.raises(ConfigError, match="only observes"):
        hooks.register(HookPhase.ErrorHandling, print, exit=True)
    with pytest.raises(ConfigError) as bad_timeout:
        hooks.register(HookPhase.PreInvocation, print, timeout=0)
    assert bad_timeout.value.field == "timeout"
    with pytest.raises(ConfigError):
        hooks.register(HookPhase.PreInvocation, "not callable")  # type: ignore[arg-type]
    hooks.unregister(pre)
    assert hooks.hooks(HookPhase.PreInvocation) == ()


def _no_arguments() -> None:
    pass


def _two_required(event: object, extra: object) -> None:
    pass


class _Recorder:
    def __call__(self, calling: Calling, **params: Any) -> None:
        pass

    def method(self, event: object, note: str = "") -> None:
        pass


@pytest.mark.parametrize(
    ("phase", "handler"),
    [
        (HookPhase.PreInvocation, _no_arguments),
        (HookPhase.PostInvocation, lambda *, calling: None),
        (HookPhase.AnyEvent, _two_required),
        (HookPhase.ErrorHandling, _no_arguments),
    ],
)
def test_a_handler_its_phase_cannot_call_is_refused_at_register(
    phase: HookPhase, handler: Any
) -> None:
    # fixed here: such a handler raised TypeError on every call, reported only as a
    # HookFailed event, and the calls completed as if it had run
    hooks = HookRegistry()
    with pytest.raises(ConfigError, match=f"cannot be called by the {phase.name} phase") as caught:
        hooks.register(phase, handler)
    assert caught.value.field == "handler"
    assert "give any other parameter a default" in str(caught.value)
    assert len(hooks) == 0


@pytest.mark.parametrize(
    ("phase", "handler"),
    [
        (HookPhase.PreInvocation, _Recorder()),  # a callable object
        (HookPhase.PreEventCreate, lambda calling, user: None),  # user: a per-call param
        (HookPhase.AnyEvent, _Recorder().method),  # a bound method with a default
        (HookPhase.StreamChunk, print),  # a builtin
    ],
)
def test_handlers_that_fit_their_phase_are_accepted(phase: HookPhase, handler: Any) -> None:
    assert HookRegistry().register(phase, handler).handler is handler


@pytest.mark.parametrize("started", [False, True])
async def test_interceptors_run_in_phase_and_registration_order(started: bool) -> None:
    order: list[str] = []
    backend_saw: list[str] = []

    class Recording(EchoBackend):
        async def execute(self, calling: Calling) -> Any:
            backend_saw.append(",".join(order))
            order.append("backend")
            return await super().execute(calling)

    hooks = HookRegistry()
    hooks.register(HookPhase.PostInvocation, lambda c: order.append("post1"))

    async def pre_async(calling: Calling) -> None:
        await trio.lowlevel.checkpoint()
        order.append("pre1")

    hooks.register(HookPhase.PreInvocation, pre_async)
    hooks.register(HookPhase.PreInvocation, lambda c: order.append("pre2"))
    hooks.register(HookPhase.PreEventCreate, lambda c: order.append("create"))
    hooks.register(HookPhase.PostInvocation, lambda c: order.append("post2"))
    model = iModel(backend=Recording(), hook_registry=hooks)
    if started:
        async with model:
            await model.invoke(q=1)
    else:
        await model.invoke(q=1)
    assert order == ["create", "pre1", "pre2", "backend", "post1", "post2"]
    assert backend_saw == ["create,pre1,pre2"]


async def test_post_invocation_sees_and_may_replace_the_response() -> None:
    hooks = HookRegistry()

    def shout(calling: Calling) -> None:
        calling.response = {k: str(v).upper() for k, v in calling.response.items()}

    hooks.register(HookPhase.PostInvocation, shout)
    calling = await iModel(backend=EchoBackend(), hook_registry=hooks).invoke(word="hi")
    assert calling.response == {"word": "HI"}


@pytest.mark.parametrize("started", [False, True])
@pytest.mark.parametrize("phase", [HookPhase.PreEventCreate, HookPhase.PreInvocation])
async def test_failing_pre_hook_with_exit_aborts_and_sends_nothing(
    phase: HookPhase, started: bool
) -> None:
    backend = EchoBackend()
    hooks = HookRegistry()

    def refuse(calling: Calling) -> None:
        raise PermissionError("not today")

    hooks.register(phase, refuse, exit=True)
    model = iModel(backend=backend, hook_registry=hooks, limit_tokens=1000)

    async def run() -> None:
        with pytest.raises(HookAborted) as caught:
            await model.invoke(q=1)
        error = caught.value
        assert isinstance(error, CallingAbortedError)
        assert (error.phase, error.hook) == (phase.name, "refuse")
        assert "PermissionError" in error.cause
        assert error.calling.status is CallingStatus.ABORTED  # type: ignore[attr-defined]
        assert backend.calls == 0

    if started:
        async with model:
            await run()
    else:
        await run()
    assert model.token_limiter is not None
    ceiling = model.token_limiter.ceiling  # the configured bucket: nothing was taken
    assert ceiling.available == pytest.approx(1000)  # type: ignore[attr-defined]


async def test_failing_hook_without_exit_is_reported_and_the_call_goes_on() -> None:
    hooks = HookRegistry()

    def flaky(calling: Calling) -> None:
        raise RuntimeError("oops")

    hooks.register(HookPhase.PreInvocation, flaky)
    hooks.register(HookPhase.PostInvocation, flaky)
    model = iModel(backend=EchoBackend(), hook_registry=hooks)
    with model.broadcast.subscribe() as subscription:
        calling = await model.invoke(q=1)
        events = [subscription.receive_nowait() for _ in range(len(subscription))]
    assert calling.status is CallingStatus.COMPLETED
    failed = [e for e in events if isinstance(e, HookFailed)]
    assert [(e.phase, e.exit, e.cause) for e in failed] == [
        ("PreInvocation", False, "raised RuntimeError"),
        ("PostInvocation", False, "raised RuntimeError"),
    ]


async def test_post_hook_with_exit_aborts_after_the_request(autojump_clock: object) -> None:
    backend = EchoBackend()
    hooks = HookRegistry()

    async def stuck(calling: Calling) -> None:
        await trio.sleep(100)

    hooks.register(HookPhase.PostInvocation, stuck, exit=True, timeout=2.0)
    model = iModel(backend=backend, hook_registry=hooks)
    start = trio.current_time()
    with pytest.raises(HookAborted, match="timed out after 2 s"):
        await model.invoke(q=1)
    assert trio.current_time() - start == pytest.approx(2.0)
    assert backend.calls == 1


async def test_a_sync_hook_that_overruns_its_timeout_is_reported_as_timed_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # A sync handler cannot be interrupted; it is judged by when it returned.
    hooks = HookRegistry()
    hooks.register(HookPhase.PreInvocation, lambda calling: autojump_clock.jump(3), timeout=2)
    hooks.register(HookPhase.PreInvocation, lambda calling: None, exit=True, timeout=2)
    backend = EchoBackend()
    model = iModel(backend=backend, hook_registry=hooks)
    with model.broadcast.subscribe() as subscription:
        calling = await model.invoke(q=1)  # the overrunning hook has exit=False
        events = [subscription.receive_nowait() for _ in range(len(subscription))]
    assert calling.status is CallingStatus.COMPLETED
    failed = [(e.hook, e.cause) for e in events if isinstance(e, HookFailed)]
    assert failed == [("<lambda>", "timed out after 2 s")]
    hooks.register(
        HookPhase.PostInvocation, lambda calling: autojump_clock.jump(3), exit=True, timeout=1
    )
    with pytest.raises(HookAborted, match="timed out after 1 s"):
        await model.invoke(q=2)
    assert backend.calls == 2  # a post-phase abort comes after the request


async def test_per_call_options_override_exit_timeout_and_pass_params(
    autojump_clock: object,
) -> None:
    seen: list[dict[str, Any]] = []
    hooks = HookRegistry()

    async def slow(calling: Calling, **params: Any) -> None:
        seen.append(params)
        await trio.sleep(5)

    hooks.register(HookPhase.PreInvocation, slow, timeout=30)
    model = iModel(backend=EchoBackend(), hook_registry=hooks)
    with pytest.raises(HookAborted, match="timed out after 1 s"):
        await model.invoke(
            pre_invoke_exit_hook=True,
            pre_invoke_hook_timeout=1.0,
            pre_invoke_hook_params={"user": "u1"},
            q=1,
        )
    assert seen == [{"user": "u1"}]
    calling = await model.invoke(q=2)  # registered options again: 5 s < 30 s, no exit
    assert calling.status is CallingStatus.COMPLETED


@pytest.mark.parametrize("started", [False, True])
async def test_error_handling_really_fires(started: bool) -> None:
    received: list[LifecycleEvent] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.ErrorHandling, received.append)
    model = iModel(backend=FailingBackend(), hook_registry=hooks)
    if started:
        async with model:
            with pytest.raises(InvocationError):
                await model.invoke(q=1)
        # leaving the block drained the hook actor
    else:
        with pytest.raises(InvocationError):
            await model.invoke(q=1)
    assert [type(e) for e in received] == [CallingFailed]
    assert "Boom" in received[0].error  # type: ignore[attr-defined]


async def test_error_handling_sees_hook_aborts() -> None:
    received: list[LifecycleEvent] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.ErrorHandling, received.append)
    hooks.register(HookPhase.PreInvocation, lambda c: 1 / 0, exit=True)
    async with iModel(backend=EchoBackend(), hook_registry=hooks) as model:
        with pytest.raises(HookAborted):
            await model.invoke(q=1)
    assert [type(e) for e in received] == [HookFailed, CallingAborted]


async def test_a_slow_observer_never_slows_a_call(autojump_clock: object) -> None:
    hooks = HookRegistry()
    handled: list[str] = []

    async def slow(event: LifecycleEvent) -> None:
        await trio.sleep(10)
        handled.append(type(event).__name__)

    observer = hooks.register(HookPhase.AnyEvent, slow, buffer_size=4, timeout=60)
    backend = EchoBackend()
    lag_reports: list[ObserverLagged] = []
    async with iModel(backend=backend, hook_registry=hooks) as model:
        with model.broadcast.subscribe() as subscription:
            start = trio.current_time()
            for i in range(20):
                await model.invoke(q=i)
            assert trio.current_time() - start == pytest.approx(0.0)
            (actor,) = model.hook_actors
            assert actor.hook is observer
            await trio.sleep(30)
            while len(subscription):
                event = subscription.receive_nowait()
                if isinstance(event, ObserverLagged):
                    lag_reports.append(event)
    # 60 calling events, a buffer of 4: most were dropped, counted and reported
    assert actor.lagged > 40
    assert sum(report.missed for report in lag_reports) == actor.lagged
    assert 0 < len(handled) < 20


async def test_a_failing_observer_is_reported_and_keeps_going() -> None:
    hooks = HookRegistry()
    calls: list[str] = []

    def picky(event: LifecycleEvent) -> None:
        calls.append(type(event).__name__)
        if isinstance(event, CallingCompleted):
            raise ValueError("no thanks")

    hooks.register(HookPhase.AnyEvent, picky)
    async with iModel(backend=EchoBackend(), hook_registry=hooks) as model:
        with model.broadcast.subscribe() as subscription:
            await model.invoke(q=1)
            await model.invoke(q=2)
            await trio.testing.wait_all_tasks_blocked()
            events = [subscription.receive_nowait() for _ in range(len(subscription))]
        (actor,) = model.hook_actors
    failures = [e for e in events if isinstance(e, ObserverFailed)]
    assert [(f.event, f.cause) for f in failures] == [
        ("CallingCompleted", "raised ValueError"),
        ("CallingCompleted", "raised ValueError"),
    ]
    assert actor.failures == 2
    assert calls.count("CallingCompleted") == 2
