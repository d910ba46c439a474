"""``Executor.call`` runs a Calling that can start at once on the caller's own task.

What that shortcut must not change: cancelling the Calling or reaching its deadline
ends only that call (the caller goes on), cancelling the caller cancels the Calling and
settles it first, a graceful stop waits for the call and an abort aborts it, and a
Calling that has to wait still runs on a worker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from typing import Any

import pytest
import trio
import trio.testing

from callboard import HookPhase, HookRegistry, iModel
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingAbortedError,
    CallingCancelledError,
    CallingStatus,
    CallingTimeoutError,
)
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy
from tests.backends import ScriptedBackend
from tests.executor.test_executor import running


class RecordsItsTask(ScriptedBackend):
    def __init__(self) -> None:
        super().__init__()
        self.tasks: dict[str, trio.lowlevel.Task] = {}

    async def execute(self, calling: Calling) -> object:
        self.tasks[calling.id] = trio.lowlevel.current_task()
        return await super().execute(calling)


async def test_a_call_that_starts_at_once_runs_on_its_callers_task(
    autojump_clock: trio.abc.Clock,
) -> None:
    backend = RecordsItsTask()
    executor = Executor(backend, concurrency_limit=1)
    callers: dict[str, trio.lowlevel.Task] = {}

    async def caller(calling: Calling) -> None:
        callers[calling.id] = trio.lowlevel.current_task()
        assert await executor.call(calling) == "ok"

    async with running(executor):
        first, second = Calling({"sleep": 1.0}), Calling({"sleep": 1.0})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller, first)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(caller, second)  # the one slot is taken: it waits its turn
    assert backend.tasks[first.id] is callers[first.id]
    assert backend.tasks[second.id] is not callers[second.id]  # a worker ran it
    assert trio.current_time() == pytest.approx(2.0)


async def test_cancelling_the_caller_cancels_its_call_and_settles_it_first(
    autojump_clock: trio.abc.Clock,
) -> None:
    backend = ScriptedBackend()
    executor = Executor(
        backend, limit_tokens=1000, admission_policy=AdmissionPolicy(pacing="burst")
    )
    async with running(executor):
        calling = Calling({"sleep": 10.0, "usage": 40}, estimated_tokens=100)
        with trio.move_on_after(1.0) as scope:
            await executor.call(calling)
        assert scope.cancelled_caught
        assert calling.status is CallingStatus.CANCELLED
        assert backend.running == 0
        assert executor.in_flight == 0
        assert executor.tokens_in_flight == 0
        tokens = executor.tokens_limiter
        assert tokens is not None and tokens.waiting == 0
        assert await executor.call(Calling({"reply": "next"})) == "next"
    with pytest.raises(CallingCancelledError):
        await calling.wait()


async def test_a_deadline_ends_the_call_and_not_its_caller(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(ScriptedBackend())
    async with running(executor):
        late = Calling({"sleep": 10.0}, timeout=2.0)
        with pytest.raises(CallingTimeoutError):
            await executor.call(late)
        assert trio.current_time() == pytest.approx(2.0)
        assert late.status is CallingStatus.FAILED
        # The caller was not cancelled: its next call runs to the end.
        assert await executor.call(Calling({"sleep": 3.0, "reply": "after"})) == "after"
        assert trio.current_time() == pytest.approx(5.0)


async def test_cancelling_the_calling_from_elsewhere_ends_only_that_call(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(ScriptedBackend())
    outcomes: list[object] = []

    async def caller(calling: Calling) -> None:
        try:
            await executor.call(calling)
        except CallingCancelledError as error:
            outcomes.append(type(error))
        outcomes.append(await executor.call(Calling({"sleep": 1.0, "reply": "after"})))

    async with running(executor):
        calling = Calling({"sleep": 10.0})
        async with trio.open_nursery() as nursery:
            nursery.start_soon(caller, calling)
            await trio.sleep(1.0)
            assert calling.status is CallingStatus.RUNNING
            calling.cancel()
        assert outcomes == [CallingCancelledError, "after"]
        assert trio.current_time() == pytest.approx(2.0)
        assert executor.in_flight == 0


async def test_a_graceful_stop_waits_for_the_calls_their_callers_run(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(ScriptedBackend())
    stopped_at: list[float] = []
    replies: list[object] = []

    async def run_executor(*, task_status: trio.TaskStatus[None]) -> None:
        await executor.run(task_status=task_status)
        stopped_at.append(trio.current_time())

    async def caller() -> None:
        replies.append(await executor.call(Calling({"sleep": 5.0, "reply": "done"})))

    async with trio.open_nursery() as nursery:
        await nursery.start(run_executor)
        nursery.start_soon(caller)
        await trio.sleep(1.0)
        assert executor.in_flight == 1
        executor.ref.stop()
    assert replies == ["done"]
    assert stopped_at == [pytest.approx(5.0)]  # not before the call it ran had ended


async def test_an_aborted_executor_aborts_the_calls_their_callers_run(
    autojump_clock: trio.abc.Clock,
) -> None:
    backend = ScriptedBackend()
    executor = Executor(backend)
    calling = Calling({"sleep": 10.0})
    errors: list[BaseException] = []

    async def caller() -> None:
        try:
            await executor.call(calling)
        except CallingAbortedError as error:
            errors.append(error)

    async with trio.open_nursery() as callers, trio.open_nursery() as tree:
        await tree.start(executor.run)
        callers.start_soon(caller)
        await trio.sleep(1.0)
        tree.cancel_scope.cancel()
    assert calling.status is CallingStatus.ABORTED
    assert len(errors) == 1
    assert trio.current_time() == pytest.approx(1.0)
    assert backend.running == 0
    assert executor.in_flight == 0


class Ticker:
    """Counts how often trio let it run: another task starved shows as no ticks."""

    ticks = 0

    async def run(self) -> None:
        while True:
            self.ticks += 1
            await trio.lowlevel.checkpoint()


class ReturnsAtOnce:
    """A backend with nothing to await (a Tool doing arithmetic, an open circuit)."""

    async def execute(self, calling: Calling) -> object:
        if calling.payload.get("fail"):
            raise ValueError("refused at once")
        return "ok"


@pytest.mark.parametrize("fail", [False, True])
async def test_a_call_whose_backend_never_waits_is_still_a_schedule_point(fail: bool) -> None:
    executor = Executor(ReturnsAtOnce())
    ticker = Ticker()
    async with running(executor), trio.open_nursery() as nursery:
        nursery.start_soon(ticker.run)
        await trio.lowlevel.checkpoint()  # the ticker runs
        before = ticker.ticks
        for _ in range(100):
            calling = Calling({"fail": fail})
            with contextlib.suppress(ValueError):
                await executor.call(calling)
            assert calling.status is (CallingStatus.FAILED if fail else CallingStatus.COMPLETED)
        # The ticker ran between the calls: a loop of them did not starve it.
        assert ticker.ticks - before >= 99
        nursery.cancel_scope.cancel()


async def test_the_caller_yields_once_per_call_when_the_backend_waits() -> None:
    # The backend's own wait is the call's schedule point: no extra round is added.
    executor = Executor(ScriptedBackend())
    steps = 0

    class Count(trio.abc.Instrument):
        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            nonlocal steps
            if task is caller:
                steps += 1

    async with running(executor):
        caller = trio.lowlevel.current_task()
        trio.lowlevel.add_instrument(counter := Count())
        try:
            for _ in range(50):
                await executor.call(Calling({"sleep": 0.0}))  # trio.sleep(0): one yield
        finally:
            trio.lowlevel.remove_instrument(counter)
    assert steps == 50


async def test_an_inline_call_whose_backend_never_waits_is_still_a_schedule_point() -> None:
    model = iModel(backend=ReturnsAtOnce())  # never started: each call runs inline
    ticker = Ticker()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker.run)
        await trio.lowlevel.checkpoint()
        before = ticker.ticks
        for _ in range(100):
            await model.invoke(payload={})
        assert ticker.ticks - before >= 99
        nursery.cancel_scope.cancel()


class CleansUpOnCancel:
    """Takes half a second, shielded, to let go of what it holds when cancelled (as a
    stream's release or a shared limiter's call may)."""

    async def execute(self, calling: Calling) -> object:
        try:
            await trio.sleep(10.0)
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await trio.sleep(0.5)
            raise
        return "ok"


async def test_an_abort_returns_once_the_calls_it_cancelled_have_settled(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(CleansUpOnCancel())
    calling = Calling({})
    async with trio.open_nursery() as callers:
        async with trio.open_nursery() as tree:
            await tree.start(executor.run)
            callers.start_soon(_quietly, executor, calling)
            await trio.sleep(1.0)
            tree.cancel_scope.cancel()
        # As when workers ran every call: the nursery waited for them to unwind.
        assert trio.current_time() == pytest.approx(1.5)
        assert calling.status is CallingStatus.ABORTED
        assert executor.in_flight == 0


async def test_a_restart_does_not_turn_the_abort_into_a_cancel(
    autojump_clock: trio.abc.Clock,
) -> None:
    executor = Executor(CleansUpOnCancel())
    calling = Calling({})
    errors: list[type[BaseException]] = []
    async with trio.open_nursery() as callers:
        async with trio.open_nursery() as tree:
            await tree.start(executor.run)
            callers.start_soon(_quietly, executor, calling, errors)
            await trio.sleep(1.0)
            tree.cancel_scope.cancel()
        async with running(executor):  # a supervisor starts it again at once
            await trio.sleep(2.0)
    assert calling.status is CallingStatus.ABORTED
    assert errors == [CallingAbortedError]


async def test_stopping_a_model_lets_its_observers_see_the_abort(
    autojump_clock: trio.abc.Clock,
) -> None:
    seen: list[object] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.ErrorHandling, seen.append)
    model = iModel(backend=CleansUpOnCancel(), hook_registry=hooks)
    async with trio.open_nursery() as nursery:
        await nursery.start(model.run)
        nursery.start_soon(_quietly_invoke, model)
        await trio.sleep(1.0)
        await model.stop()
        assert [type(event) for event in seen] == [CallingAborted]


async def _quietly(
    executor: Executor, calling: Calling, errors: list[type[BaseException]] | None = None
) -> None:
    try:
        await executor.call(calling)
    except CallingAbortedError as error:
        if errors is not None:
            errors.append(type(error))


async def _quietly_invoke(model: iModel) -> None:
    with contextlib.suppress(CallingAbortedError):
        await model.invoke(payload={})


class Reply:
    """An awaitable that is not a coroutine."""

    def __await__(self) -> Generator[Any, None, str]:
        yield from trio.lowlevel.checkpoint().__await__()  # noqa: ASYNC105 - awaited by yield from
        return "ok"


class ReturnsAnAwaitable:
    def execute(self, calling: Calling) -> Reply:
        return Reply()


async def test_a_backend_may_return_any_awaitable() -> None:
    executor = Executor(ReturnsAnAwaitable())
    async with running(executor):
        assert await executor.call(Calling({})) == "ok"
