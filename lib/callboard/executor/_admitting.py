"""The Executor actor's admission loop: each queued Calling in FIFO order, started at
once when nothing holds it back, else waiting for its slot, the pause, its request and
tokens (a mixin of ``Executor``; the submission side and the actor's run live there).

A Calling that can start without waiting never costs a cancel scope or a scheduler
round: it goes to a worker in the same step, from ``submit`` when the queue is empty,
from the actor's ``handle``, or from a worker whose call just freed capacity
(``_admit_ready``).
"""

from __future__ import annotations

import trio

from callboard.calling import Calling

from ._admission import Admission
from ._queue import CallingQueue
from ._transitions import Transitions
from ._workers import Workers

__all__ = ["AdmissionLoop"]


class AdmissionLoop:
    """How the Executor admits queued Callings, in FIFO order."""

    _admission: Admission
    _queue: CallingQueue
    _report: Transitions
    _workers: Workers
    _admitting: bool  # the actor is admitting the head Calling right now
    _queue_changed: trio.Event | None  # the actor waits for a slot
    _head: Calling | None  # ... for this Calling, taken off the queue
    _early: set[Calling]  # admitted ahead of their mailbox message

    async def _admit_queued(self, calling: Calling) -> None:
        """Admit ``calling``, the oldest Calling still queued (its mailbox message came)."""
        if calling in self._early:
            self._early.discard(calling)
            return  # admitted already, by _admit_ready
        self._queue.remove(calling)
        if calling.finished:
            return  # cancelled or timed out while queued
        if self._try_start(calling, trio.current_time()):
            return  # nothing held it back: no cancel scope, no wait
        if self._waits_for_a_slot_only(calling) and not await self._wait_for_a_worker(calling):
            return  # a worker admitted it, or it was cancelled or timed out meanwhile
        self._admitting = True
        try:
            await self._admit(calling)
        finally:
            self._admitting = False
        self._admit_ready()

    def _waits_for_a_slot_only(self, calling: Calling) -> bool:
        """True when every slot is taken and nothing else holds ``calling`` back."""
        now = trio.current_time()
        admission = self._admission
        return (
            admission.no_free_slot()
            and not admission.is_paused(now)
            and not admission.readmitting
            and calling.deadline > now
        )

    async def _wait_for_a_worker(self, calling: Calling) -> bool:
        """Let the worker whose call frees a slot admit ``calling`` and run it at once.

        Handing the slot to this actor instead would cost the next call a scheduler
        round or two with the freed connection idle. Returns True when ``calling``
        still needs admitting here (something else than a slot holds it back now).
        """
        scope = trio.CancelScope(deadline=calling.deadline)
        calling.scope = scope
        self._head = calling
        try:
            with scope:
                while self._head is calling and self._waits_for_a_slot_only(calling):
                    changed = self._queue_changed = trio.Event()
                    await changed.wait()
        except BaseException:
            if self._head is calling:
                self._report.abort(calling, "the executor stopped while admitting it")
            raise
        finally:
            admitted = self._head is not calling
            self._head = None
            self._queue_changed = None
        if admitted:
            return False
        if scope.cancelled_caught:
            self._report.finish_unstarted(calling)
            return False
        return True

    def _queue_changed_now(self) -> None:
        changed = self._queue_changed
        if changed is not None:
            self._queue_changed = None
            changed.set()

    def _admit_ready(self) -> None:
        """Admit, in order, the queued Callings that can start without waiting.

        The mailbox hands the actor one Calling per scheduler round; under load that
        round trip, not the limits, would pace admission. So whenever capacity frees up
        (a call finished, an admission completed) the Callings at the head of the queue
        that need no wait (no pause, a free slot, the request and tokens available now)
        are started at once, in FIFO order; their mailbox messages are then skipped.
        Nothing is taken for a Calling that cannot start, and nothing overtakes the
        Calling the actor is waiting to admit.
        """
        queue = self._queue
        if self._head is None and not queue:
            return  # the common case after a call: nothing waits, no clock read
        now = trio.current_time()
        while not self._admitting:
            head = self._head
            if head is not None:
                if not self._try_start(head, now):
                    return
                self._head = None  # the actor waiting for it sees it was admitted
            elif not queue:
                return
            else:
                calling = queue.head()
                if not self._try_start(calling, now):
                    return
                queue.remove(calling)
                self._early.add(calling)

    def _try_start(self, calling: Calling, now: float) -> bool:
        """Start ``calling`` on a worker if nothing holds it back at ``now`` (no pause,
        its deadline ahead, no readmission waiting, a free slot, its request and
        tokens); False, with nothing taken, otherwise."""
        admitted, slot = self._try_admit(calling, now)
        if admitted:
            self._workers.start(calling, slot, now)
        return admitted

    def _try_admit(self, calling: Calling, now: float) -> tuple[bool, object | None]:
        """Take ``calling``'s slot, request and tokens if nothing holds it back at
        ``now``: (True, the slot), or (False, None) with nothing taken."""
        admission = self._admission
        if admission.readmitting or self._workers.nursery is None:
            return False, None
        scope = calling.scope  # the actor's wait for it: cancelled, it settles it there
        if scope is not None and scope.cancel_called:
            return False, None
        if admission.is_paused(now) or calling.deadline <= now:
            return False, None  # the actor's own path waits out the pause or times it out
        taken, slot = admission.try_acquire_slot()
        if not taken:
            return False, None
        try:
            reserved = admission.try_reserve(calling.estimated_tokens, calling)
        except Exception:
            reserved = False  # a limiter's error is reported by the actor's path
        if not reserved:
            admission.release_slot(slot)
            return False, None
        return True, slot

    async def _admit(self, calling: Calling) -> None:
        admission = self._admission
        scope = trio.CancelScope(deadline=calling.deadline)
        calling.scope = scope
        slot: object | None = None
        reserved = False
        try:
            with scope:
                await admission.wait_unpaused()
                slot = await admission.acquire_slot()  # held only once acquired
                await admission.reserve(calling.estimated_tokens, calling)
                reserved = True
        except Exception as exc:  # OversizeRequest, or a shared limiter's failure
            admission.release_slot(slot)
            self._report.fail(calling, exc)
            return
        except BaseException:
            admission.release_slot(slot)
            self._report.abort(calling, "the executor stopped while admitting it")
            raise
        if scope.cancel_called:
            # Cancelled or timed out, possibly at the very instant admission succeeded:
            # give back what was taken so that the cancellation means "did not happen".
            if reserved:
                admission.unreserve(calling.estimated_tokens, calling)
            admission.release_slot(slot)
            self._report.finish_unstarted(calling)
            return
        self._workers.start(calling, slot)

    async def _expire_queued(self, scope: trio.CancelScope) -> None:
        """Time out queued Callings at their deadline, even while admission is blocked."""
        with scope:
            await self._queue.expire(self._report.time_out)
