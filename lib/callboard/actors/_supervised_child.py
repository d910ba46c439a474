"""What a supervisor keeps per child: its spec, the incarnation now running, how one ended.

A child outlives its incarnations: each start gives it a fresh :class:`Incarnation`
(its own shielded scope and end event), and each incarnation's end reaches the
supervisor as one :class:`ExitReport`. Comparing a report's incarnation with the child's
current one is how the supervisor tells a live exit from an older incarnation's.
"""

from __future__ import annotations

from typing import Any, Literal

import trio

from ._child_spec import ChildSpec

__all__ = ["ExitReport", "Incarnation", "StartRelay", "SupervisedChild"]


class Incarnation:
    """One incarnation of a child: its scope, its end, its started value."""

    __slots__ = ("done", "scope", "stopping", "value")

    def __init__(self) -> None:
        self.scope = trio.CancelScope(shield=True)
        self.done = trio.Event()
        self.stopping = False
        self.value: Any = None


class SupervisedChild:
    """A child spec and its running incarnation (``None`` while stopped)."""

    __slots__ = ("run", "spec")

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.run: Incarnation | None = None


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
    """Passes ``started`` through while remembering that the child got that far."""

    __slots__ = ("_inner", "started_called")

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self._inner = inner
        self.started_called = False

    def started(self, value: Any = None) -> None:
        self.started_called = True
        self._inner.started(value)
