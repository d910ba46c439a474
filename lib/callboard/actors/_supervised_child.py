"""What a supervisor keeps per child: its spec, the incarnation now running, how one ended.

A child outlives its incarnations: each start gives it a fresh ``Incarnation``
(its own shielded scope and end event), and each incarnation's end reaches the
supervisor as one ``ExitReport``. Comparing a report's incarnation with the child's
current one is how the supervisor tells a live exit from an older incarnation's.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import trio

from ._child_spec import ChildSpec

__all__ = ["ExitReport", "Incarnation", "StartRelay", "SupervisedChild"]


class Incarnation:
    """One incarnation of a child: its scope, its end, its started value.

    The scope is shielded from the moment the child reported ready (see
    ``StartRelay``): from then on only the supervisor stops it. Not before: a
    supervisor cancelled while it starts a child must reach that child, or trio would
    keep the child in ``start``'s own nursery, where nobody would ever stop it.
    """

    __slots__ = ("done", "scope", "stopping", "value")

    def __init__(self) -> None:
        self.scope = trio.CancelScope()
        self.done = trio.Event()
        self.stopping = False
        self.value: Any = None


class SupervisedChild:
    """A child spec and its running incarnation (``None`` while stopped).

    ``stopping`` is an incarnation that was cancelled and outlived its ``shutdown``:
    Trio cannot abandon its task, so it is still running. Until it ends the child is not
    started again (it might be the same Actor object, or share its state);
    ``restart_pending`` says the restart it is due happens when it does.
    """

    __slots__ = ("restart_pending", "run", "spec", "stopping")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.run: Incarnation | None = None
        self.stopping: Incarnation | None = None
        self.restart_pending = False

    @property
    def still_stopping(self) -> bool:
        """True while a cancelled incarnation's task still runs (``stopping`` itself is
        cleared only when the supervisor handles that incarnation's exit)."""
        stopping = self.stopping
        return stopping is not None and not stopping.done.is_set()

    @property
    def alive(self) -> bool:
        """True while an incarnation's task runs: the current one (not yet ended: its
        exit may still wait for the supervisor), or one stopping."""
        run = self.run
        return (run is not None and not run.done.is_set()) or self.still_stopping


class ExitReport:
    """An incarnation ended: returned (``"normal"``) or raised (``"crash"``)."""

    __slots__ = ("child", "error", "reason", "run")

    def __init__(
        self,
        child: SupervisedChild,
        run: Incarnation,
        reason: Literal["normal", "crash"],
        error: BaseException | None,
    ) -> None:
        self.child = child
        self.run = run
        self.reason: Literal["normal", "crash"] = reason
        self.error = error


class StartRelay:
    """Passes ``started`` through while remembering that the child got that far, and
    shields the incarnation's scope then, unless its start was cancelled already."""

    __slots__ = ("_inner", "_run", "started_called")

    def __init__(self, inner: trio.TaskStatus[Any], run: Incarnation) -> None:
        self._inner = inner
        self._run = run
        self.started_called = False

    def started(self, value: Any = None) -> None:
        self.started_called = True
        # A start cancelled before this leaves the child in start()'s nursery (trio does
        # not move it): it must stay cancellable so that start() can return.
        if trio.current_effective_deadline() != -math.inf:
            self._run.scope.shield = True
        self._inner.started(value)
