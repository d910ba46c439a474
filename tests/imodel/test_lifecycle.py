"""What happens to a Calling whatever its caller or the model's actor tree does: it reaches
a terminal state, its waiters wake, what it held is given back before ``Cancelled``
propagates; a model whose tree failed says so at once and can be started again."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import pytest
import trio
import trio.testing

from callboard import (
    Calling,
    CallingStateError,
    CallingStatus,
    ChildSpec,
    ModelStopped,
    RetryPolicy,
    ServiceRegistry,
    SupervisorEscalation,
    iModel,
)
from callboard.endpoint import (
    Transport,
    TransportSettings,
    open_transport,
    register_transport,
    unregister_transport,
)
from callboard.providers import ProviderRequest
from callboard.testing import FakeProvider
from tests.model_backends import EchoBackend, StreamingBackend

HI = [{"role": "user", "content": "hello"}]


async def _until(predicate: Any) -> None:
    while not predicate():
        await trio.testing.wait_all_tasks_blocked()
        await trio.sleep(0.001)


# -- every Calling handed over finishes ------------------------------------------------


async def test_a_calling_cancelled_while_waiting_for_queue_room_is_cancelled(
    autojump_clock: object,
) -> None:
    # fixed here: it stayed PENDING, and another task awaiting it never woke
    model = iModel(backend=EchoBackend(delay=10.0), queue_capacity=1, concurrency_limit=1)
    async with model, trio.open_nursery() as nursery:
        for n in range(3):  # one running, one waiting for the slot, one in the queue
            nursery.start_soon(lambda n=n: model.invoke(n=n))
        await _until(lambda: model.executor.queued == 1 and model.executor.in_flight == 1)
        calling = await model.create_calling(n=99)
        woke: list[CallingStatus] = []

        async def waiter() -> None:
            await calling.wait_finished()
            woke.append(calling.status)

        nursery.start_soon(waiter)
        with trio.move_on_after(1.0) as caller:
            await model.invoke(calling=calling)  # waits for queue room
        assert caller.cancelled_caught
        assert calling.status is CallingStatus.CANCELLED
        await trio.testing.wait_all_tasks_blocked()
        assert woke == [CallingStatus.CANCELLED]


@pytest.mark.parametrize("started", [False, True])
async def test_a_finished_calling_is_not_run_again(started: bool) -> None:
    # fixed here: started, the old result came back silently; inline it raised
    backend = EchoBackend()
    model = iModel(backend=backend)
    async with trio.open_nursery() as nursery:
        if started:
            await nursery.start(model.run)
        calling = await model.invoke(q=1)
        with pytest.raises(CallingStateError, match="a Calling runs once") as again:
            await model.invoke(calling=calling)
        assert again.value.calling_id == calling.id
        with pytest.raises(CallingStateError, match="a Calling runs once"):
            await model.invoke_stream_with_channel(calling)
        assert backend.calls == 1
        await model.stop()


async def test_inline_calls_honour_the_concurrency_limit(autojump_clock: object) -> None:
    # fixed here: inline, every call ran at once whatever concurrency_limit said
    running = peak = 0

    class Counting:
        async def execute(self, calling: Calling) -> int:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await trio.sleep(1.0)
            running -= 1
            return 0

    model = iModel(backend=Counting(), concurrency_limit=3)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for n in range(10):
            nursery.start_soon(lambda n=n: model.invoke(n=n))
    assert peak == 3
    assert trio.current_time() - start == pytest.approx(4.0)  # ceil(10 / 3) rounds


async def test_a_cancelled_inline_call_gives_its_slot_back(autojump_clock: object) -> None:
    model = iModel(backend=EchoBackend(delay=10.0), concurrency_limit=1)
    with trio.move_on_after(1.0):
        await model.invoke(q=1)
    with trio.fail_after(11.0):
        assert (await model.invoke(q=2)).status is CallingStatus.COMPLETED


async def test_a_cancelled_stream_settles_before_cancelled_propagates(
    autojump_clock: object,
) -> None:
    # fixed here: the slot and the tokens were settled a moment after the caller left
    model = iModel(
        backend=StreamingBackend(gap=1.0),
        concurrency_limit=1,
        limit_tokens=1000,
        capacity_refresh_time=1e9,
    )
    async with model:
        calling = await model.create_calling(streaming=True, messages=HI, max_tokens=20)
        assert model.token_limiter is not None
        before = model.token_limiter.available
        with trio.move_on_after(2.5):
            async for _ in model.invoke_stream(calling):
                pass
        # nothing between: no checkpoint ran since the move_on block ended
        assert calling.status is CallingStatus.CANCELLED
        assert (model.executor.in_flight, model.executor.tokens_in_flight) == (0, 0)
        bucket = model.token_limiter
        assert bucket is not None
        # settled: no usage was reported, so the reservation is what it was charged
        assert before - bucket.available == pytest.approx(calling.estimated_tokens, abs=0.01)


# -- a model whose tree died ------------------------------------------------------------


class _Crashing:
    """An actor backend whose run crashes shortly after it started, every time."""

    def __init__(self) -> None:
        self.crash = True
        self.runs = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.runs += 1
        task_status.started()
        if not self.crash:
            await trio.sleep_forever()
        await trio.sleep(0.1)
        raise RuntimeError("the actor backend broke")

    async def execute(self, calling: Calling) -> str:
        await trio.lowlevel.checkpoint()
        return "ok"


async def test_a_block_that_swallows_cancelled_still_gets_the_trees_error(
    autojump_clock: object,
) -> None:
    # fixed here: trio reported "Nursery stack corrupted" and the error was lost
    model = iModel(backend=_Crashing())
    with pytest.raises(BaseExceptionGroup) as caught:
        async with model:
            with suppress(trio.Cancelled):  # a user block that swallows the tree's cancel
                await trio.sleep(100)
    assert caught.value.subgroup(SupervisorEscalation) is not None
    assert isinstance(model.failure, SupervisorEscalation)
    await trio.lowlevel.checkpoint()  # this task's cancel state is intact


async def test_a_registry_block_that_swallows_cancelled_behaves_like_a_nursery(
    autojump_clock: object,
) -> None:
    registry = ServiceRegistry()
    registry.register(iModel(backend=EchoBackend()))
    with pytest.raises(BaseExceptionGroup) as caught:
        async with registry:
            assert registry.supervisor is not None
            await registry.supervisor.start_child(ChildSpec("broken", _broken_child))
            with suppress(trio.Cancelled):
                await trio.sleep(100)
    assert caught.value.subgroup(SupervisorEscalation) is not None


async def _broken_child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    task_status.started()
    await trio.sleep(0.1)
    raise RuntimeError("broken")


async def test_a_stopped_model_fails_fast_and_starts_again(autojump_clock: object) -> None:
    # fixed here: it fell back to inline mode after its supervisor gave up
    backend = _Crashing()
    model = iModel(backend=backend)
    with pytest.raises(BaseExceptionGroup):
        async with model:
            await trio.sleep(100)
    assert not model.is_started
    start = trio.current_time()
    with pytest.raises(ModelStopped) as stopped:
        await model.invoke(q=1)
    assert trio.current_time() == start  # at once: nothing waited, nothing was sent
    error = stopped.value
    assert error.model == model.name and isinstance(error.cause, SupervisorEscalation)
    assert "is stopped: its actor tree ended with SupervisorEscalation" in str(error)
    assert "async with model:" in str(error)
    assert error.calling.status is CallingStatus.ABORTED  # type: ignore[attr-defined]
    with pytest.raises(ModelStopped):
        async for _ in model.invoke_stream(q=2):
            pass
    backend.crash = False
    async with model:  # starting it again clears the failure
        assert model.failure is None
        assert (await model.invoke(q=3)).response == "ok"
    assert (await model.invoke(q=4)).response == "ok"  # stopped cleanly: inline again


_CRASHY = "test-lifecycle-crashy"


class _CrashyTransport:
    def __init__(self, inner: Transport, state: dict[str, bool]) -> None:
        self.inner = inner
        self.state = state

    async def send(self, request: ProviderRequest) -> Any:
        if self.state["crash"]:
            raise RuntimeError("a bug in the transport")
        return await self.inner.send(request)

    def stream(self, request: ProviderRequest) -> Any:
        return self.inner.stream(request)


@asynccontextmanager
async def _crashy(state: dict[str, bool]) -> AsyncGenerator[None]:
    @asynccontextmanager
    async def opener(settings: TransportSettings) -> AsyncIterator[Transport]:
        async with open_transport("http", settings) as inner:
            yield _CrashyTransport(inner, state)

    register_transport(_CRASHY, opener)
    try:
        yield
    finally:
        unregister_transport(_CRASHY)


async def test_a_provider_model_whose_supervisor_gave_up_fails_fast_against_a_healthy_server() -> (
    None
):
    # fixed here: every later call ran inline, waited 15 s and failed with EndpointRestarted
    state = {"crash": True}
    async with FakeProvider(keys=["sk-lifecycle-0123"]) as fp, _crashy(state):
        model = iModel(
            provider="openai",
            base_url=f"{fp.base_url}/v1",
            api_key="sk-lifecycle-0123",
            model="gpt-4o",
            transport=_CRASHY,
            retry=RetryPolicy(max_retries=6, base_delay=0.0, jitter="none"),
        )
        with pytest.raises(BaseExceptionGroup) as caught:
            async with model:
                await model.invoke(messages=HI)
        assert caught.value.subgroup(SupervisorEscalation) is not None
        state["crash"] = False  # the server and the transport are healthy now
        sent = len(fp.requests)
        with trio.fail_after(1.0), pytest.raises(ModelStopped, match="SupervisorEscalation"):
            await model.invoke(messages=HI)
        assert len(fp.requests) == sent
        async with model:
            calling = await model.invoke(messages=HI)
            assert "hello" in calling.response.text
