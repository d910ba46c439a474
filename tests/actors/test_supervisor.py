from __future__ import annotations

import math
from typing import Any

import pytest
import trio
import trio.testing

from callboard.actors import (
    Actor,
    ActorError,
    Broadcast,
    ChildExited,
    ChildNotFound,
    ChildRestarted,
    ChildRunning,
    ChildShutdownTimeout,
    ChildSpec,
    ChildStarted,
    ChildStopped,
    InvalidChildSpec,
    LifecycleEvent,
    Restart,
    Strategy,
    Subscription,
    Supervisor,
    SupervisorEscalated,
    SupervisorEscalation,
)
from callboard.errors import ConfigError

from .probes import Probe, failing_start

Log = list[tuple[str, str]]


def probes(names: str, log: Log, **kwargs: Any) -> dict[str, Probe]:
    return {name: Probe(name, log, **kwargs) for name in names}


def specs(ps: dict[str, Probe], restart: Restart = Restart.PERMANENT) -> list[ChildSpec]:
    return [ChildSpec(name, p.run, restart=restart) for name, p in ps.items()]


def drain(sub: Subscription[LifecycleEvent]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    while True:
        try:
            event = sub.receive_nowait()
        except trio.WouldBlock:
            return out
        out.append((type(event).__name__, getattr(event, "child_id", "")))


async def settle() -> None:
    await trio.testing.wait_all_tasks_blocked()


async def test_children_start_in_order_and_stop_in_reverse() -> None:
    log: Log = []
    ps = probes("abc", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    supervisor = Supervisor(specs(ps), broadcast=bus, name="root")
    async with trio.open_nursery() as nursery:
        started = await nursery.start(supervisor.run)
        assert started is supervisor
        assert [info.id for info in supervisor.which_children()] == ["a", "b", "c"]
        assert all(info.running for info in supervisor.which_children())
        assert supervisor.which_children()[0].value is ps["a"]
        await supervisor.stop()
    assert log == [
        ("start", "a"),
        ("start", "b"),
        ("start", "c"),
        ("stop", "c"),
        ("stop", "b"),
        ("stop", "a"),
    ]
    assert drain(sub) == [
        ("ChildStarted", "a"),
        ("ChildStarted", "b"),
        ("ChildStarted", "c"),
        ("ChildStopped", "c"),
        ("ChildStopped", "b"),
        ("ChildStopped", "a"),
    ]
    assert not supervisor.is_running


async def test_one_for_one_restarts_only_the_crashed_child() -> None:
    log: Log = []
    ps = probes("abc", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    supervisor = Supervisor(specs(ps), broadcast=bus)
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        drain(sub)
        log.clear()
        ps["b"].crash()
        await settle()
        assert log == [("stop", "b"), ("start", "b")]
        assert [p.starts for p in ps.values()] == [1, 2, 1]
        events = [e for e in bus_events(sub)]
        assert isinstance(events[0], ChildExited)
        assert events[0].reason == "crash"
        assert events[0].error is not None and "b crashed" in events[0].error
        assert isinstance(events[1], ChildRestarted)
        assert events[1].child_id == "b"
        await supervisor.stop()


def bus_events(sub: Subscription[LifecycleEvent]) -> list[LifecycleEvent]:
    out: list[LifecycleEvent] = []
    while True:
        try:
            out.append(sub.receive_nowait())
        except trio.WouldBlock:
            return out


async def test_one_for_all_stops_others_in_reverse_then_restarts_all_in_order() -> None:
    log: Log = []
    ps = probes("abcd", log)
    supervisor = Supervisor(specs(ps), strategy=Strategy.ONE_FOR_ALL)
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        log.clear()
        ps["b"].crash()
        await settle()
        assert log == [
            ("stop", "b"),
            ("stop", "d"),
            ("stop", "c"),
            ("stop", "a"),
            ("start", "a"),
            ("start", "b"),
            ("start", "c"),
            ("start", "d"),
        ]
        await supervisor.stop()


async def test_rest_for_one_restarts_the_child_and_those_after_it() -> None:
    log: Log = []
    ps = probes("abcd", log)
    supervisor = Supervisor(specs(ps), strategy=Strategy.REST_FOR_ONE)
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        log.clear()
        ps["b"].crash()
        await settle()
        assert log == [
            ("stop", "b"),
            ("stop", "d"),
            ("stop", "c"),
            ("start", "b"),
            ("start", "c"),
            ("start", "d"),
        ]
        assert ps["a"].starts == 1
        await supervisor.stop()


async def test_restart_types_decide_what_comes_back() -> None:
    log: Log = []
    perm, trans, temp = Probe("perm", log), Probe("trans", log), Probe("temp", log)
    supervisor = Supervisor(
        [
            ChildSpec("perm", perm.run, restart=Restart.PERMANENT),
            ChildSpec("trans", trans.run, restart=Restart.TRANSIENT),
            ChildSpec("temp", temp.run, restart=Restart.TEMPORARY),
        ],
        max_restarts=10,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        perm.exit()  # permanent: even a normal exit is restarted
        await settle()
        assert perm.starts == 2 and perm.alive
        trans.crash()  # transient: a crash is restarted
        await settle()
        assert trans.starts == 2 and trans.alive
        trans.exit()  # ... a normal exit is not, but its spec stays
        await settle()
        assert trans.starts == 2 and not trans.alive
        temp.crash()  # temporary: never restarted, and forgotten
        await settle()
        assert temp.starts == 1 and not temp.alive
        assert [(i.id, i.running) for i in supervisor.which_children()] == [
            ("perm", True),
            ("trans", False),
        ]
        await supervisor.stop()


async def test_exceeding_intensity_stops_children_and_escalates(autojump_clock: Any) -> None:
    log: Log = []
    ps = probes("abc", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    supervisor = Supervisor(specs(ps), max_restarts=2, max_seconds=10, broadcast=bus, name="s")
    with pytest.RaisesGroup(pytest.RaisesExc(SupervisorEscalation, match="max_restarts=2")):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            ps["a"].crash()
            await settle()
            await trio.sleep(11)  # the first restart leaves the window
            ps["a"].crash()
            await settle()
            await trio.sleep(1)
            ps["b"].crash()
            await settle()
            assert supervisor.is_running  # 2 restarts within 10 s: still allowed
            await trio.sleep(1)
            log.clear()
            ps["c"].crash()  # a third within 10 s: too many
            await trio.sleep_forever()
    assert log == [("stop", "c"), ("stop", "b"), ("stop", "a")]
    escalated = [e for e in bus_events(sub) if isinstance(e, SupervisorEscalated)]
    assert len(escalated) == 1
    assert escalated[0].restarts == 3
    assert not any(p.alive for p in ps.values())


async def test_zero_max_restarts_escalates_on_first_crash() -> None:
    log: Log = []
    ps = probes("a", log)
    supervisor = Supervisor(specs(ps), max_restarts=0)
    with pytest.RaisesGroup(SupervisorEscalation):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            ps["a"].crash()
    assert ps["a"].starts == 1


async def test_child_ignoring_cancellation_is_reported_not_waited_on(
    autojump_clock: Any,
) -> None:
    log: Log = []
    stuck = Probe("stuck", log, stubborn=100)
    other = Probe("other", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    supervisor = Supervisor(
        [ChildSpec("stuck", stuck.run, shutdown=2.0), ChildSpec("other", other.run)],
        broadcast=bus,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        start = trio.current_time()
        await supervisor.terminate_child("stuck")
        assert trio.current_time() - start == pytest.approx(2.0)
        timeouts = [e for e in bus_events(sub) if isinstance(e, ChildShutdownTimeout)]
        assert [(e.child_id, e.timeout) for e in timeouts] == [("stuck", 2.0)]
        assert stuck.alive  # trio cannot abandon it: it is still finishing, reported
        info = supervisor.which_children()[0]
        assert (info.id, info.running, info.stopping) == ("stuck", True, True)
        # no second copy beside the first: restart_child waits one shutdown more, then
        # says it is still stopping
        with pytest.raises(ChildRunning, match="still stopping") as refused:
            await supervisor.restart_child("stuck")
        assert refused.value.stopping
        assert trio.current_time() - start == pytest.approx(4.0)
        assert stuck.starts == 1
        with pytest.raises(ChildRunning, match="still stopping"):
            await supervisor.delete_child("stuck")
        # the supervisor keeps working meanwhile
        assert supervisor.which_children()[1].running
        await trio.sleep_until(start + 100)  # the old run ends by itself...
        await settle()
        assert not supervisor.which_children()[0].running
        await supervisor.restart_child("stuck")  # ... and the child starts again
        assert stuck.starts == 2
        stuck.stubborn = 0
        await supervisor.stop()


async def test_nested_supervisor_escalation_is_a_crash_for_its_parent() -> None:
    log: Log = []
    inner_probe = Probe("leaf", log)
    inner = Supervisor([ChildSpec("leaf", inner_probe.run)], max_restarts=0, name="inner")
    sibling = Probe("sibling", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    outer = Supervisor(
        [ChildSpec("inner", inner.run), ChildSpec("sibling", sibling.run)],
        broadcast=bus,
        name="outer",
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(outer.run)
        assert outer.which_children()[0].value is inner
        inner_probe.crash()
        await settle()
        assert inner_probe.starts == 2  # the parent restarted the inner tree
        assert inner.is_running
        assert sibling.starts == 1
        exits = [e for e in bus_events(sub) if isinstance(e, ChildExited)]
        assert [(e.child_id, e.reason) for e in exits] == [("inner", "crash")]
        assert exits[0].error is not None and "SupervisorEscalation" in exits[0].error
        await outer.stop()
    assert not inner_probe.alive


async def test_children_added_and_removed_at_runtime() -> None:
    log: Log = []
    a, b = Probe("a", log), Probe("b", log)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    sub = bus.subscribe()
    supervisor = Supervisor([ChildSpec("a", a.run)], broadcast=bus)
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        assert await supervisor.start_child(ChildSpec("b", b.run)) is b
        with pytest.raises(InvalidChildSpec, match="already has a child 'b'"):
            await supervisor.start_child(ChildSpec("b", b.run))
        with pytest.raises(ChildRunning, match="terminate_child"):
            await supervisor.delete_child("b")
        with pytest.raises(ChildRunning):
            await supervisor.restart_child("b")
        await supervisor.terminate_child("b")
        assert not b.alive
        assert [(i.id, i.running) for i in supervisor.which_children()] == [
            ("a", True),
            ("b", False),
        ]
        assert await supervisor.restart_child("b") is b
        assert b.starts == 2
        await supervisor.terminate_child("b")
        await supervisor.delete_child("b")
        assert [i.id for i in supervisor.which_children()] == ["a"]
        with pytest.raises(ChildNotFound, match="no child 'b'"):
            await supervisor.terminate_child("b")
        with pytest.raises(OSError, match="cannot connect"):
            await supervisor.start_child(ChildSpec("bad", failing_start))
        assert [i.id for i in supervisor.which_children()] == ["a"]
        # a temporary child is forgotten when terminated
        t = Probe("t", log)
        await supervisor.start_child(ChildSpec("t", t.run, restart=Restart.TEMPORARY))
        await supervisor.terminate_child("t")
        assert [i.id for i in supervisor.which_children()] == ["a"]
        await supervisor.stop()
    kinds = [type(e) for e in bus_events(sub)]
    assert kinds.count(ChildStarted) == 4  # a, b, b again, t; not the failed one
    assert kinds.count(ChildStopped) == 4  # b twice, t, a


async def test_runtime_api_needs_a_running_supervisor() -> None:
    supervisor = Supervisor()
    with pytest.raises(ActorError, match="not running"):
        await supervisor.terminate_child("x")
    await supervisor.stop()  # stopping an idle supervisor is a no-op


async def test_start_failure_stops_started_children_and_fails_start() -> None:
    log: Log = []
    a = Probe("a", log)
    supervisor = Supervisor([ChildSpec("a", a.run), ChildSpec("bad", failing_start)])
    async with trio.open_nursery() as nursery:
        with pytest.raises(OSError, match="cannot connect"):
            await nursery.start(supervisor.run)
    assert log == [("start", "a"), ("stop", "a")]
    assert not supervisor.is_running


async def test_restart_that_fails_to_start_counts_toward_intensity() -> None:
    attempts = 0
    log: Log = []
    flaky = Probe("flaky", log)

    async def start(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            raise OSError("still down")
        await flaky.run(task_status=task_status)

    supervisor = Supervisor([ChildSpec("flaky", start)], max_restarts=3)
    with pytest.RaisesGroup(SupervisorEscalation):
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            flaky.crash()
    assert attempts == 4  # the first start, then 3 failed restarts, then escalation


async def test_cancelling_the_parent_stops_children_in_reverse_and_leaves_no_task() -> None:
    log: Log = []
    ps = probes("abc", log)
    supervisor = Supervisor(specs(ps))
    root = trio.lowlevel.current_root_task()

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

    before = count(root)
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            assert count(root) == before + 1 + 3  # the supervisor task and its children
            scope.cancel()
    assert log[3:] == [("stop", "c"), ("stop", "b"), ("stop", "a")]
    assert count(root) == before
    assert not any(p.alive for p in ps.values())


async def test_actor_child_is_restarted_and_its_ref_stays_valid() -> None:
    class Echo(Actor[str]):
        async def handle(self, message: str) -> str:
            if message == "die":
                raise RuntimeError("asked to die")
            return message.upper()

    echo = Echo(name="echo")
    supervisor = Supervisor([ChildSpec("echo", echo.run)])
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        ref = supervisor.which_children()[0].value
        assert ref is echo.ref
        assert await echo.ref.ask("hi") == "HI"
        with pytest.raises(RuntimeError, match="asked to die"):
            await echo.ref.ask("die")
        await settle()
        assert await echo.ref.ask("again") == "AGAIN"
        await supervisor.stop()
    assert not echo.ref.is_alive


async def test_supervisor_cannot_run_twice_at_once() -> None:
    supervisor = Supervisor()
    async with trio.open_nursery() as nursery:
        await nursery.start(supervisor.run)
        with pytest.raises(ActorError, match="already running"):
            await supervisor.run()
        await supervisor.stop()


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"id": "", "start": failing_start}, "id", "non-empty string"),
        ({"id": 3, "start": failing_start}, "id", "non-empty string"),
        ({"id": "x", "start": 42}, "start", "async callable"),
        ({"id": "x", "start": failing_start, "restart": "permanent"}, "restart", "Restart"),
        ({"id": "x", "start": failing_start, "shutdown": -1}, "shutdown", ">= 0"),
        ({"id": "x", "start": failing_start, "shutdown": math.nan}, "shutdown", ">= 0"),
    ],
)
def test_invalid_child_spec(kwargs: dict[str, Any], field: str, fragment: str) -> None:
    with pytest.raises(InvalidChildSpec, match=fragment) as info:
        ChildSpec(**kwargs)
    assert info.value.field == field
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        (
            {"children": [ChildSpec("a", failing_start), ChildSpec("a", failing_start)]},
            InvalidChildSpec,
            "duplicate child id 'a'",
        ),
        ({"children": ["a"]}, InvalidChildSpec, "ChildSpec instances"),
        ({"max_restarts": -1}, ConfigError, "max_restarts must be an int >= 0"),
        ({"max_seconds": 0}, ConfigError, "max_seconds must be a finite number"),
        ({"max_seconds": -5}, ConfigError, "max_seconds"),
        ({"max_seconds": math.inf}, ConfigError, "max_seconds"),
        ({"strategy": "one_for_one"}, ConfigError, "strategy must be a Strategy"),
        ({"name": ""}, ConfigError, "name must be a non-empty string"),
    ],
)
def test_invalid_supervisor_config(kwargs: dict[str, Any], error: type, fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        Supervisor(**kwargs)


async def test_cancelling_a_tree_fails_queued_asks_and_half_delivers_nothing() -> None:
    class Slow(Actor[int]):
        def __init__(self) -> None:
            super().__init__(name="slow")
            self.completed: list[int] = []
            self.release = trio.Event()

        async def handle(self, message: int) -> int:
            await self.release.wait()
            self.completed.append(message)
            return message

    slow = Slow()
    supervisor = Supervisor([ChildSpec("slow", slow.run)])
    outcomes: dict[int, str] = {}

    async def asker(i: int) -> None:
        try:
            outcomes[i] = f"reply {await slow.ref.ask(i)}"
        except Exception as exc:
            outcomes[i] = type(exc).__name__

    async with trio.open_nursery() as askers:
        with trio.CancelScope() as tree_scope:
            async with trio.open_nursery() as tree:
                await tree.start(supervisor.run)
                for i in range(3):
                    askers.start_soon(asker, i)
                await settle()  # 0 is being handled, 1 and 2 wait in the mailbox
                tree_scope.cancel()
    # nothing was handled to completion, and every asker woke with a typed answer
    assert slow.completed == []
    assert outcomes == {0: "ActorStopped", 1: "ActorStopped", 2: "ActorStopped"}
    assert not supervisor.is_running
