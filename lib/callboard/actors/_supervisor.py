"""Supervisor: OTP supervision for Trio tasks.

A supervisor runs each child in its own task inside the supervisor's nursery, under a
shielded cancel scope the supervisor alone cancels. That is what lets it stop children
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
  reverse order and raise :class:`SupervisorEscalation` from ``run``;
- a child still running ``shutdown`` seconds after being cancelled is reported with
  :class:`ChildShutdownTimeout` and the supervisor moves on. Trio cannot abandon a task,
  so the stuck task stays in the supervisor's nursery and ``run`` returns only once it
  ends by itself.
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import Sequence
from typing import Any, Literal

import trio

from callboard.errors import ConfigError

from ._broadcast import Broadcast
from ._child_spec import ChildInfo, ChildSpec, Restart, Strategy
from ._errors import (
    ActorError,
    BroadcastClosed,
    ChildNotFound,
    ChildRunning,
    InvalidChildSpec,
    SupervisorEscalation,
)
from ._events import (
    ChildExited,
    ChildRestarted,
    ChildShutdownTimeout,
    ChildStarted,
    ChildStopped,
    LifecycleEvent,
    SupervisorEscalated,
)

__all__ = ["Supervisor"]


class _Run:
    """One incarnation of a child: its scope, its end, its started value."""

    __slots__ = ("done", "scope", "stopping", "value")

    def __init__(self) -> None:
        self.scope = trio.CancelScope(shield=True)
        self.done = trio.Event()
        self.stopping = False
        self.value: Any = None


class _Child:
    __slots__ = ("run", "spec")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.run: _Run | None = None


class _Exit:
    __slots__ = ("child", "error", "reason", "run")

    def __init__(
        self,
        child: _Child,
        run: _Run,
        reason: Literal["normal", "crash"],
        error: BaseException | None,
    ) -> None:
        self.child = child
        self.run = run
        self.reason: Literal["normal", "crash"] = reason
        self.error = error


class _Relay:
    """Passes ``started`` through while remembering that the child got that far."""

    __slots__ = ("_inner", "started_called")

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self._inner = inner
        self.started_called = False

    def started(self, value: Any = None) -> None:
        self.started_called = True
        self._inner.started(value)


_STOP = object()


class Supervisor:
    """Start children in order, restart them by OTP rules, escalate when they keep dying.

    Args:
        children: the initial child specs, started in this order.
        strategy: which children restart together (see :class:`Strategy`).
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
        self._max_restarts = max_restarts
        self._max_seconds = float(max_seconds)
        self._broadcast = broadcast
        self._name = name
        self._children: list[_Child] = []
        self._restarts: deque[float] = deque()
        self._lock = trio.Lock()
        self._nursery: trio.Nursery | None = None
        self._exits: trio.MemorySendChannel[_Exit | object] | None = None
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
        return self._nursery is not None

    def __repr__(self) -> str:
        return f"<Supervisor {self._name!r} {self._strategy.value} children={len(self._children)}>"

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
        if self._nursery is not None:
            raise ActorError(f"supervisor {self._name!r} is already running")
        send, receive = trio.open_memory_channel[_Exit | object](math.inf)
        self._exits = send
        self._children = [_Child(spec) for spec in self._specs]
        self._restarts.clear()
        self._finished = trio.Event()
        failure: BaseException | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    try:
                        async with self._lock:
                            for child in list(self._children):
                                await self._start(child, restarted=False)
                    except Exception as exc:
                        failure = exc
                    else:
                        task_status.started(self)
                        failure = await self._supervise(receive)
                finally:
                    with trio.CancelScope(shield=True):
                        await self._shutdown_all()
        finally:
            self._nursery = None
            self._exits = None
            send.close()
            receive.close()
            self._finished.set()
        if failure is not None:
            raise failure

    async def _supervise(self, receive: trio.MemoryReceiveChannel[_Exit | object]) -> Any:
        async for item in receive:
            if not isinstance(item, _Exit):
                return None
            async with self._lock:
                escalation = await self._on_exit(item)
            if escalation is not None:
                return escalation
        return None  # pragma: no cover - the channel is closed only after this returns

    async def _child_task(
        self, child: _Child, run: _Run, *, task_status: trio.TaskStatus[Any]
    ) -> None:
        relay = _Relay(task_status)
        reason: Literal["normal", "crash"] = "normal"
        error: BaseException | None = None
        try:
            with run.scope:
                await child.spec.start(task_status=relay)
        except Exception as exc:
            if not relay.started_called:
                raise  # nursery.start re-raises it in the supervisor: a start failure
            reason, error = "crash", exc
        finally:
            run.done.set()
        if self._exits is not None:
            self._exits.send_nowait(_Exit(child, run, reason, error))

    async def _start(self, child: _Child, *, restarted: bool) -> Any:
        assert self._nursery is not None
        run = _Run()
        child.run = run
        try:
            run.value = await self._nursery.start(self._child_task, child, run)
        except BaseException:
            child.run = None
            raise
        event_type = ChildRestarted if restarted else ChildStarted
        self._publish(event_type(supervisor=self._name, child_id=child.spec.id))
        return run.value

    async def _terminate(self, child: _Child) -> None:
        run = child.run
        if run is None:
            return
        child.run = None
        run.stopping = True
        run.scope.cancel()
        with trio.move_on_after(child.spec.shutdown):
            await run.done.wait()
        if not run.done.is_set():
            self._publish(
                ChildShutdownTimeout(
                    supervisor=self._name, child_id=child.spec.id, timeout=child.spec.shutdown
                )
            )
        self._publish(ChildStopped(supervisor=self._name, child_id=child.spec.id))

    async def _shutdown_all(self) -> None:
        for child in reversed(self._children):
            await self._terminate(child)

    # ------------------------------------------------------------------ restarts

    async def _on_exit(self, exit_: _Exit) -> SupervisorEscalation | None:
        child = exit_.child
        if exit_.run.stopping or child.run is not exit_.run:
            return None  # we stopped it on purpose, or it is an older incarnation
        child.run = None
        error = None if exit_.error is None else repr(exit_.error)
        self._publish(
            ChildExited(
                supervisor=self._name, child_id=child.spec.id, reason=exit_.reason, error=error
            )
        )
        restart = child.spec.restart
        if restart is Restart.TEMPORARY:
            self._children.remove(child)
            return None
        if restart is Restart.TRANSIENT and exit_.reason == "normal":
            return None
        return await self._restart(child)

    def _count_restart(self) -> bool:
        """Record one restart; True when that exceeds the intensity."""
        now = trio.current_time()
        restarts = self._restarts
        restarts.append(now)
        while restarts and now - restarts[0] >= self._max_seconds:
            restarts.popleft()
        return len(restarts) > self._max_restarts

    async def _restart(self, failed: _Child) -> SupervisorEscalation | None:
        while True:
            if self._count_restart():
                return await self._escalate()
            try:
                await self._restart_group(failed)
            except _StartFailed as start_failure:
                failed = start_failure.child
                self._publish(
                    ChildExited(
                        supervisor=self._name,
                        child_id=failed.spec.id,
                        reason="crash",
                        error=repr(start_failure.error),
                    )
                )
                continue
            return None

    async def _restart_group(self, failed: _Child) -> None:
        if self._strategy is Strategy.ONE_FOR_ONE:
            group = [failed]
        elif self._strategy is Strategy.ONE_FOR_ALL:
            group = list(self._children)
        else:
            group = self._children[self._children.index(failed) :]
        for child in reversed(group):
            if child is not failed and child.run is not None:
                await self._terminate(child)
                if child.spec.restart is Restart.TEMPORARY:
                    self._children.remove(child)
        for child in group:
            if child in self._children and child.run is None:
                try:
                    await self._start(child, restarted=True)
                except Exception as exc:
                    raise _StartFailed(child, exc) from exc

    async def _escalate(self) -> SupervisorEscalation:
        await self._shutdown_all()
        restarts = len(self._restarts)
        self._publish(
            SupervisorEscalated(
                supervisor=self._name,
                restarts=restarts,
                max_restarts=self._max_restarts,
                max_seconds=self._max_seconds,
            )
        )
        return SupervisorEscalation(self._name, restarts, self._max_restarts, self._max_seconds)

    def _publish(self, event: LifecycleEvent) -> None:
        if self._broadcast is not None:
            # Observers went away: supervising matters more than reporting.
            with contextlib.suppress(BroadcastClosed):
                self._broadcast.publish(event)

    # ------------------------------------------------------------------ runtime API

    def _require_running(self, operation: str) -> None:
        if self._nursery is None:
            raise ActorError(
                f"{operation}: supervisor {self._name!r} is not running; start it with "
                "nursery.start(supervisor.run)"
            )

    def _find(self, child_id: str) -> _Child:
        for child in self._children:
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
            if any(child.spec.id == spec.id for child in self._children):
                raise InvalidChildSpec(
                    f"supervisor {self._name!r} already has a child {spec.id!r}; pick another "
                    "id or delete_child() the old one",
                    field="id",
                )
            child = _Child(spec)
            self._children.append(child)
            try:
                return await self._start(child, restarted=False)
            except BaseException:
                self._children.remove(child)
                raise

    async def terminate_child(self, child_id: str) -> None:
        """Stop a child (its spec is kept, except a TEMPORARY child's, which is removed).

        Raises:
            ChildNotFound: no such child.
        """
        self._require_running("terminate_child")
        async with self._lock:
            child = self._find(child_id)
            await self._terminate(child)
            if child.spec.restart is Restart.TEMPORARY:
                self._children.remove(child)

    async def restart_child(self, child_id: str) -> Any:
        """Start a stopped child again; returns its started value.

        Raises:
            ChildNotFound: no such child.
            ChildRunning: the child is running (terminate it first).
        """
        self._require_running("restart_child")
        async with self._lock:
            child = self._find(child_id)
            if child.run is not None:
                raise ChildRunning(self._name, child_id, "restart_child")
            return await self._start(child, restarted=False)

    async def delete_child(self, child_id: str) -> None:
        """Forget a stopped child's spec.

        Raises:
            ChildNotFound: no such child.
            ChildRunning: the child is running (terminate it first).
        """
        self._require_running("delete_child")
        async with self._lock:
            child = self._find(child_id)
            if child.run is not None:
                raise ChildRunning(self._name, child_id, "delete_child")
            self._children.remove(child)
            await trio.lowlevel.checkpoint()

    def which_children(self) -> list[ChildInfo]:
        """The children in start order, running or not."""
        return [
            ChildInfo(
                id=child.spec.id,
                running=child.run is not None,
                restart=child.spec.restart,
                value=None if child.run is None else child.run.value,
            )
            for child in self._children
        ]

    async def stop(self) -> None:
        """Stop every child in reverse start order, then let ``run`` return normally.

        Safe to call from inside a child: the supervisor's own task does the shutdown.
        Returns once ``run`` has finished (at once if it is not running).
        """
        if self._exits is not None:
            self._exits.send_nowait(_STOP)
        await self._finished.wait()


class _StartFailed(Exception):
    def __init__(self, child: _Child, error: Exception) -> None:
        super().__init__(child.spec.id)
        self.child = child
        self.error = error
