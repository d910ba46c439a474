"""A one-shot reply slot for ``ask``: cheaper than a memory channel pair per request.

The asker parks its own task with ``wait_task_rescheduled``; the actor reschedules it
with the outcome. If the asker gave up (cancelled or timed out) first, the slot is marked
abandoned and a late reply is dropped without touching anyone.
"""

from __future__ import annotations

from typing import Any

import outcome
import trio

__all__ = ["ReplySlot"]


class ReplySlot:
    __slots__ = ("_result", "_task", "abandoned")

    def __init__(self) -> None:
        self._result: outcome.Outcome[Any] | None = None
        self._task: trio.lowlevel.Task | None = None
        self.abandoned = False

    @property
    def settled(self) -> bool:
        return self._result is not None or self.abandoned

    def settle(self, result: outcome.Outcome[Any]) -> None:
        """Deliver ``result`` to the asker; the first settle wins, later ones are dropped."""
        if self._result is not None or self.abandoned:
            return
        self._result = result
        task = self._task
        if task is not None:
            self._task = None
            trio.lowlevel.reschedule(task, result)

    async def wait(self) -> Any:
        """Wait for the reply; on cancellation the slot is abandoned (the reply dropped)."""
        result = self._result
        if result is not None:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return result.unwrap()
        self._task = trio.lowlevel.current_task()

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            self._task = None
            self.abandoned = True
            return trio.lowlevel.Abort.SUCCEEDED

        return await trio.lowlevel.wait_task_rescheduled(abort)

    def abandon(self) -> None:
        self.abandoned = True
        self._task = None
