from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard.calling import (
    Calling,
    CallingAbortedError,
    CallingAlreadyFinished,
    CallingCancelledError,
    CallingStateError,
    CallingStatus,
)
from callboard.errors import CallboardError, ConfigError


def test_defaults_outside_trio():
    calling = Calling({"prompt": "hi"})
    assert len(calling.id) == 32
    int(calling.id, 16)
    assert calling.status is CallingStatus.PENDING
    assert calling.created_at is None
    assert calling.attempts == 0
    assert not calling.finished
    assert Calling().id != calling.id


async def test_created_at_uses_the_trio_clock(autojump_clock: trio.abc.Clock):
    await trio.sleep(5)
    assert Calling().created_at == pytest.approx(5.0)


def test_rejects_a_negative_timeout():
    with pytest.raises(ConfigError):
        Calling(timeout=-1)


async def test_complete_wakes_every_waiter():
    calling = Calling()
    results: list[object] = []

    async def waiter() -> None:
        results.append(await calling.wait())

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(waiter)
        await trio.testing.wait_all_tasks_blocked()
        calling.complete("answer")
    assert results == ["answer"] * 3
    assert calling.status is CallingStatus.COMPLETED
    assert calling.finished_at is not None
    assert await calling.wait() == "answer"  # after the fact too


async def test_fail_raises_the_error_to_waiters():
    calling = Calling()
    error = RuntimeError("boom")
    calling.fail(error)
    with pytest.raises(RuntimeError, match="boom"):
        await calling.wait()
    assert calling.error is error


@pytest.mark.parametrize("second", ["complete", "fail", "cancel", "abort"])
@pytest.mark.parametrize("first", ["complete", "fail", "cancel", "abort"])
async def test_exactly_one_terminal_transition(first: str, second: str):
    calling = Calling()

    def do(name: str) -> None:
        if name == "complete":
            calling.complete(1)
        elif name == "fail":
            calling.fail(ValueError())
        elif name == "cancel":
            calling.cancel()
        else:
            calling.abort()

    do(first)
    status = calling.status
    with pytest.raises(CallingAlreadyFinished) as info:
        do(second)
    assert isinstance(info.value, CallboardError)
    assert info.value.calling_id == calling.id
    assert calling.status is status  # unchanged


async def test_cancel_and_abort_raise_typed_errors():
    cancelled, aborted = Calling(), Calling()
    cancelled.cancel()
    aborted.abort("shutdown")
    with pytest.raises(CallingCancelledError):
        await cancelled.wait()
    with pytest.raises(CallingAbortedError, match="shutdown"):
        await aborted.wait()


async def test_transitions_are_checked(autojump_clock: trio.abc.Clock):
    calling = Calling()
    with pytest.raises(CallingStateError):
        calling.mark_running()
    with pytest.raises(CallingStateError):
        calling.outcome()
    calling.mark_queued()
    with pytest.raises(CallingStateError):
        calling.mark_queued()
    await trio.sleep(1)
    calling.mark_running()
    assert calling.attempts == 1
    assert calling.started_at == pytest.approx(calling.queued_at + 1)  # type: ignore[operator]
    calling.mark_queued()  # a retry goes back to the queue
    calling.mark_running()
    assert calling.attempts == 2


async def test_a_cancelled_waiter_leaves_the_call_alone():
    calling = Calling()
    with trio.move_on_after(0.01):
        await calling.wait()
    assert calling.status is CallingStatus.PENDING


async def test_every_waiter_wakes_once_and_a_cancelled_one_leaves_the_others_waiting():
    calling = Calling()
    woke: list[str] = []

    async def waiter(name: str) -> None:
        await calling.wait_finished()
        woke.append(name)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(waiter, "first")
        with trio.CancelScope() as leaving:
            nursery.start_soon(waiter, "second")
            await trio.testing.wait_all_tasks_blocked()
            async with trio.open_nursery() as inner:
                inner.start_soon(waiter, "gives up")
                await trio.testing.wait_all_tasks_blocked()
                inner.cancel_scope.cancel()
        assert not leaving.cancelled_caught
        calling.complete("done")
    assert sorted(woke) == ["first", "second"]
    await calling.wait_finished()  # finished: returns at once, still a checkpoint
    assert await calling.wait() == "done"
