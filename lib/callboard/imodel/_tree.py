"""A started iModel: its actor tree, a one_for_one Supervisor over hook actors, the
Endpoint actor (for a provider backend) and the Executor actor.

Hook actors start first (so they see every event), then the actor backend (an Endpoint:
its ``run`` opens its client), the Executor last; they stop in reverse order.
"""

from __future__ import annotations

import contextlib
from typing import Any, cast

import trio

from callboard.actors import (
    ActorError,
    Broadcast,
    ChildSpec,
    LifecycleEvent,
    Restart,
    Strategy,
    Supervisor,
)
from callboard.actors._block import BlockNursery
from callboard.calling import Backend
from callboard.errors import CallboardError
from callboard.executor import Executor

from ._hook_actor import HookActor
from ._hooks import HookRegistry
from ._pipeline import Emitter

__all__ = ["ActorTree"]


class ActorTree:
    """The running actors of one model; ``supervisor`` is ``None`` when not started."""

    __slots__ = (
        "_backend",
        "_block",
        "_broadcast",
        "_emitter",
        "_executor",
        "_hooks",
        "failure",
        "hook_actors",
        "name",
        "supervisor",
    )

    def __init__(
        self,
        name: str,
        *,
        backend: Backend,
        executor: Executor,
        hooks: HookRegistry | None,
        broadcast: Broadcast[LifecycleEvent],
        emitter: Emitter,
    ) -> None:
        self.name = name
        self._backend = backend
        self._executor = executor
        self._hooks = hooks
        self._broadcast = broadcast
        self._emitter = emitter
        self.supervisor: Supervisor | None = None
        self.hook_actors: tuple[HookActor, ...] = ()
        self._block: BlockNursery | None = None
        self.failure: BaseException | None = None
        """The error the last run ended with after it had started (the supervisor gave
        up); ``None`` once a new run starts, or when the last one stopped cleanly."""

    async def run(self, started: object, task_status: trio.TaskStatus[Any]) -> None:
        """Run the tree until ``stop()`` or cancellation; reports ``started`` once up.

        Raises:
            ActorError: the tree is running already.
        """
        if self.supervisor is not None:
            raise ActorError(f"model {self.name!r} is already running")
        observers = self._hooks.observers() if self._hooks is not None else ()
        actors = tuple(HookActor(hook, self._broadcast) for hook in observers)
        specs = [
            ChildSpec(f"hook{i}:{actor.hook.name}", actor.run, restart=Restart.TRANSIENT)
            for i, actor in enumerate(actors)
        ]
        backend_run: Any = getattr(self._backend, "run", None)
        if callable(backend_run):  # an actor backend (an Endpoint) runs before its Executor
            specs.append(ChildSpec("endpoint", cast(Any, backend_run)))
        specs.append(ChildSpec("executor", self._executor.run))
        supervisor = Supervisor(
            specs, strategy=Strategy.ONE_FOR_ONE, broadcast=self._broadcast, name=self.name
        )
        self.supervisor, self.hook_actors = supervisor, actors
        running = False
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(supervisor.run)
                self._emitter.actors_running = running = True
                self.failure = None
                task_status.started(started)
        except BaseException as error:
            cause = _failure(error)
            if running and cause is not None:
                self.failure = cause
            raise
        finally:
            self._emitter.actors_running = False
            self.supervisor, self.hook_actors = None, ()

    async def stop(self) -> None:
        """Stop the Executor first (aborting what it still holds), then let every hook
        actor handle the events it holds, then the supervisor. Idempotent."""
        supervisor = self.supervisor
        if supervisor is None:
            await trio.lowlevel.checkpoint()
            return
        with contextlib.suppress(CallboardError):
            await supervisor.terminate_child("executor")
        for actor in self.hook_actors:
            await actor.drain()
        await supervisor.stop()

    async def enter(self, started: object) -> None:
        """``async with model``: run the tree in a nursery of the block's own."""
        block = BlockNursery()
        nursery = await block.open()
        try:
            await nursery.start(self.run, started)
        except BaseException as error:
            await block.close(error)
            raise
        self._block = block

    async def exit(self, exc: BaseException | None) -> None:
        """Leave ``async with model``: stop the tree when the block ended normally, then
        close the block's nursery whatever happened, as a nursery would.

        A block that swallowed the ``Cancelled`` the dying tree sent it still gets the
        tree's error (as the nursery's exception group); stopping a tree that is gone
        raises that ``Cancelled`` again, which must not leave the nursery open.
        """
        block, self._block = self._block, None
        assert block is not None
        error = exc
        if exc is None:
            try:
                await self.stop()
            except BaseException as raised:
                error = raised
        await block.close(error)
        if error is not None and error is not exc:
            raise error


def _failure(error: BaseException) -> BaseException | None:
    """What ended a run, if anything but cancellation did (the first such error)."""
    if isinstance(error, BaseExceptionGroup):
        group = cast(BaseExceptionGroup[BaseException], error)
        for inner in group.exceptions:
            found = _failure(inner)
            if found is not None:
                return found
        return None
    return None if isinstance(error, trio.Cancelled) else error
