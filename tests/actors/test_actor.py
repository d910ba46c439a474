from __future__ import annotations

import pytest
import trio
import trio.testing

from callboard.actors import Actor, ActorError, ActorRef, ActorStopped, AskTimeout, MailboxFull
from callboard.errors import ConfigError


class Recorder(Actor[object]):
    """Records messages; "boom" crashes it, ("sleep", s) sleeps, ("gate",) waits."""

    def __init__(self, mailbox_size: int = 64) -> None:
        super().__init__(mailbox_size, name="recorder")
        self.handled: list[object] = []
        self.gate = trio.Event()
        self.events: list[str] = []

    async def on_start(self) -> None:
        self.events.append("start")

    async def on_stop(self) -> None:
        self.events.append("stop")

    async def handle(self, message: object) -> object:
        if message == "boom":
            raise ValueError("boom")
        if isinstance(message, tuple) and message and message[0] == "sleep":
            await trio.sleep(message[1])  # type: ignore[misc]
        if message == "gate":
            await self.gate.wait()
        self.handled.append(message)
        return ("reply", message)


async def test_ask_returns_handle_result_and_tell_is_fire_and_forget() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        assert isinstance(ref, ActorRef)
        assert ref is actor.ref
        assert actor.events == ["start"]
        assert ref.name == "recorder"
        assert ref.is_alive
        await ref.tell(1)
        ref.tell_nowait(2)
        assert await ref.ask(3) == ("reply", 3)
        assert actor.handled == [1, 2, 3]
        ref.stop()
        assert not ref.is_alive
    assert actor.events == ["start", "stop"]


async def test_graceful_stop_drains_queued_messages() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        for i in range(5):
            ref.tell_nowait(i)
        ref.stop()
        ref.stop()  # idempotent
        with pytest.raises(ActorStopped):
            await ref.tell(99)
        await ref.wait_stopped()
    assert actor.handled == [0, 1, 2, 3, 4]


async def test_tell_nowait_on_full_mailbox_raises_mailbox_full() -> None:
    actor = Recorder(mailbox_size=1)
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        ref.tell_nowait("gate")
        await trio.testing.wait_all_tasks_blocked()  # actor is inside handle("gate")
        ref.tell_nowait("queued")
        with pytest.raises(MailboxFull, match="mailbox_size"):
            ref.tell_nowait("overflow")
        actor.gate.set()
        ref.stop()
    assert actor.handled == ["gate", "queued"]


async def test_tell_waits_for_room_backpressure() -> None:
    actor = Recorder(mailbox_size=0)
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        await ref.tell("gate")
        await trio.testing.wait_all_tasks_blocked()
        sent = trio.Event()

        async def sender() -> None:
            await ref.tell("next")
            sent.set()

        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        assert not sent.is_set()  # rendezvous mailbox: the actor is busy
        actor.gate.set()
        await sent.wait()
        ref.stop()
    assert actor.handled == ["gate", "next"]


async def test_sending_to_a_stopped_actor_raises_actor_stopped() -> None:
    actor = Recorder()
    ref = actor.ref
    assert not ref.is_alive
    with pytest.raises(ActorStopped):
        await ref.tell(1)
    with pytest.raises(ActorStopped):
        ref.tell_nowait(1)
    with pytest.raises(ActorStopped, match="not running"):
        await ref.ask(1)


async def test_handle_exception_crashes_actor_and_reaches_the_asker() -> None:
    actor = Recorder()
    stopped: list[ActorStopped] = []

    async def crashing_asker(ref: ActorRef[object]) -> None:
        with pytest.raises(ValueError, match="boom"):
            await ref.ask("boom")

    async def queued_asker(ref: ActorRef[object]) -> None:
        try:
            await ref.ask("never handled")
        except ActorStopped as exc:
            stopped.append(exc)

    async with trio.open_nursery() as askers:
        with pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="boom")):
            async with trio.open_nursery() as nursery:
                ref = await nursery.start(actor.run)
                ref.tell_nowait("gate")
                await trio.testing.wait_all_tasks_blocked()
                askers.start_soon(crashing_asker, ref)
                await trio.testing.wait_all_tasks_blocked()
                askers.start_soon(queued_asker, ref)
                await trio.testing.wait_all_tasks_blocked()
                actor.gate.set()
    assert len(stopped) == 1  # the ask queued behind the crash is failed, not left hanging
    assert not ref.is_alive
    assert actor.events == ["start", "stop"]  # on_stop runs on a crash too
    assert actor.handled == ["gate"]


async def test_actor_can_run_again_after_a_crash_with_the_same_ref() -> None:
    actor = Recorder()
    with pytest.RaisesGroup(ValueError):
        async with trio.open_nursery() as nursery:
            ref = await nursery.start(actor.run)
            ref.tell_nowait("boom")
    async with trio.open_nursery() as nursery:
        again = await nursery.start(actor.run)
        assert again is ref
        assert await ref.ask("hi") == ("reply", "hi")
        ref.stop()


async def test_running_the_same_actor_twice_is_refused() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        await nursery.start(actor.run)
        with pytest.raises(ActorError, match="already running"):
            await actor.run()
        actor.ref.stop()


