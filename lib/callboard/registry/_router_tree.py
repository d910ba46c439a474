"""A started Router: one one_for_one Supervisor over its deployments and fallbacks, each
a subtree of its own.

Each child is TEMPORARY: a deployment whose own tree gave up is not restarted by this
supervisor (restarting it at once would spend the supervisor's intensity on a server
that is gone and could take the healthy deployments down with it). The Router rests
it instead, and the probe that ends the rest starts it again (``wake()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import trio

from callboard.actors import Broadcast, ChildSpec, LifecycleEvent, Restart, Strategy, Supervisor
from callboard.actors._block import BlockNursery
from callboard.errors import CallboardError

__all__ = ["Child", "RouterTree", "child_id"]


class Child(Protocol):
    """What the tree runs: an iModel or a Router."""

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str: ...

    async def run(self, *, task_status: trio.TaskStatus[Any] = ...) -> None: ...

    async def stop(self) -> None: ...


def child_id(child: Child) -> str:
    return f"{child.name}#{child.id}"


class RouterTree:
    """The running children of one Router; ``supervisor`` is ``None`` when not started."""

    __slots__ = ("_block", "_broadcast", "_children", "_specs", "name", "supervisor")

    def __init__(
        self, name: str, children: Sequence[Child], broadcast: Broadcast[LifecycleEvent]
    ) -> None:
        self.name = name
        self._children = tuple(children)
        self._broadcast = broadcast
        self._specs = {
            child_id(child): ChildSpec(child_id(child), child.run, restart=Restart.TEMPORARY)
            for child in self._children
        }
        self.supervisor: Supervisor | None = None
        self._block: BlockNursery | None = None

    async def run(self, started: object, task_status: trio.TaskStatus[Any]) -> None:
        """Run every child until ``stop()``; reports ``started`` once all are up."""
        if self.supervisor is not None:
            raise CallboardError(f"router {self.name!r} is already running")
        supervisor = Supervisor(
            list(self._specs.values()),
            strategy=Strategy.ONE_FOR_ONE,
            broadcast=self._broadcast,
            name=self.name,
        )
        self.supervisor = supervisor
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(supervisor.run)
                task_status.started(started)
        finally:
            self.supervisor = None

    async def stop(self) -> None:
        """Stop every child (each drains its own hook actors), then the supervisor."""
        supervisor = self.supervisor
        if supervisor is None:
            await trio.lowlevel.checkpoint()
            return
        running = {info.id for info in supervisor.which_children() if info.running}
        for child in reversed(self._children):
            if child_id(child) in running:
                await child.stop()
        await supervisor.stop()

    def running(self, child: Child) -> bool:
        """True while ``child`` runs under this tree."""
        supervisor = self.supervisor
        if supervisor is None:
            return False
        key = child_id(child)
        return any(info.id == key and info.running for info in supervisor.which_children())

    async def wake(self, child: Child) -> None:
        """Start ``child`` again when its tree stopped (before a probe of it)."""
        supervisor = self.supervisor
        if supervisor is None or self.running(child):
            await trio.lowlevel.checkpoint()
            return
        key = child_id(child)
        try:
            if any(info.id == key for info in supervisor.which_children()):
                await supervisor.restart_child(key)
            else:  # a TEMPORARY child is forgotten when it ends
                await supervisor.start_child(self._specs[key])
        except Exception:
            pass  # it failed to start: the probe then fails as the stopped model does

    async def enter(self, started: object) -> None:
        """``async with router``: run the tree in a nursery of the block's own."""
        block = BlockNursery()
        nursery = await block.open()
        try:
            await nursery.start(self.run, started)
        except BaseException as error:
            await block.close(error)
            raise
        self._block = block

    async def exit(self, exc: BaseException | None) -> None:
        block, self._block = self._block, None
        assert block is not None
        if exc is None:
            await self.stop()
        await block.close(exc)
