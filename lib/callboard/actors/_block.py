"""BlockNursery: the nursery an ``async with`` object opens for its block."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import trio

__all__ = ["BlockNursery"]


class BlockNursery:
    """A nursery opened in ``__aenter__`` and closed in ``__aexit__``.

    The block's own exception is not handed to the nursery: it is cancelled and closed,
    and the exception propagates unchanged. Handing it over would wrap it in an
    ``ExceptionGroup``, and ``async with model: await model.invoke(...)`` should raise
    the call's typed error, not a group around it. Errors of the nursery's own tasks
    still propagate (as a group, as Trio reports them).
    """

    __slots__ = ("_manager", "nursery")

    def __init__(self) -> None:
        self._manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self.nursery: trio.Nursery | None = None

    async def open(self) -> trio.Nursery:
        manager = trio.open_nursery()
        nursery = await manager.__aenter__()
        self._manager, self.nursery = manager, nursery
        return nursery

    async def close(self, error: BaseException | None) -> None:
        """Wait for the tasks (cancelled first when the block raised ``error``)."""
        manager, nursery = self._manager, self.nursery
        self._manager = self.nursery = None
        if manager is None or nursery is None:
            return
        if error is not None:
            nursery.cancel_scope.cancel()
        await manager.__aexit__(None, None, None)
