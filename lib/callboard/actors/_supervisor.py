"""Supervisor: OTP supervision for Trio tasks.

A supervisor runs each child in its own task inside the supervisor's nursery, under a
cancel scope the supervisor alone cancels (shielded from the moment the child reported
ready). That is what lets it stop children
one by one, in reverse start order, even when its own parent scope is cancelled: the
parent's cancellation reaches the supervisor, which then shuts its children down in
order (each within its ``shutdown`` timeout) before letting the cancellation continue.

Rules, as in OTP:

- children start in order, each ``start`` returning only once the child is ready; a
  start failure while the supervisor starts stops the children already started (reverse
  order) and ``run`` raises that error, so ``nursery.start(supervisor.run)`` fails;
- a child returning is a normal exit, raising is a crash; PERMANENT children are always
  restarted, TRANSIENT ones only after a crash, TEMPORARY ones never (and forgotten);
- the strategy picks the children restarted with it: ONE_FOR_ONE (itself),
  ONE_FOR_ALL (every child), REST_FOR_ONE (itself and those started after it). Like OTP,
  a group restart stops the group's running children in reverse order, forgets the
  temporary ones, then starts every remaining child of the group in order, including
  ones that had stopped;
- every restart counts toward the intensity: more than ``max_restarts`` restarts within
  ``max_seconds`` (on ``trio.current_time()``) makes the supervisor stop all children in
  reverse order and raise [`SupervisorEscalation`][callboard.SupervisorEscalation] from ``run``;
- a child still running ``shutdown`` seconds after being cancelled is reported with
  ``ChildShutdownTimeout`` and the supervisor moves on. Trio cannot abandon a task,
  so the stuck task stays in the supervisor's nursery and ``run`` returns only once it
  ends by itself.

This module is the supervisor's public face: its configuration, its run loop and the
runtime child API (``start_child`` ... ``which_children``). ``Supervision`` applies
the rules above, ``RestartIntensity`` counts the restarts, and
``_supervised_child`` holds what is kept per child.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import trio

from callboard.errors import ConfigError

from ._broadcast import Broadcast
from ._child_spec import ChildInfo, ChildSpec, Restart, Strategy
from ._errors import ActorError, ChildNotFound, ChildRunning, InvalidChildSpec
from ._events import LifecycleEvent
from ._intensity import RestartIntensity
from ._supervised_child import ExitReport, SupervisedChild
from ._supervision import Supervision

__all__ = ["Supervisor"]

_STOP = object()


class Supervisor:
    """Start children in order, restart them by OTP rules, escalate when they keep dying.

    Args:
        children: the initial child specs, started in this order.
        strategy: which children restart together (see [`Strategy`][callboard.Strategy]).
        max_restarts: restarts allowed within ``max_seconds`` before escalating (>= 0).
        max_seconds: the intensity window, in seconds of ``trio.current_time()`` (> 0).
        broadcast: where lifecycle events go (ChildStarted, ChildExited, ...); optional.
        name: shown in events and errors.

    Raises:
        InvalidChildSpec: a child is not a ChildSpec or two share an id.
        ConfigError: a bad strategy, intensity or name.

    Example::

        supervisor = Supervisor([ChildSpec("worker", Worker().run)])
        async with trio.open_nursery() as nursery:
            await nursery.start(supervisor.run)
            ...
            await supervisor.stop()
    """

    def __init__(
        self,
        children: Sequence[ChildSpec] = (),
        *,
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        broadcast: Broadcast[LifecycleEvent] | None = None,
        name: str = "supervisor",
    ) -> None:
        specs = list(children)
        for spec in specs:
            if not isinstance(spec, ChildSpec):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise InvalidChildSpec(
                    f"children must be ChildSpec instances, got {spec!r}", field="children"
                )
        seen: set[str] = set()
        for spec in specs:
            if spec.id in seen:
                raise InvalidChildSpec(
                    f"duplicate child id {spec.id!r}; give every child a unique id",
                    field="children",
                )
            seen.add(spec.id)
        if not isinstance(strategy, Strategy):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                f"strategy must be a Strategy (ONE_FOR_ONE, ONE_FOR_ALL, REST_FOR_ONE), "
                f"got {strategy!r}",
                field="strategy",
            )
        if (
            isinstance(max_restarts, bool)
            or not isinstance(max_restarts, int)  # pyright: ignore[reportUnnecessaryIsInstance]
            or max_restarts < 0
        ):
            raise ConfigError(
                f"max_restarts must be an int >= 0 (restarts allowed per max_seconds), "
                f"got {max_restarts!r}",
                field="max_restarts",
            )
        if (
            isinstance(max_seconds, bool)
            or not isinstance(max_seconds, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
            or not 0 < max_seconds < math.inf
        ):
            raise ConfigError(
                f"max_seconds must be a finite number of seconds > 0, got {max_seconds!r}",
                field="max_seconds",
            )
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(f"name must be a non-empty string, got {name!r}", field="name")
        self._specs = specs
        self._strategy = strategy
        self._name = name
        self._supervision = Supervision(
            name, strategy, RestartIntensity(max_restarts, float(max_seconds)), broadcast
        )
        self._lock = trio.Lock()
        self._finished = trio.Event()
        self._finished.set()

    @property
    def name(self) -> str:
        return self._name

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    @property
    def is_running(self) -> bool:
        return self._supervision.nursery is not None

    def __repr__(self) -> str:
        children = len(self._supervision.children)
        return f"<Supervisor {self._name!r} {self._strategy.value} children={children}>"

    # ------------------------------------------------------------------ running

    async def run(
        self, *, task_status: trio.TaskStatus[Supervisor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Start the children in order, report ready, then supervise until stopped.

        A supervisor object can run again after it ended (a parent supervisor restarting
        it does that); each run starts from the initial child specs with a fresh
        restart count, like a restarted OTP supervisor.

        Raises:
            SupervisorEscalation: the restart intensity was exceeded.
            Exception: a child failed to start while the supervisor started.
            ActorError: this supervisor is already running.
        """
        supervision = self._supervision
        if supervision.nursery is not None:
            raise ActorError(f"supervisor {self._name!r} is already running")
        send, receive = trio.open_memory_channel[ExitReport | object](math.inf)
        supervision.exits = send
        supervision.renew(self._specs)
        self._finished = trio.Event()
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                supervision.nursery = nursery
                try:
                    try:
                        async with self._lock:
                            for child in list(supervision.children):
                                await supervision.start(child, restarted=False)
                    except Exception as exc:
                        failure = exc
                    else:
                        task_status.started(self)
                        failure = await self._supervise(receive)
                finally:
                    with trio.CancelScope(shield=True):
                        await supervision.shutdown_all()
        finally:
            supervision.nursery = None
            supervision.exits = None
            send.close()
            receive.close()
            self._finished.set()
        if failure is not None:
            raise failure

    async def _supervise(self, receive: trio.MemoryReceiveChannel[ExitReport | object]) -> Any:
        async for item in receive:
            if not isinstance(item, ExitReport):
                return None
            async with self._lock:
                escalation = await self._supervision.on_exit(item)
            if escalation is not None:
                return escalation
        return None  # pragma: no cover - the channel is closed only after this returns

    async def stop(self) -> None:
        """Stop every child in reverse start order, then let ``run`` return normally.

        Safe to call from inside a child: the supervisor's own task does the shutdown.
        Returns once ``run`` has finished (at once if it is not running).
        """
        if self._supervision.exits is not None:
            self._supervision.exits.send_nowait(_STOP)
        await self._finished.wait()

    # ------------------------------------------------------------------ runtime API

    def _require_running(self, operation: str) -> None:
        if self._supervision.nursery is None:
            raise ActorError(
                f"{operation}: supervisor {self._name!r} is not running; start it with "
                "nursery.start(supervisor.run)"
            )

    def _find(self, child_id: str) -> SupervisedChild:
        for child in self._supervision.children:
            if child.spec.id == child_id:
                return child
        raise ChildNotFound(self._name, child_id)

    async def start_child(self, spec: ChildSpec) -> Any:
        """Add ``spec`` after the existing children and start it; returns its started value.

        Raises:
            InvalidChildSpec: not a ChildSpec, or its id is already used.
            ActorError: the supervisor is not running.
            Exception: the child's start failed (the spec is then not kept).
        """
        if not isinstance(spec, ChildSpec):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidChildSpec(f"expected a ChildSpec, got {spec!r}", field="spec")
        self._require_running("start_child")
        async with self._lock:
            children = self._supervision.children
            if any(child.spec.id == spec.id for child in children):
                raise InvalidChildSpec(
                    f"supervisor {self._name!r} already has a child {spec.id!r}; pick another "
                    "id or delete_child() the old one",
                    field="id",
                )
            child = SupervisedChild(spec)
            children.append(child)
            try:
                return await self._supervision.start(child, restarted=False)
            except BaseException:
                children.remove(child)
                raise

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child (its spec is kept, except a TEMPORARY child's, which is removed).

        Waits up to the child's ``shutdown`` for it to end; one still running then is
        reported (``ChildShutdownTimeout``) and listed by ``which_children()`` as
        running and stopping until its task ends by itself.

        Raises:
            ActorError: the supervisor is not running.
            ChildNotFound: no such child.
        """
        self._require_running("terminate_child")
        async with self._lock:
            child = self._find(child_id)
            child.restart_pending = False  # stopped on purpose: no put-off restart either
            await self._supervision.terminate(child)
            if child.spec.restart is Restart.TEMPORARY:
                self._supervision.children.remove(child)

    async def restart_child(self, child_id: str) -> Any:
        """Start a stopped child again; returns its started value.

        A child whose last incarnation outlived its ``shutdown`` is still running: this
        waits up to ``shutdown`` once more for that task to end before starting a new
        one, never running two at once.

        Raises:
            ActorError: the supervisor is not running.
            ChildNotFound: no such child.
            ChildRunning: the child is running (terminate it first), or its last
                incarnation is still stopping after a second ``shutdown`` period.
            Exception: whatever the child's start raised (the child stays stopped).
        """
        self._require_running("restart_child")
        async with self._lock:
            child = self._find(child_id)
            if child.run is not None:
                raise ChildRunning(self._name, child_id, "restart_child")
            stopping = child.stopping
            if child.still_stopping and stopping is not None:
                with trio.move_on_after(child.spec.shutdown):
                    await stopping.done.wait()
                if child.still_stopping:
                    raise ChildRunning(self._name, child_id, "restart_child", stopping=True)
            child.restart_pending = False
            return await self._supervision.start(child, restarted=False)

    async def delete_child(self, child_id: str) -> None:
        """Forget a stopped child's spec.

        Raises:
            ActorError: the supervisor is not running.
            ChildNotFound: no such child.
            ChildRunning: the child is running (terminate it first), or its last
                incarnation is still stopping.
        """
        self._require_running("delete_child")
        async with self._lock:
            child = self._find(child_id)
            if child.run is not None:
                raise ChildRunning(self._name, child_id, "delete_child")
            if child.still_stopping:
                raise ChildRunning(self._name, child_id, "delete_child", stopping=True)
            self._supervision.children.remove(child)
            await trio.lowlevel.checkpoint()

    def which_children(self) -> list[ChildInfo]:
        """The children in start order, running or not.

        ``running`` says whether the child's task runs right now: also when it was told
        to stop and outlived its ``shutdown`` (``stopping`` then says so), not once its
        task ended, even before the supervisor has handled that exit.
        """
        infos: list[ChildInfo] = []
        for child in self._supervision.children:
            running = child.alive
            run = child.run
            infos.append(
                ChildInfo(
                    id=child.spec.id,
                    running=running,
                    restart=child.spec.restart,
                    value=run.value if running and run is not None else None,
                    stopping=running and run is None,
                )
            )
        return infos