async def test_ask_timeout_is_typed_and_late_reply_is_dropped(autojump_clock: object) -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        with pytest.raises(AskTimeout, match="did not reply within 1"):
            await ref.ask(("sleep", 5.0), timeout=1.0)
        # the actor finishes the message, drops the reply and keeps serving
        assert await ref.ask("next", timeout=10) == ("reply", "next")
        assert actor.handled == [("sleep", 5.0), "next"]
        ref.stop()


async def test_cancelled_ask_before_handling_is_skipped() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        ref.tell_nowait("gate")
        await trio.testing.wait_all_tasks_blocked()
        with trio.CancelScope() as scope:
            scope.cancel()
            await ref.ask("cancelled")
        cancel_scope = trio.CancelScope()

        async def asker() -> None:
            with cancel_scope:
                await ref.ask("abandoned")

        nursery.start_soon(asker)
        await trio.testing.wait_all_tasks_blocked()
        cancel_scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        actor.gate.set()
        assert await ref.ask("after") == ("reply", "after")
        ref.stop()
    # neither cancelled ask was handled: cancelled means it did not happen
    assert actor.handled == ["gate", "after"]


async def test_cancelling_an_ask_leaves_no_task_behind() -> None:
    actor = Recorder()
    root = trio.lowlevel.current_root_task()

    def count_tasks(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count_tasks(child) for n in task.child_nurseries for child in n.child_tasks)

    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        before = count_tasks(root)
        ref.tell_nowait("gate")
        with trio.move_on_after(0.01):
            await ref.ask("x")
        assert count_tasks(root) == before
        actor.gate.set()
        ref.stop()


@pytest.mark.parametrize("size", [-1, 1.5, "3", True])
def test_bad_mailbox_size_is_a_config_error(size: int) -> None:
    with pytest.raises(ConfigError, match="mailbox_size must be an int >= 0") as info:
        Recorder(mailbox_size=size)
    assert info.value.field == "mailbox_size"


async def test_negative_ask_timeout_is_a_config_error() -> None:
    actor = Recorder()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        with pytest.raises(ConfigError, match="timeout must be >= 0"):
            await ref.ask(1, timeout=-1)
        ref.stop()


async def test_on_start_failure_fails_nursery_start() -> None:
    class Broken(Actor[int]):
        async def on_start(self) -> None:
            raise RuntimeError("no connection")

    actor = Broken()
    async with trio.open_nursery() as nursery:
        with pytest.raises(RuntimeError, match="no connection"):
            await nursery.start(actor.run)
    assert not actor.ref.is_alive


async def test_on_stop_runs_when_the_actor_is_cancelled(autojump_clock: object) -> None:
    class Slow(Actor[int]):
        def __init__(self) -> None:
            super().__init__()
            self.flushed = False

        async def handle(self, message: int) -> None:
            await trio.sleep_forever()

        async def on_stop(self) -> None:
            await trio.sleep(1)  # a checkpoint inside on_stop survives the cancellation
            self.flushed = True

    actor = Slow()
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        ref.tell_nowait(1)
        await trio.testing.wait_all_tasks_blocked()
        nursery.cancel_scope.cancel()
    assert actor.flushed
    assert not ref.is_alive


async def test_stop_wakes_a_sender_blocked_on_a_full_mailbox() -> None:
    actor = Recorder(mailbox_size=0)
    outcome: list[str] = []

    async def sender(ref: ActorRef[object]) -> None:
        try:
            await ref.tell("late")
            outcome.append("sent")
        except ActorStopped:
            outcome.append("stopped")

    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        await ref.tell("gate")
        nursery.start_soon(sender, ref)
        await trio.testing.wait_all_tasks_blocked()
        ref.stop()
        await trio.testing.wait_all_tasks_blocked()
        assert outcome == ["stopped"]
        actor.gate.set()
    assert actor.handled == ["gate"]


async def test_a_busy_actor_takes_queued_messages_in_batches_yet_lets_others_run() -> None:
    # handle() never yields here: without its periodic checkpoint the actor would hog
    # the scheduler for the whole burst, and with one schedule point per message a
    # busy actor would be paced by trio's rounds instead of by its work.
    actor = Recorder(mailbox_size=1000)
    progress: list[int] = []
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        for i in range(500):
            ref.tell_nowait(i)

        async def watch() -> None:
            while len(actor.handled) < 500:
                progress.append(len(actor.handled))
                await trio.lowlevel.checkpoint()

        nursery.start_soon(watch)
        await ref.ask("last")
        ref.stop()
    assert actor.handled == [*range(500), "last"]
    assert any(0 < seen < 500 for seen in progress)  # others ran mid-burst
    assert len(progress) < 100  # many messages per round, not one


async def test_cancelling_a_busy_actor_stops_it_within_a_batch() -> None:
    actor = Recorder(mailbox_size=1000)
    async with trio.open_nursery() as nursery:
        ref = await nursery.start(actor.run)
        for i in range(500):
            ref.tell_nowait(i)
        nursery.cancel_scope.cancel()
    assert 0 < len(actor.handled) < 500
    assert actor.handled == list(range(len(actor.handled)))
    assert actor.events == ["start", "stop"]
