"""A child that outlives its shutdown timeout while its group restarts.

Trio cannot abandon a task, so such a child keeps running after the supervisor gave up
waiting for it. The supervisor must not start a second copy beside it (an Actor refuses
with "already running", which used to count as one more crash each time and escalate
the whole tree within one instant); it restarts the child once the old run has ended,
counts the group restart once, and lists the child as running while its task runs.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.actors import (
    Actor,
    Broadcast,
    ChildRestarted,
    ChildSpec,
    LifecycleEvent,
    Strategy,
    Supervisor,
    SupervisorEscalated,
)


class SlowStopper(Actor[str]):
    """An actor whose stop takes ``linger`` seconds, past any sane shutdown timeout."""

    def __init__(self, name: str, linger: float) -> None:
        super().__init__(name=name)
        self.linger = linger
        self.starts = 0

    async def on_start(self) -> None:
        self.starts += 1

    async def on_stop(self) -> None:
        with trio.CancelScope(shield=True):
            await trio.sleep(self.linger)

    async def handle(self, message: str) -> None:
        if message == "crash":
            raise RuntimeError(f"{self.name} crashed")


def _events(bus: Broadcast[LifecycleEvent]) -> Any:
    return bus.subscribe(4096)


@pytest.mark.parametrize("strategy", [Strategy.ONE_FOR_ALL, Strategy.REST_FOR_ONE])
async def test_one_crash_beside_a_slow_stopper_is_one_restart(
    strategy: Strategy, autojump_clock: object
) -> None:
    # fixed here: the stuck sibling was started again while its old run still stopped,
    # "already running" counted as a crash per attempt, and the tree escalated at once
    slow = SlowStopper("slow", linger=20.0)
    crasher = SlowStopper("crasher", linger=0.0)
    bus: Broadcast[LifecycleEvent] = Broadcast()
    with _events(bus) as events:
        # "slow" after "crasher": in the group of both strategies
        children = [ChildSpec("crasher", crasher.run), ChildSpec("slow", slow.run, shutdown=1.0)]
        supervisor = Supervisor(children, strategy=strategy, max_restarts=1, broadcast=bus)
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            start = trio.current_time()
            await crasher.ref.tell("crash")
            await trio.sleep(2.0)  # the group restart gave up waiting for "slow" at 1 s
            info = {child.id: child for child in supervisor.which_children()}
            assert info["crasher"].running
            assert info["slow"].running and info["slow"].stopping  # its old run goes on
            assert (crasher.starts, slow.starts) == (2, 1)
            await trio.sleep_until(start + 20.5)  # the old run ended: now it restarts
            await trio.testing.wait_all_tasks_blocked()
            info = {child.id: child for child in supervisor.which_children()}
            assert info["slow"].running and not info["slow"].stopping
            assert slow.starts == 2 and slow.ref.is_alive
            slow.linger = 0.0
            await supervisor.stop()
        seen: list[LifecycleEvent] = []
        while True:
            try:
                seen.append(events.receive_nowait())
            except trio.WouldBlock:
                break
    assert not any(isinstance(event, SupervisorEscalated) for event in seen)
    restarted = [e.child_id for e in seen if isinstance(e, ChildRestarted)]
    assert sorted(restarted) == ["crasher", "slow"]  # one group restart, each child once


class Lingering:
    """A ChildSpec start whose incarnations may ignore cancellation for a while; counts
    how many of its incarnations run at once."""

    def __init__(self, name: str, linger: float) -> None:
        self.name = name
        self.linger = linger
        self.running = 0
        self.most = 0
        self.starts = 0
        self._crash: trio.Event | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.running += 1
        self.most = max(self.most, self.running)
        self.starts += 1
        crash = self._crash = trio.Event()
        try:
            task_status.started()
            await crash.wait()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(self.linger)
            self.running -= 1
        raise RuntimeError(f"{self.name} crashed")

    def crash(self) -> None:
        if self._crash is not None:
            self._crash.set()


@settings(max_examples=60, deadline=None)
@given(
    strategy=st.sampled_from(Strategy),
    lingers=st.lists(st.sampled_from([0.0, 0.5, 3.0, 12.0]), min_size=2, max_size=4),
    crashes=st.lists(st.tuples(st.integers(0, 3), st.sampled_from([0.0, 1.0, 7.0])), max_size=6),
)
def test_restarts_never_run_two_copies_and_count_once(
    strategy: Strategy, lingers: list[float], crashes: list[tuple[int, float]]
) -> None:
    """Whatever crashes and however slowly children stop: never two incarnations of a
    child at once, which_children() tells the truth, one restart counted per crash (so
    ``len(crashes)`` restarts never escalate), and every child runs again at the end."""
    children = [Lingering(f"c{i}", linger) for i, linger in enumerate(lingers)]
    supervisor = Supervisor(
        [ChildSpec(c.name, c.run, shutdown=1.0) for c in children],
        strategy=strategy,
        max_restarts=len(crashes),
        max_seconds=1e9,
    )

    async def truthful() -> None:
        await trio.testing.wait_all_tasks_blocked()  # no start or stop half done
        for child, info in zip(children, supervisor.which_children(), strict=True):
            assert info.running == (child.running > 0), (info, child.running)
            assert child.running <= 1, f"{child.name}: {child.running} copies at once"

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            for index, pause in crashes:
                children[index % len(children)].crash()
                await truthful()
                await trio.sleep(pause)
                await truthful()
            # every lingering run has ended: each began at most one shutdown (1 s) per
            # child after the last crash, and lingers at most max(lingers)
            await trio.sleep(max(lingers) + len(children) + 1.0)
            await truthful()
            infos = supervisor.which_children()
            assert all(info.running for info in infos), infos
            for child in children:
                child.linger = 0.0
            await supervisor.stop()
        assert [child.most for child in children] == [1] * len(children)
        assert [child.running for child in children] == [0] * len(children)

    # An escalation (the bug: a put-off restart counted again and again) raises here.
    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
