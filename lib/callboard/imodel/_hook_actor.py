"""HookActor: one observer hook running as its own supervised task on the event bus."""

from __future__ import annotations

import contextlib

import trio

from callboard.actors import Broadcast, BroadcastClosed, Lagged, LifecycleEvent

from ._hooks import Hook, ObserverFailed, ObserverLagged, observes, run_hook

__all__ = ["HookActor"]

_SELF_REPORTS = (ObserverFailed, ObserverLagged)


class HookActor:
    """Feed the events an observer hook wants to its handler, one at a time.

    It reads its own bounded subscription (``hook.buffer_size`` events), so the calls
    that publish never wait for it: when it falls behind, the oldest events are dropped,
    ``lagged`` counts them and an ``ObserverLagged`` event reports them. A handler
    that raises or exceeds the hook's timeout is reported as ``ObserverFailed``
    (``failures`` counts them) and the actor goes on with the next event.

    Run it under a supervisor (``ChildSpec(id, actor.run, restart=Restart.TRANSIENT)``);
    it subscribes before reporting ready, so it sees every event published after that.
    ``drain()`` makes it handle what it holds, then return.
    """

    def __init__(self, hook: Hook, broadcast: Broadcast[LifecycleEvent]) -> None:
        self.hook = hook
        self._broadcast = broadcast
        self._draining = False
        self._wait_scope: trio.CancelScope | None = None
        self._finished = trio.Event()
        self._finished.set()
        self.handled = 0
        """Events handed to the handler so far."""
        self.lagged = 0
        """Events lost because the handler fell behind."""
        self.failures = 0
        """Events on which the handler raised or timed out."""

    def __repr__(self) -> str:
        return f"<HookActor {self.hook.name!r} {self.hook.phase.name}>"

    async def run(
        self, *, task_status: trio.TaskStatus[HookActor] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Handle events until drained or cancelled."""
        self._draining = False
        self._finished = trio.Event()
        try:
            with self._broadcast.subscribe(self.hook.buffer_size) as subscription:
                task_status.started(self)
                unreported = 0
                while True:
                    event: LifecycleEvent | None = None
                    try:
                        try:
                            # What is buffered is read without a wait scope; handling
                            # each event checkpoints (run_hook), so this stays fair.
                            event = subscription.receive_nowait()
                        except trio.WouldBlock:
                            if self._draining:
                                raise
                            with trio.CancelScope() as self._wait_scope:
                                event = await subscription.receive()
                            self._wait_scope = None
                    except (trio.WouldBlock, trio.EndOfChannel):
                        if unreported:  # last words: what was lost since the last report
                            self._report(ObserverLagged(hook=self.hook.name, missed=unreported))
                        return  # drained, or the bus closed
                    except Lagged as lag:
                        self.lagged += lag.missed
                        unreported += lag.missed
                        continue
                    if event is None:
                        continue  # drain() interrupted the wait: read on without waiting
                    if unreported and len(subscription) < subscription.buffer_size:
                        # Only once our own buffer has room: the report lands in it too,
                        # and must not push out an event (a lag reporting itself forever).
                        self._report(ObserverLagged(hook=self.hook.name, missed=unreported))
                        unreported = 0
                    await self._handle(event)
        finally:
            self._wait_scope = None
            self._finished.set()

    async def _handle(self, event: LifecycleEvent) -> None:
        if not observes(self.hook.phase, event):
            return
        self.handled += 1
        cause = await run_hook(self.hook, self.hook.timeout, event)
        if cause is not None:
            self.failures += 1
            if not isinstance(event, _SELF_REPORTS):  # no report about a report: no loop
                self._report(
                    ObserverFailed(hook=self.hook.name, event=type(event).__name__, cause=cause)
                )

    def _report(self, event: LifecycleEvent) -> None:
        with contextlib.suppress(BroadcastClosed):
            self._broadcast.publish(event)

    async def drain(self) -> None:
        """Handle the events already buffered, then end ``run`` normally; wait for that."""
        self._draining = True
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        await self._finished.wait()
