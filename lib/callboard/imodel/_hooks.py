"""Hooks: user code that runs at fixed points of a call, as interceptors or observers.

Two kinds, with different promises:

- **Interceptors** (PreEventCreate, PreInvocation, PostInvocation) run *in the call's
  path*, one after another, each within its timeout. One that raises or times out is
  reported as a ``HookFailed`` event; if it was registered with ``exit=True`` the
  Calling is aborted with [`HookAborted`][callboard.HookAborted] (for the pre-phases,
  no request is sent).
- **Observers** (ErrorHandling, StreamChunk, AnyEvent) receive lifecycle events. Under a
  running model each runs as a hook actor reading its own bounded subscription to the
  model's Broadcast, so a slow observer never slows a call: it lags, and is told how
  many events it missed.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import trio

from callboard.actors import LifecycleEvent
from callboard.calling import Calling, CallingAborted, CallingFailed, CallingTimedOut
from callboard.errors import ConfigError
from callboard.providers import StreamDelta

from ._errors import HookAborted

__all__ = [
    "Hook",
    "HookFailed",
    "HookOptions",
    "HookPhase",
    "HookRegistry",
    "ObserverFailed",
    "ObserverLagged",
    "StreamChunkReceived",
]

HookHandler = Callable[..., Any]
"""A sync or async callable. Interceptors get ``(calling, **params)``, observers
``(event)``; an awaitable result is awaited."""


class HookPhase(enum.Enum):
    """Where a hook runs. The first three intercept the call; the others observe it."""

    PreEventCreate = "pre_event_create"
    """Interceptor: when ``create_calling`` has built the Calling, before it is returned."""
    PreInvocation = "pre_invocation"
    """Interceptor: after admission (rate limits passed), right before the request."""
    PostInvocation = "post_invocation"
    """Interceptor: after the backend returned, before the Calling completes;
    ``calling.response`` holds the response and the hook may replace it."""
    ErrorHandling = "error_handling"
    """Observer: a call failed, timed out or was aborted, or a hook failed."""
    StreamChunk = "stream_chunk"
    """Observer: one streamed chunk ([`StreamChunkReceived`][callboard.StreamChunkReceived])."""
    AnyEvent = "any_event"
    """Observer: every lifecycle event the model publishes."""

    @property
    def intercepts(self) -> bool:
        """True for the phases that run in the call's path."""
        return self in _INTERCEPTORS


_INTERCEPTORS = frozenset(
    {HookPhase.PreEventCreate, HookPhase.PreInvocation, HookPhase.PostInvocation}
)
_DEFAULT_TIMEOUT = {
    HookPhase.PreEventCreate: 10.0,
    HookPhase.PreInvocation: 30.0,
    HookPhase.PostInvocation: 30.0,
    HookPhase.ErrorHandling: 30.0,
    HookPhase.StreamChunk: 30.0,
    HookPhase.AnyEvent: 30.0,
}


# -- events ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class HookFailed(LifecycleEvent):
    """An interceptor raised or timed out; ``exit`` says whether that aborted the call.

    ``cause`` names the exception type (never its message, which could hold a secret)
    or says "timed out after N s".
    """

    model: str
    calling_id: str
    phase: str
    hook: str
    cause: str
    exit: bool


@attrs.frozen(kw_only=True)
class StreamChunkReceived(LifecycleEvent):
    """One chunk of a streamed call; ``index`` counts from 0 within the call."""

    model: str
    calling_id: str
    index: int
    delta: StreamDelta


@attrs.frozen(kw_only=True)
class ObserverLagged(LifecycleEvent):
    """An observer hook fell behind its buffer and lost ``missed`` events."""

    hook: str
    missed: int


@attrs.frozen(kw_only=True)
class ObserverFailed(LifecycleEvent):
    """An observer hook raised or timed out on one event (it goes on with the next)."""

    hook: str
    event: str
    cause: str


_ERROR_EVENTS = (CallingFailed, CallingTimedOut, CallingAborted, HookFailed)


