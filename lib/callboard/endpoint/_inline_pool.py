"""The transport of an Endpoint that is not running: one per Endpoint and trio run.

An iModel used without ``async with`` calls its Endpoint inline, in the caller's task;
there is no actor run to own a client. Opening one per call would pay a connection (and
a TLS handshake) per call, so the first inline call of a trio run opens one transport
in a trio *system task* and every later inline call of that run shares it.

Cleanup: the system task holds the transport open until ``aclose()``
(``await model.aclose()`` / ``await endpoint.aclose()``) or until the trio run ends:
when the run's main task returns, trio cancels its system tasks, and this one closes
the transport's connections as it goes. A later run (another ``trio.run``) opens a
fresh one, since sockets cannot outlive the run that made them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import trio

from ._transport import Transport

__all__ = ["InlinePool"]

Opener = Callable[[], AbstractAsyncContextManager[Transport]]

_CLOSE_TIMEOUT = 5.0  # seconds a transport gets to close when its run ends


class _Held:
    """One run's transport, held open by a system task."""

    __slots__ = ("done", "failed", "ready", "root", "stop", "transport")

    def __init__(self, root: object) -> None:
        self.root = root
        self.transport: Transport | None = None
        self.failed = False
        self.ready = trio.Event()
        self.stop = trio.Event()
        self.done = trio.Event()

    async def hold(self, opener: Opener) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            self.transport = await stack.enter_async_context(opener())
            self.ready.set()
            await self.stop.wait()  # or cancelled: the run is ending
        except Exception:
            # A system task may not raise. The callers open a transport of their own
            # instead, and meet the same error there, raised in their own task.
            self.failed = True
        finally:
            self.transport = None
            self.ready.set()
            with trio.CancelScope(shield=True), contextlib.suppress(Exception):
                with trio.move_on_after(_CLOSE_TIMEOUT):
                    await stack.aclose()
            self.done.set()


class InlinePool:
    """Shares one transport between the inline calls of one trio run.

    Args:
        opener: opens the transport (called in the system task).
        name: names the system task.
    """

    __slots__ = ("_held", "_name", "_opener")

    def __init__(self, opener: Opener, *, name: str) -> None:
        self._opener = opener
        self._name = name
        self._held: _Held | None = None

    async def transport(self) -> Transport | None:
        """The shared transport of the current run, opened on first use; ``None`` when
        it could not be opened (the caller opens its own, to get the error)."""
        held = self._held
        root = trio.lowlevel.current_root_task()
        if held is None or held.root is not root or held.stop.is_set():
            held = self._held = _Held(root)
            trio.lowlevel.spawn_system_task(
                held.hold, self._opener, name=f"callboard inline pool {self._name}"
            )
        if not held.ready.is_set():
            await held.ready.wait()
        if held.failed and self._held is held:
            self._held = None  # the next call tries again
        return held.transport

    async def aclose(self) -> None:
        """Close the current run's transport (in-flight calls on it fail, retryably);
        the next inline call opens a new one."""
        held, self._held = self._held, None
        if held is None or held.root is not trio.lowlevel.current_root_task():
            await trio.lowlevel.checkpoint()
            return
        held.stop.set()
        await held.done.wait()
