"""Supervision: a supervisor's children while it runs, and the OTP rules applied to them.

Each child runs in its own task in the supervisor's nursery, under a cancel scope only
``terminate()`` cancels (shielded once the child is ready), and reports its end on the
supervisor's exit channel. ``on_exit()`` applies the restart type
(PERMANENT, TRANSIENT, TEMPORARY), picks the group the strategy restarts with the child
(ONE_FOR_ONE, ONE_FOR_ALL, REST_FOR_ONE), counts the restart against the intensity and,
past it, stops every child and hands back the escalation. It takes no lock of its
own: the ``Supervisor`` that owns it handles exits and runtime calls one at a time
under its lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import trio

from ._broadcast import Broadcast
from ._child_spec import ChildSpec, Restart, Strategy
from ._errors import BroadcastClosed, SupervisorEscalation
from ._events import (
    ChildExited,
    ChildRestarted,
    ChildShutdownTimeout,
    ChildStarted,
    ChildStopped,
    LifecycleEvent,
    SupervisorEscalated,
)
from ._intensity import RestartIntensity
from ._supervised_child import ExitReport, Incarnation, StartRelay, SupervisedChild

__all__ = ["Supervision"]


class Supervision:
    """Start, stop and restart one supervisor's children; escalate when they keep dying.

    ``nursery`` and ``exits`` are set by the supervisor for the length of a run; the
    children are in start order.
    """

    def __init__(
        self,
        name: str,
        strategy: Strategy,
        intensity: RestartIntensity,
        broadcast: Broadcast[LifecycleEvent] | None,
    ) -> None:
        self._name = name
        self._strategy = strategy
        self._intensity = intensity
        self._broadcast = broadcast
        self.children: list[SupervisedChild] = []
        self.nursery: trio.Nursery | None = None
        self.exits: trio.MemorySendChannel[ExitReport | object] | None = None

    def renew(self, specs: Sequence[ChildSpec]) -> None:
        """Fresh children from ``specs`` and a fresh restart count, for a new run."""
        self.children = [SupervisedChild(spec) for spec in specs]
        self._intensity.clear()

    # ------------------------------------------------------------------ starting, stopping

    async def _child_task(
        self, child: SupervisedChild, run: Incarnation, *, task_status: trio.TaskStatus[Any]
    ) -> None:
        relay = StartRelay(task_status, run)
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
        if self.exits is not None:
            self.exits.send_nowait(ExitReport(child, run, reason, error))

    async def start(self, child: SupervisedChild, *, restarted: bool) -> Any:
        """Start a new incarnation of ``child``; returns once it is ready, with its value."""
        assert self.nursery is not None
        run = Incarnation()
        child.run = run
        try:
            run.value = await self.nursery.start(self._child_task, child, run)
        except BaseException:
            child.run = None
            raise
        event_type = ChildRestarted if restarted else ChildStarted
        self._publish(event_type(supervisor=self._name, child_id=child.spec.id))
        return run.value

    async def terminate(self, child: SupervisedChild) -> None:
        """Cancel ``child``'s incarnation and wait for it, at most its ``shutdown``."""
        run = child.run
        if run is None:
            return
        child.run = None
        child.stopping = run  # until its task ended: no new incarnation beside it
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

    async def shutdown_all(self) -> None:
        """Terminate every child, in reverse start order; no pending restart happens."""
        for child in reversed(self.children):
            child.restart_pending = False
            await self.terminate(child)

    # ------------------------------------------------------------------ restarts

    async def on_exit(self, exit_: ExitReport) -> SupervisorEscalation | None:
        """Apply the OTP rules to an exit; the escalation when the intensity is exceeded."""
        child = exit_.child
        if exit_.run.stopping or child.run is not exit_.run:
            # We stopped it on purpose, or it is an older incarnation: perhaps one that
            # outlived its shutdown while its group restarted, whose restart was put off.
            if child.stopping is exit_.run:
                return await self._stopped_late(child)
            return None
        child.run = None
        error = None if exit_.error is None else repr(exit_.error)
        self._publish(
            ChildExited(
                supervisor=self._name, child_id=child.spec.id, reason=exit_.reason, error=error
            )
        )
        restart = child.spec.restart
        if restart is Restart.TEMPORARY:
            self.children.remove(child)
            return None
        if restart is Restart.TRANSIENT and exit_.reason == "normal":
            return None
        return await self._restart(child)

    async def _stopped_late(self, child: SupervisedChild) -> SupervisorEscalation | None:
        """A stuck incarnation ended at last: make the restart it was due (counted when
        its group restarted), as a crash if that start fails."""
        child.stopping = None
        if not child.restart_pending:
            return None
        child.restart_pending = False
        if child not in self.children or child.run is not None:
            return None
        try:
            await self.start(child, restarted=True)
        except Exception as exc:
            self._publish(
                ChildExited(
                    supervisor=self._name, child_id=child.spec.id, reason="crash", error=repr(exc)
                )
            )
            return await self._restart(child)
        return None

    async def _restart(self, failed: SupervisedChild) -> SupervisorEscalation | None:
        while True:
            if self._intensity.count():
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

    async def _restart_group(self, failed: SupervisedChild) -> None:
        if self._strategy is Strategy.ONE_FOR_ONE:
            group = [failed]
        elif self._strategy is Strategy.ONE_FOR_ALL:
            group = list(self.children)
        else:
            group = self.children[self.children.index(failed) :]
        for child in reversed(group):
            if child is not failed and child.run is not None:
                await self.terminate(child)
                if child.spec.restart is Restart.TEMPORARY:
                    self.children.remove(child)
        for child in group:
            if child in self.children and child.run is None:
                if child.still_stopping:
                    # It outlived its shutdown: starting it now would run a second copy
                    # beside the first (an Actor refuses: "already running", counted as
                    # one more crash each time). It starts when that task ends.
                    child.restart_pending = True
                    continue
                try:
                    await self.start(child, restarted=True)
                except Exception as exc:
                    raise _StartFailed(child, exc) from exc

    async def _escalate(self) -> SupervisorEscalation:
        # Shielded (each child's stop is bounded by its shutdown): a parent cancelled
        # while the children stop must still get the escalation, not a bare Cancelled
        # that would lose why the tree went down.
        with trio.CancelScope(shield=True):
            await self.shutdown_all()
        intensity = self._intensity
        restarts = len(intensity)
        self._publish(
            SupervisorEscalated(
                supervisor=self._name,
                restarts=restarts,
                max_restarts=intensity.max_restarts,
                max_seconds=intensity.max_seconds,
            )
        )
        return SupervisorEscalation(
            self._name, restarts, intensity.max_restarts, intensity.max_seconds
        )

    def _publish(self, event: LifecycleEvent) -> None:
        if self._broadcast is not None:
            # Observers went away: supervising matters more than reporting.
            with contextlib.suppress(BroadcastClosed):
                self._broadcast.publish(event)


class _StartFailed(Exception):
    def __init__(self, child: SupervisedChild, error: Exception) -> None:
        super().__init__(child.spec.id)
        self.child = child
        self.error = error