def observes(phase: HookPhase, event: LifecycleEvent) -> bool:
    """Whether an observer of ``phase`` receives ``event``."""
    if phase is HookPhase.AnyEvent:
        return True
    if phase is HookPhase.ErrorHandling:
        return isinstance(event, _ERROR_EVENTS)
    if phase is HookPhase.StreamChunk:
        return isinstance(event, StreamChunkReceived)
    return False


# -- registration ------------------------------------------------------------------------


def _check_timeout(_: object, __: attrs.Attribute[float], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(
            f"hook timeout must be a positive number of seconds (math.inf for none), got {value!r}",
            field="timeout",
        )


def _check_buffer(_: object, __: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"buffer_size must be an int >= 1 (events an observer may lag behind), got {value!r}",
            field="buffer_size",
        )


@attrs.frozen
class Hook:
    """One registered handler. Build it with ``register()``."""

    phase: HookPhase
    handler: HookHandler = attrs.field(repr=False)
    name: str
    exit: bool = False
    timeout: float = attrs.field(default=30.0, validator=_check_timeout)
    buffer_size: int = attrs.field(default=256, validator=_check_buffer)


@attrs.frozen
class HookOptions:
    """Per-call overrides for one interceptor phase (``create_calling``'s hook options).

    ``None`` keeps what each hook was registered with; ``params`` become keyword
    arguments of every handler of the phase.
    """

    exit: bool | None = None
    timeout: float | None = None
    params: Mapping[str, Any] = attrs.field(factory=dict[str, Any])


class HookRegistry:
    """The hooks of one or more models, by phase, in registration order.

    Example:
        >>> seen = []
        >>> hooks = HookRegistry()
        >>> hook = hooks.register(HookPhase.PreInvocation, lambda calling: seen.append(1))
        >>> hook.name, hook.exit, hook.timeout
        ('<lambda>', False, 30.0)
    """

    def __init__(self) -> None:
        self._hooks: list[Hook] = []
        # Asked on every call; rebuilt only when a hook is added or removed.
        self._by_phase: dict[HookPhase, tuple[Hook, ...]] = {}
        self._observers: tuple[Hook, ...] = ()

    def __repr__(self) -> str:
        return f"<HookRegistry hooks={len(self._hooks)}>"

    def __len__(self) -> int:
        return len(self._hooks)

    def register(
        self,
        phase: HookPhase,
        handler: HookHandler,
        *,
        exit: bool = False,
        timeout: float | None = None,
        name: str | None = None,
        buffer_size: int = 256,
    ) -> Hook:
        """Add ``handler`` to ``phase``; returns the ``Hook`` (for ``unregister()``).

        Args:
            phase: where it runs.
            handler: sync or async; interceptors get ``(calling, **params)``, observers
                get ``(event)``.
            exit: interceptors only: a failure or timeout aborts the call.
            timeout: seconds the handler may take (10 for PreEventCreate, 30 otherwise).
            name: shown in events and errors; the handler's ``__name__`` by default.
            buffer_size: observers only: events it may lag behind before losing some.

        Raises:
            ConfigError: bad phase, handler, timeout or buffer size, or ``exit=True`` on
                an observer phase (an observer cannot stop a call it only watches); a
                handler that cannot be called the way its phase calls it (it would fail
                on every call, where only a ``HookFailed`` event would say so).
        """
        if not isinstance(phase, HookPhase):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(f"phase must be a HookPhase, got {phase!r}", field="phase")
        if not callable(handler):
            raise ConfigError(f"handler must be callable, got {handler!r}", field="handler")
        _check_signature(phase, handler)
        if exit and not phase.intercepts:
            raise ConfigError(
                f"exit=True needs an interceptor phase (PreEventCreate, PreInvocation, "
                f"PostInvocation); {phase.name} only observes",
                field="exit",
            )
        hook = Hook(
            phase,
            handler,
            name if name is not None else getattr(handler, "__name__", type(handler).__name__),
            exit=exit,
            timeout=_DEFAULT_TIMEOUT[phase] if timeout is None else timeout,
            buffer_size=buffer_size,
        )
        self._hooks.append(hook)
        self._reindex()
        return hook

    def unregister(self, hook: Hook) -> None:
        """Remove ``hook``; models already running keep their hook actors until restarted."""
        self._hooks.remove(hook)
        self._reindex()

    def hooks(self, phase: HookPhase) -> tuple[Hook, ...]:
        """The hooks of ``phase``, in registration order."""
        return self._by_phase.get(phase, ())

    def observers(self) -> tuple[Hook, ...]:
        """Every observer hook, in registration order."""
        return self._observers

    def _reindex(self) -> None:
        by_phase: dict[HookPhase, list[Hook]] = {}
        for hook in self._hooks:
            by_phase.setdefault(hook.phase, []).append(hook)
        self._by_phase = {phase: tuple(hooks) for phase, hooks in by_phase.items()}
        self._observers = tuple(hook for hook in self._hooks if not hook.phase.intercepts)


def _check_signature(phase: HookPhase, handler: HookHandler) -> None:
    """Refuse a handler its phase cannot call: interceptors are called with the Calling
    (plus the call's hook params as keywords), observers with the event alone."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):  # a builtin without a signature: nothing to check
        return
    probe = object()
    try:
        if phase.intercepts:
            signature.bind_partial(probe)  # the rest may come as per-call hook params
        else:
            signature.bind(probe)
    except TypeError as error:
        name = getattr(handler, "__name__", type(handler).__name__)
        if phase.intercepts:
            expected = "handler(calling, **params): one positional argument, the Calling"
        else:
            expected = "handler(event): one argument, the lifecycle event"
        raise ConfigError(
            f"hook handler {name}{signature} cannot be called by the {phase.name} phase "
            f"({error}); {phase.name} calls {expected} - give any other parameter a "
            "default",
            field="handler",
        ) from None


# -- running -----------------------------------------------------------------------------


async def run_hook(hook: Hook, seconds: float, *args: Any, **params: Any) -> str | None:
    """Run one handler within ``seconds``; return why it failed, or ``None``.

    The cause names the exception type only: messages may carry request data. A sync
    handler cannot be interrupted, so it gets no cancel scope (one per hook per event
    would cost more than most handlers): it is reported as timed out when it returned
    past its deadline, as the checkpoint after it would have been cancelled then.
    """
    deadline = trio.current_time() + seconds
    try:
        result = hook.handler(*args, **params)
    except Exception as exc:
        await trio.lowlevel.checkpoint()
        return f"raised {type(exc).__name__}"
    if not inspect.isawaitable(result):
        late = trio.current_time() >= deadline
        await trio.lowlevel.checkpoint()
        return f"timed out after {seconds:g} s" if late else None
    cause: str | None = None
    with trio.move_on_at(deadline) as scope:
        try:
            await result
        except Exception as exc:
            cause = f"raised {type(exc).__name__}"
    if scope.cancelled_caught:
        cause = f"timed out after {seconds:g} s"
    return cause


async def intercept(
    registry: HookRegistry | None,
    phase: HookPhase,
    calling: Calling,
    options: HookOptions | None,
    *,
    model: str,
    emit: Callable[[LifecycleEvent], Awaitable[None]],
) -> None:
    """Run the interceptors of ``phase`` on ``calling`` in order.

    Raises:
        HookAborted: a hook registered (or overridden) ``exit=True`` failed or timed out.
    """
    if registry is None:
        return
    hooks = registry.hooks(phase)
    if not hooks:
        return
    params: Mapping[str, Any] = options.params if options is not None else {}
    for hook in hooks:
        exit_ = hook.exit if options is None or options.exit is None else options.exit
        timeout = hook.timeout if options is None or options.timeout is None else options.timeout
        cause = await run_hook(hook, timeout if timeout > 0 else math.inf, calling, **params)
        if cause is None:
            continue
        await emit(
            HookFailed(
                model=model,
                calling_id=calling.id,
                phase=phase.name,
                hook=hook.name,
                cause=cause,
                exit=exit_,
            )
        )
        if exit_:
            raise HookAborted(calling.id, phase.name, hook.name, cause)
