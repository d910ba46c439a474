"""Random crash / exit / terminate / restart / sleep sequences against a model of OTP rules.

Hypothesis cannot drive a trio run across rules, so each example is a list of operations
run inside one ``trio.run`` on a ``MockClock`` (time moves only when an operation says so),
and a small pure-Python model of OTP supervision predicts, after every operation, which
children run, how often each was started, the exact order of starts and stops, and
whether the supervisor escalated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.actors import ChildSpec, Restart, Strategy, Supervisor, SupervisorEscalation

from .probes import Probe

Op = tuple[Literal["crash", "exit", "terminate", "restart_child", "sleep"], int]


@dataclass
class ModelChild:
    id: str
    restart: Restart
    running: bool = True


@dataclass
class Model:
    """OTP supervision rules, written as plainly as possible."""

    strategy: Strategy
    max_restarts: int
    max_seconds: float
    children: list[ModelChild]
    now: float = 0.0
    restarts: list[float] = field(default_factory=list[float])
    escalated: bool = False
    log: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    starts: dict[str, int] = field(default_factory=dict[str, int])

    def find(self, child_id: str) -> ModelChild | None:
        return next((c for c in self.children if c.id == child_id), None)

    def start(self, child: ModelChild) -> None:
        child.running = True
        self.starts[child.id] = self.starts.get(child.id, 0) + 1
        self.log.append(("start", child.id))

    def stop(self, child: ModelChild) -> None:
        child.running = False
        self.log.append(("stop", child.id))

    def child_ended(self, child: ModelChild, reason: Literal["normal", "crash"]) -> None:
        self.stop(child)
        if child.restart is Restart.TEMPORARY:
            self.children.remove(child)
            return
        if child.restart is Restart.TRANSIENT and reason == "normal":
            return
        self.restarts = [t for t in self.restarts if self.now - t < self.max_seconds]
        self.restarts.append(self.now)
        if len(self.restarts) > self.max_restarts:
            for other in reversed(self.children):
                if other.running:
                    self.stop(other)
            self.escalated = True
            return
        index = self.children.index(child)
        group = {
            Strategy.ONE_FOR_ONE: [child],
            Strategy.ONE_FOR_ALL: list(self.children),
            Strategy.REST_FOR_ONE: self.children[index:],
        }[self.strategy]
        for other in reversed(group):
            if other is not child and other.running:
                self.stop(other)
                if other.restart is Restart.TEMPORARY:
                    self.children.remove(other)
        for other in group:
            if other in self.children and not other.running:
                self.start(other)

    def terminate(self, child: ModelChild) -> None:
        if child.running:
            self.stop(child)
        if child.restart is Restart.TEMPORARY:
            self.children.remove(child)


ops = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["crash", "exit", "terminate", "restart_child"]), st.integers(0, 3)
        ),
        st.tuples(st.just("sleep"), st.integers(1, 6)),
    ),
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(
    strategy=st.sampled_from(Strategy),
    restarts=st.lists(st.sampled_from(Restart), min_size=1, max_size=4),
    max_restarts=st.integers(0, 3),
    max_seconds=st.integers(1, 10),
    operations=ops,
)
def test_supervisor_follows_otp_rules(
    strategy: Strategy,
    restarts: list[Restart],
    max_restarts: int,
    max_seconds: int,
    operations: list[Op],
) -> None:
    ids = [f"c{i}" for i in range(len(restarts))]
    model = Model(
        strategy,
        max_restarts,
        max_seconds,
        [ModelChild(i, r, running=False) for i, r in zip(ids, restarts, strict=True)],
    )
    for child in list(model.children):
        model.start(child)
    log: list[tuple[str, str]] = []
    probes = {i: Probe(i, log) for i in ids}
    supervisor = Supervisor(
        [ChildSpec(i, probes[i].run, restart=r) for i, r in zip(ids, restarts, strict=True)],
        strategy=strategy,
        max_restarts=max_restarts,
        max_seconds=max_seconds,
    )
    clock = trio.testing.MockClock()
    escalated = False

    def check() -> None:
        assert escalated == model.escalated
        assert log == model.log
        expected = [(c.id, c.running) for c in model.children]
        if not escalated:
            assert [(c.id, c.running) for c in supervisor.which_children()] == expected
        for child_id, probe in probes.items():
            model_child = model.find(child_id)
            assert probe.alive == (model_child is not None and model_child.running)
            assert probe.starts == model.starts.get(child_id, 0)

    async def host(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        nonlocal escalated
        try:
            await supervisor.run(task_status=task_status)
        except SupervisorEscalation:
            escalated = True

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(host)
            check()
            for name, arg in operations:
                child_id = ids[arg % len(ids)]
                model_child = model.find(child_id)
                if name == "sleep":
                    clock.jump(arg)
                    model.now += arg
                elif name in ("crash", "exit"):
                    if model_child is None or not model_child.running:
                        continue
                    if name == "crash":
                        probes[child_id].crash()
                    else:
                        probes[child_id].exit()
                    model.child_ended(model_child, "crash" if name == "crash" else "normal")
                elif name == "terminate":
                    if model_child is None:
                        continue
                    await supervisor.terminate_child(child_id)
                    model.terminate(model_child)
                else:
                    if model_child is None or model_child.running:
                        continue
                    await supervisor.restart_child(child_id)
                    model.start(model_child)
                await trio.testing.wait_all_tasks_blocked()
                check()
                if model.escalated:
                    return
            await supervisor.stop()
            for child in reversed(model.children):
                if child.running:
                    model.stop(child)
            check()

    trio.run(main, clock=clock)
    assert not any(p.alive for p in probes.values())
