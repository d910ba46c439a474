"""The steps of one call around its backend: interceptor hooks, events, observers inline."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import attrs

from callboard.actors import Broadcast, BroadcastClosed, LifecycleEvent
from callboard.calling import Backend, Calling, CallingAborted
from callboard.errors import CallboardError

from ._errors import HookAborted, InvocationError
from ._hooks import HookOptions, HookPhase, HookRegistry, intercept, observes, run_hook

__all__ = ["NO_OPTIONS", "CallOptions", "Emitter", "Pipeline"]


@attrs.frozen
class CallOptions:
    """The per-call hook overrides ``create_calling`` was given, one per interceptor phase."""

    create: HookOptions | None = None
    pre_invoke: HookOptions | None = None
    post_invoke: HookOptions | None = None


NO_OPTIONS = CallOptions()
"""A call that overrides no hook option."""


class Emitter:
    """Publishes a model's events; runs observer hooks inline when no hook actor runs.

    Under a running model the hook actors read the Broadcast and ``actors_running`` is
    true: emitting is a non-blocking publish. Used inline (model not started), there is
    no task to hand events to, so ``emit()`` runs the matching observers in the
    caller's task, each within its timeout, their failures swallowed.
    """

    def __init__(self, broadcast: Broadcast[LifecycleEvent], hooks: HookRegistry | None) -> None:
        self.broadcast = broadcast
        self.hooks = hooks
        self.actors_running = False

    @property
    def listening(self) -> bool:
        """Whether an event emitted now reaches anyone: a subscriber of the Broadcast, or
        (inline) an observer hook. Callers skip building events nobody would receive."""
        if self.broadcast.subscriber_count:
            return True
        return not self.actors_running and self.hooks is not None and bool(self.hooks.observers())

    def publish(self, event: LifecycleEvent) -> None:
        """Publish without running anything (safe under cancellation)."""
        with contextlib.suppress(BroadcastClosed):
            self.broadcast.publish(event)

    async def emit(self, event: LifecycleEvent) -> None:
        """Publish ``event``; inline, also hand it to the observer hooks that want it."""
        self.publish(event)
        if self.actors_running or self.hooks is None:
            return
        for hook in self.hooks.observers():
            if observes(hook.phase, event):
                await run_hook(hook, hook.timeout, event)


class Pipeline:
    """The Backend the model's Executor (or the inline path) runs: PreInvocation hooks,
    the real backend, PostInvocation hooks.

    A backend error that is not a [`CallboardError`][callboard.CallboardError] is wrapped in
    ``InvocationError`` (the original as ``__cause__``), so the Calling, the events
    and the caller all see one typed error whose message holds no request data.

    A hook that aborts finishes the Calling itself (as aborted, with ``HookAborted``) and
    reports ``actual_tokens = 0`` when no request was sent, so the whole token
    reservation is refunded.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        model: str,
        executor: str,
        emitter: Emitter,
        options: Callable[[Calling], CallOptions | None],
    ) -> None:
        self.backend = backend
        self._model = model
        self._executor = executor
        self._emitter = emitter
        self._options = options

    async def execute(self, calling: Calling) -> Any:
        """Run the interceptors around ``backend.execute(calling)``."""
        hooks = self._emitter.hooks
        if hooks is None:
            return await self._call_backend(calling)
        options = self._options(calling) or NO_OPTIONS
        try:
            await intercept(
                hooks,
                HookPhase.PreInvocation,
                calling,
                options.pre_invoke,
                model=self._model,
                emit=self._emitter.emit,
            )
        except HookAborted as aborted:
            calling.actual_tokens = 0  # nothing was sent
            return await self._abort(calling, aborted)
        response = await self._call_backend(calling)
        if not hooks.hooks(HookPhase.PostInvocation):
            return response
        calling.response = response
        try:
            await intercept(
                hooks,
                HookPhase.PostInvocation,
                calling,
                options.post_invoke,
                model=self._model,
                emit=self._emitter.emit,
            )
        except HookAborted as aborted:
            return await self._abort(calling, aborted)
        return calling.response

    async def _call_backend(self, calling: Calling) -> Any:
        try:
            return await self.backend.execute(calling)
        except CallboardError:
            raise
        except Exception as error:
            # Not one of ours: its message is unknown territory (it may quote a key), so
            # the Calling, its events and its waiters get a typed error naming only the
            # type; the original stays reachable as __cause__.
            raise InvocationError(calling.id, error) from error

    async def _abort(self, calling: Calling, aborted: HookAborted) -> None:
        calling.abort(aborted.reason, error=aborted)
        await self._emitter.emit(CallingAborted(executor=self._executor, calling_id=calling.id))
