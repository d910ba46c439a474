"""The Executor's workers: admitted Callings run on the backend, then settle.

Admission (the Executor) decides *when* a Calling may start and hands it over with its
slot and reservation; ``Workers`` runs it and gives back what it held. Workers are
reused: the one whose call just ended looks for the next Calling that can start (the
Executor's ``admit_ready``) before parking, so under load no task is spawned per call
and no round trip through the actor's mailbox sits between a freed slot and its next
use.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from typing import Any

import trio

from callboard.calling import Backend, Calling
from callboard.calling._backend import Yielded, noting_yields

from ._admission import Admission
from ._transitions import Transitions

__all__ = ["Workers"]

_Admitted = tuple[Calling, object | None, int]


class Workers:
    """Run admitted Callings on ``backend`` and settle their slot and tokens.

    Args:
        backend: performs each call.
        admission: where slots and tokens go back to.
        report: finishes the Callings and publishes their events.
        admit_ready: called by a worker whose call ended, to start what can start now.
        slot_freed: called when a concurrency slot comes back.
    """

    def __init__(
        self,
        backend: Backend,
        admission: Admission,
        report: Transitions,
        *,
        admit_ready: Callable[[], None],
        slot_freed: Callable[[], None],
    ) -> None:
        self._backend = backend
        self._admission = admission
        self._report = report
        self._admit_ready = admit_ready
        self._slot_freed = slot_freed
        self.nursery: trio.Nursery | None = None
        self.in_flight = 0
        self.tokens_in_flight = 0
        self._reserved: dict[Calling, int] = {}  # dispatched Callings -> tokens reserved
        # Admitted Callings waiting for a worker, in admission order, and idle workers.
        self._ready: collections.deque[_Admitted] = collections.deque()
        self._idle = trio.lowlevel.ParkingLot()
        self._cancelled: set[Calling] = set()  # cancelled while in _ready
        self._spent: set[trio.CancelScope] = set()  # workers' scopes cancelled by cancel()
        self._spare = False  # a worker is about to look for its next Calling
        self._closing = False
        self._here: set[trio.CancelScope] = set()  # Callings run on their callers' tasks
        self._aborted: set[trio.CancelScope] = set()  # ... of those, cancelled by an abort
        self._drained: trio.Event | None = None  # set when the last of them ended

    def open(self, nursery: trio.Nursery) -> None:
        self.nursery = nursery
        self._closing = False

    def close(self) -> None:
        """Workers finish what they hold and what is ready, then leave; the nursery also
        waits for the Callings running on their callers' tasks (``run_here``)."""
        self._closing = True
        self._idle.unpark_all()
        if self._here and self.nursery is not None:
            self._drained = trio.Event()
            self.nursery.start_soon(self._drained.wait)

    def abandon(self) -> None:
        """After the nursery ended: settle and abort what no worker took, and cancel
        what still runs on its caller's task (it settles there and is aborted; wait
        for that with ``settled()``)."""
        self.nursery = None
        self._drained = None
        for scope in self._here:
            self._aborted.add(scope)
            scope.cancel()
        self._cancelled.clear()
        self._spent.clear()
        while self._ready:
            calling, slot, estimate = self._ready.popleft()
            self._settle(calling, slot, estimate)
            if not calling.finished:
                self._report.abort(calling, "the executor stopped while it was running")

    async def settled(self) -> None:
        """Wait (shielded: the run is ending, maybe cancelled) until every Calling run
        on its caller's task has settled and finished."""
        if not self._here:
            return
        self._drained = drained = trio.Event()
        with trio.CancelScope(shield=True):
            await drained.wait()

    @property
    def closing(self) -> bool:
        """The run is ending: what starts now goes to a worker, which the run waits for."""
        return self._closing or self.nursery is None

    def running(self, calling: Calling) -> bool:
        """True while ``calling`` was dispatched here and has not settled."""
        return calling in self._reserved

    def reserved_more(self, calling: Calling, tokens: int) -> None:
        """A retry of ``calling`` reserved ``tokens`` more; settle them with the rest."""
        self._reserved[calling] += tokens
        self.tokens_in_flight += tokens

    def start(self, calling: Calling, slot: object | None, now: float | None = None) -> None:
        """Run an admitted Calling (its slot and reservation held) on a worker; ``now``
        is the time admission read, when it just did."""
        self._ready.append((calling, slot, self.begin(calling, now)))
        if self._spare:
            self._spare = False  # the worker that just finished takes it
        else:
            self._wake()

    def begin(self, calling: Calling, now: float | None = None) -> int:
        """Count an admitted Calling as running; the tokens it has reserved."""
        calling.mark_running(now)
        calling.scope = None  # its runner's, once one takes it (see cancel())
        estimate = calling.estimated_tokens if self._admission.tokens is not None else 0
        self.in_flight += 1
        self.tokens_in_flight += estimate
        self._reserved[calling] = estimate
        self._report.started(calling)
        return estimate

    async def run_here(self, calling: Calling, slot: object | None, estimate: int) -> None:
        """Run an admitted Calling (``begin()`` counted it) on the caller's own task.

        ``Executor.call`` does this for a Calling that started the moment it was
        submitted: a worker would cost the call two task switches (caller to worker and
        back), and with thousands of calls in flight each switch waits out a whole
        scheduler round. The Calling's scope is one of its own here, so cancelling the
        Calling or reaching its deadline ends only this call; cancelling the caller
        cancels the Calling; the Executor's run waits for it as for its workers (a
        graceful stop) or cancels it (an abort).
        """
        if self._cancelled and calling in self._cancelled:
            self._drop(calling, slot, estimate)  # cancelled as it was admitted
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        scope = trio.CancelScope(deadline=calling.deadline)
        calling.scope = scope
        here = self._here
        here.add(scope)
        error: Exception | None = None
        response: Any = None
        yielded = Yielded()
        try:
            with scope:
                try:
                    response = await noting_yields(self._backend.execute(calling), yielded)
                except Exception as exc:
                    error = exc
        except BaseException:  # the caller was cancelled (or interrupted)
            self._settle(calling, slot, estimate)
            if not calling.finished:
                self._finish_cancelled(calling, aborted=scope in self._aborted)
            raise
        finally:
            here.discard(scope)
            self._spent.discard(scope)
            aborted = scope in self._aborted
            self._aborted.discard(scope)
            if not here and self._drained is not None:
                self._drained.set()
        calling.scope = None
        self._settle(calling, slot, estimate)
        if not calling.finished:  # else the backend finished it itself
            if scope.cancelled_caught:
                self._finish_cancelled(calling, aborted=aborted)
            elif error is not None:
                self._report.fail(calling, error)
            else:
                self._report.complete(calling, response)
        self._admit_ready()
        if not yielded.once:
            # A backend that never waited (a Tool with nothing to await, an open
            # circuit): the call is still a schedule point, so a loop of them cannot
            # starve the other tasks. The call is over: a cancel here cannot undo it.
            await trio.lowlevel.cancel_shielded_checkpoint()

    def _finish_cancelled(self, calling: Calling, *, aborted: bool) -> None:
        if aborted:
            self._report.abort(calling, "the executor stopped while it was running")
        else:
            self._report.finish_unstarted(calling)  # its cancel, deadline or caller's cancel

    def cancel(self, calling: Calling) -> bool:
        """Cancel ``calling`` if it was dispatched here; False if it was not.

        One a worker runs has that worker's scope cancelled (the worker leaves once it
        finished it); one still waiting for a worker is finished unstarted by the worker
        that takes it. Either way it settles before it finishes.
        """
        if calling not in self._reserved:
            return False
        scope = calling.scope
        if scope is None:
            self._cancelled.add(calling)
        else:
            self._spent.add(scope)
            scope.cancel()
        return True

    def _wake(self) -> None:
        assert self.nursery is not None
        if self._idle:
            self._idle.unpark()
        else:
            self.nursery.start_soon(self._work)

    async def _work(self) -> None:
        """A worker: runs ready Callings one after another, parks when there are none.

        Workers take Callings from the head of ``_ready`` and call the backend in the
        same step, so the backend sees them in admission order whichever worker trio
        runs first. Each worker runs its calls in one cancel scope (entering one per call
        would be a measurable share of a call's cost): a Calling's ``scope`` is its
        worker's while it runs, so cancelling it or its deadline cancels that scope, and
        the worker then leaves (the scope stays cancelled) once it finished the Calling;
        another worker takes what is ready.
        """
        ready = self._ready
        with trio.CancelScope() as scope:
            spent = False
            while not spent:
                if ready:
                    calling, slot, estimate = ready.popleft()
                    if self._cancelled and calling in self._cancelled:
                        self._drop(calling, slot, estimate)
                    else:
                        spent = await self._dispatch(scope, calling, slot, estimate)
                    self._next(spent)
                elif self._closing:
                    return
                else:
                    await self._idle.park()
        self._spent.discard(scope)
        if ready:
            self._wake()  # what this worker would have taken next

    def _drop(self, calling: Calling, slot: object | None, estimate: int) -> None:
        """Settle and finish a Calling cancelled while it waited for a worker."""
        self._cancelled.discard(calling)
        self._settle(calling, slot, estimate)
        if not calling.finished:
            self._report.finish_unstarted(calling)

    async def _dispatch(
        self, scope: trio.CancelScope, calling: Calling, slot: object | None, estimate: int
    ) -> bool:
        """Run ``calling`` in the worker's ``scope``; True when that scope was cancelled
        meanwhile (it cancels whatever runs in it next: the worker must leave)."""
        deadline = calling.deadline
        if deadline != math.inf:
            scope.deadline = deadline
        calling.scope = scope
        error: Exception | None = None
        response: Any = None
        try:
            response = await self._backend.execute(calling)
        except Exception as exc:
            error = exc
        except BaseException:
            self._settle(calling, slot, estimate)
            if not calling.finished:
                if scope.cancel_called:  # its cancel or deadline: the worker leaves
                    self._report.finish_unstarted(calling)
                else:
                    self._report.abort(calling, "the executor stopped while it was running")
            raise
        calling.scope = None  # it ended: a cancel from now on comes too late
        self._settle(calling, slot, estimate)
        # Cancelled by its Calling, its deadline or anyone holding ``calling.scope``:
        # the scope stays cancelled, so the worker must not run another call in it.
        spent = scope in self._spent or scope.cancel_called
        if deadline != math.inf:
            scope.deadline = math.inf  # not to cancel this worker's next call
        if not calling.finished:  # else the backend finished it itself
            if error is not None:
                self._report.fail(calling, error)
            else:
                self._report.complete(calling, response)
        return spent

    def _next(self, spent: bool) -> None:
        # Only now: the events show this Calling finished before its successor started.
        # This worker goes on with the first Callings admitted here (see _work), unless
        # its scope is spent: then start() wakes another worker for them.
        self._spare = not spent
        self._admit_ready()
        self._spare = False

    def _settle(self, calling: Calling, slot: object | None, estimate: int) -> None:
        # Everything reserved for it: the first admission plus one estimate per retry.
        estimate = self._reserved.pop(calling, estimate)
        self._admission.release_slot(slot)
        if slot is not None:
            self._slot_freed()
        self.in_flight -= 1
        self.tokens_in_flight -= estimate
        self._admission.settle(calling, estimate)
