"""Executor: the actor that admits Callings under rate limits and runs them on a backend."""

from __future__ import annotations

import math
import sys
from typing import Any

import trio

from callboard.actors import Actor, ActorRef, ActorStopped, Broadcast, LifecycleEvent
from callboard.calling import (
    Backend,
    Calling,
    CallingStateError,
    CallingStatus,
    QueueFull,
    TokenEstimator,
    estimate_tokens,
)
from callboard.calling._estimate import estimate_with
from callboard.errors import ConfigError
from callboard.limits import (
    AdaptiveLimiter,
    AdmissionPolicy,
    Limiter,
    OversizeRequest,
)

from ._admission import Admission, is_int, is_number, limiter
from ._admitting import AdmissionLoop
from ._feedback import ProviderFeedback
from ._learning import input_only
from ._queue import CallingQueue
from ._submit import TaskBackend, TaskSubmission
from ._transitions import Transitions
from ._workers import Workers

__all__ = ["Executor"]


class Executor(ProviderFeedback, TaskSubmission, AdmissionLoop, Actor[Calling]):
    """Admit Callings in FIFO order under request, token and concurrency limits.

    For each Calling, in the order submitted, the executor waits for a concurrency slot,
    then reserves one request and the Calling's estimated tokens *at the same instant*
    (so dispatches, not reservations, obey the buckets' window bound), then hands it to
    the backend on a worker task of its own nursery (workers are reused: the one whose
    call just ended admits and runs the next Calling that can start, without a round
    trip through the mailbox). When the backend returns, it releases the slot and
    reconciles what was reserved (once, plus once per retry: ``readmit()``) with
    ``calling.actual_tokens`` (refund or debit). Nothing polls: every wait is on a
    bucket, a limiter, an event or a deadline.

    A Calling's ``timeout`` covers queueing and running. ``call()`` ties the call to
    its caller: cancelling the caller cancels the call, frees its slot and settles its
    tokens before ``Cancelled`` propagates. Every transition is published on
    ``broadcast`` as a ``callboard`` lifecycle event.

    Configured limits are an upper bound and a first guess: each becomes an
    [`AdaptiveLimiter`][callboard.AdaptiveLimiter] that paces it smoothly (about one second
    of burst by default) and learns the provider's real limit from every response the
    Endpoint reports (``feedback()``): 429s cut the effective rate and pause admission
    for every queued Calling, clean responses bring it back, rate-limit headers correct
    the buckets. A Calling the provider refused for rate goes back to its place ahead of
    the queue (``requeue()``) without spending a retry. ``admission_policy`` says how;
    ``executor.admission`` shows what was learned and how soon a call could start.

    Run it like any actor: ``await nursery.start(executor.run)``. ``executor.ref.stop()``
    stops it gracefully (queued Callings are still run); cancelling it aborts every
    Calling it holds.

    Args:
        backend: performs each call (``async execute(calling)``); ``None`` for an
            Executor that runs whatever ``submit_task()`` queues.
        limit_requests: requests per ``capacity_refresh_time``, or a [`Limiter`][callboard.Limiter].
        limit_tokens: tokens per ``capacity_refresh_time``, or a [`Limiter`][callboard.Limiter].
        capacity_refresh_time: seconds for an empty bucket to refill completely.
        queue_capacity: Callings waiting for admission before ``submit()`` waits.
        concurrency_limit: Callings running at once; ``None`` for no limit.
        token_estimator: payload → tokens to reserve; ``estimate_tokens`` by default.
        broadcast: where lifecycle events go; ``None`` publishes nothing.
        name: shown in events and errors.
        admission_policy: pacing (smooth or full bursts), learning, the pause cap and
            token accounting ([`AdmissionPolicy`][callboard.AdmissionPolicy]).

    Raises:
        ConfigError: ``backend`` has no ``execute`` method, or a limit, period or capacity
            is not a positive number.

    Example::

        executor = Executor(backend, limit_requests=600, limit_tokens=90_000)
        async with trio.open_nursery() as nursery:
            await nursery.start(executor.run)
            response = await executor.call(Calling({"messages": [...]}))
            executor.ref.stop()
    """

    def __init__(
        self,
        backend: Backend | None = None,
        *,
        limit_requests: float | Limiter | None = None,
        limit_tokens: float | Limiter | None = None,
        capacity_refresh_time: float = 60.0,
        queue_capacity: int = 100,
        concurrency_limit: int | None = None,
        token_estimator: TokenEstimator | None = None,
        broadcast: Broadcast[LifecycleEvent] | None = None,
        name: str = "executor",
        admission_policy: AdmissionPolicy = AdmissionPolicy(),  # noqa: B008 - frozen value
    ) -> None:
        backend = backend if backend is not None else TaskBackend()
        # Checked here, not at the first dispatch: a missing backend would otherwise fail
        # every call later with a raw AttributeError far from the line that caused it.
        if not callable(getattr(backend, "execute", None)):
            raise ConfigError(
                f"backend must have an async execute(calling) method (an Endpoint, a Tool "
                f"or your own Backend), got {type(backend).__name__}",
                field="backend",
            )
        if not (is_number(capacity_refresh_time) and 0 < capacity_refresh_time < math.inf):
            raise ConfigError(
                f"capacity_refresh_time must be a positive number of seconds, "
                f"got {capacity_refresh_time!r}",
                field="capacity_refresh_time",
            )
        if not (is_int(queue_capacity) and queue_capacity >= 1):
            raise ConfigError(
                f"queue_capacity must be an int >= 1, got {queue_capacity!r}",
                field="queue_capacity",
            )
        if concurrency_limit is not None and not (
            is_int(concurrency_limit) and concurrency_limit >= 1
        ):
            raise ConfigError(
                f"concurrency_limit must be an int >= 1 or None, got {concurrency_limit!r}",
                field="concurrency_limit",
            )
        # The queue's room bounds it, not the mailbox (see CallingQueue): a stale mailbox
        # message must never be what refuses a submit.
        if not isinstance(admission_policy, AdmissionPolicy):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                f"admission_policy must be an AdmissionPolicy, got "
                f"{type(admission_policy).__name__}",
                field="admission_policy",
            )
        super().__init__(mailbox_size=sys.maxsize, name=name)
        self._backend = backend
        policy = admission_policy
        self._admission = Admission(
            limiter(limit_requests, capacity_refresh_time, "requests", policy),
            limiter(limit_tokens, capacity_refresh_time, "tokens", policy),
            concurrency_limit,
            policy,
        )
        self._estimate: TokenEstimator = token_estimator or estimate_tokens
        self._queue = CallingQueue(queue_capacity)
        self._report = Transitions(name, broadcast)
        self._admission.queued = self._queue.load
        self._admission.on_pause = self._report.paused
        for adaptive in (self._admission.requests, self._admission.tokens):
            if adaptive is not None:
                adaptive.listen(self._limit_changed(adaptive))
        self._workers = Workers(
            backend,
            self._admission,
            self._report,
            admit_ready=self._admit_ready,
            slot_freed=self._queue_changed_now,
        )
        self._admitting = False  # the actor is admitting the head Calling right now
        self._queue_changed: trio.Event | None = None  # the actor waits for a slot
        self._head: Calling | None = None  # ... for this Calling, taken off the queue
        self._early: set[Calling] = set()  # admitted ahead of their mailbox message

    # -- observation --------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Callings accepted and still waiting to be taken for admission."""
        return len(self._queue)

    @property
    def in_flight(self) -> int:
        """Callings dispatched to the backend and not finished yet."""
        return self._workers.in_flight

    @property
    def tokens_in_flight(self) -> int:
        """Tokens reserved by the Callings in flight."""
        return self._workers.tokens_in_flight

    @property
    def paused_until(self) -> float:
        """Trio time before which nothing is admitted (``-inf`` when not paused).

        A pause set in another ``trio.run`` (an iModel used inline from several runs) does
        not count: that run's clock had another origin.
        """
        return self._admission.paused_until

    @property
    def concurrency_limit(self) -> int | None:
        """Callings running at once (``None``: no limit); an Endpoint sizes its pool to it."""
        slots = self._admission.slots
        return None if slots is None else int(slots.total_tokens)

    @property
    def requests_limiter(self) -> AdaptiveLimiter | None:
        """The request limit (the configured one inside, as ``.ceiling``)."""
        return self._admission.requests

    @property
    def tokens_limiter(self) -> AdaptiveLimiter | None:
        """The token limit (the configured one inside, as ``.ceiling``)."""
        return self._admission.tokens

    @property
    def admission(self) -> Admission:
        """The pause, slots and limiters: ``admission.snapshot()`` shows the configured
        against the effective limits, ``admission.estimate_delay(tokens)`` how soon a new
        call could start."""
        return self._admission

    # -- submission ---------------------------------------------------------------------

    async def submit(self, calling: Calling) -> None:
        """Queue ``calling``, waiting while the queue is full. Returns once it is queued.

        If this raises ``Cancelled`` the Calling was not queued (it stays pending).

        Raises:
            OversizeRequest, ConfigError: its token estimate exceeds the token bucket's
                capacity, or the ``token_estimator`` failed; the Calling fails with it.
            CallingStateError: the Calling is not pending (submitted or finished already).
            ActorStopped: the executor is not running.
        """
        await trio.lowlevel.checkpoint_if_cancelled()  # cancelled: it was not queued
        await self._submit(calling)
        await trio.lowlevel.cancel_shielded_checkpoint()  # queued: a cancel cannot undo it

    async def _submit(self, calling: Calling, *, here: bool = False) -> tuple[object, int] | None:
        """``submit()`` without the schedule point after queueing: ``call()`` waits for
        the outcome next, and that wait is its schedule point (a round per call saved).

        ``here``: a Calling that can start at once is not given to a worker; its slot
        and reservation are returned, for the caller to run it (``Workers.run_here``).
        """
        self._prepare(calling)
        queue = self._queue
        if not queue.take_room_nowait():
            if not await queue.take_room():
                raise ActorStopped(self.name)  # it stopped while this waited: not queued
            try:
                self._check_accepting(calling)  # again: things changed while it waited
            except BaseException:
                queue.give_room()
                raise
        return self._enqueue(calling, here=here)

    def submit_nowait(self, calling: Calling) -> None:
        """Queue ``calling`` without waiting.

        Raises:
            QueueFull: the queue has no room right now.
            OversizeRequest, CallingStateError, ActorStopped: as for ``submit()``.
        """
        self._prepare(calling)
        if not self._queue.take_room_nowait():
            raise QueueFull(self.name, self._queue.capacity)
        self._enqueue(calling)

    async def call(self, calling: Calling) -> Any:
        """Submit ``calling`` and wait for its outcome, cancelling it with the caller.

        If the caller is cancelled, the Calling is cancelled too, and by the time
        ``Cancelled`` propagates its slot is free and its tokens are settled (one still
        waiting for queue room holds nothing: it is cancelled at once).

        A Calling that can start the moment it is submitted runs on the caller's own
        task; one that has to wait runs on one of the Executor's workers. Either way
        cancelling the Calling or reaching its deadline ends only the call, and a
        graceful stop waits for it. Which task runs the backend is not part of the
        contract: do not pass it context variables through the caller.

        Raises:
            CallboardError: what ``submit()`` raises, or the call's own error (``Calling.wait()``).
        """
        try:
            await trio.lowlevel.checkpoint_if_cancelled()  # cancelled: not even queued
            admitted = await self._submit(calling, here=True)
            if admitted is not None:
                await self._workers.run_here(calling, *admitted)
            else:
                await calling.wait_finished()
        except trio.Cancelled:
            if not calling.finished:
                calling.cancel()
                with trio.CancelScope(shield=True):
                    await calling.wait_finished()
            raise
        return calling.outcome()

    def cancel_calling(self, calling: Calling) -> None:
        """Cancel one of this executor's Callings (``Calling.cancel`` lands here)."""
        if self._queue.remove(calling):
            self._report.cancel(calling)
        elif self._workers.cancel(calling):
            pass  # its worker settles it, then finishes it
        elif calling.scope is not None:
            calling.scope.cancel()

    def _prepare(self, calling: Calling) -> None:
        self._check_accepting(calling)
        admission = self._admission
        if admission.tokens is not None and calling.estimated_tokens <= 0:
            estimate = self._estimate
            if admission.policy.token_accounting == "input":
                estimate = input_only(estimate)
            calling.estimated_tokens = admission.estimate(
                estimate_with(estimate, calling, self._report.fail)
            )
        capacity = admission.token_capacity()
        if calling.estimated_tokens > capacity:
            error = OversizeRequest(calling.estimated_tokens, capacity)
            self._report.fail(calling, error)
            raise error

    def _check_accepting(self, calling: Calling) -> None:
        if calling.status is not CallingStatus.PENDING:
            raise CallingStateError(
                f"calling {calling.id} is {calling.status.value}; only a pending calling "
                "can be submitted (create a new Calling to call again)",
                calling_id=calling.id,
            )
        if not self.ref.is_alive:
            raise ActorStopped(self.name)

    def _enqueue(self, calling: Calling, *, here: bool = False) -> tuple[object, int] | None:
        calling.mark_queued()
        calling.attach(self)
        if calling.timeout is not None:
            assert calling.queued_at is not None
            calling.deadline = calling.queued_at + calling.timeout
        queue = self._queue
        if not queue and self._head is None and not self._admitting:
            # Nothing ahead of it: start it now if it can, without the round trip through
            # the actor's mailbox (FIFO holds: the queue is empty, the actor admits none).
            self._report.queued(calling, 1)
            now = calling.queued_at
            assert now is not None
            workers = self._workers
            if here and not workers.closing:
                admitted, slot = self._try_admit(calling, now)
                if admitted:
                    queue.give_room()
                    return slot, workers.begin(calling, now)
            elif self._try_start(calling, now):
                queue.give_room()
                return None
            queue.push(calling)
        else:
            queue.push(calling)
            self._report.queued(calling, len(queue))
        self.ref.tell_nowait(calling)  # the mailbox is unbounded; the queue's room is the bound
        return None

    # -- the actor ----------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[ActorRef[Calling]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until stopped (graceful: queued Callings still run) or cancelled (aborts)."""
        self._queue.reset()
        self._admission.forget_other_runs()
        self._early.clear()
        workers = self._workers
        try:
            async with trio.open_nursery() as nursery:
                workers.open(nursery)
                timer = trio.CancelScope()
                nursery.start_soon(self._expire_queued, timer)
                try:
                    await super().run(task_status=task_status)
                finally:
                    timer.cancel()
                    workers.close()
        finally:
            workers.abandon()
            self._queue.close()
            for calling in self._queue.clear():
                if not calling.finished:
                    self._report.abort(calling, "the executor stopped before admitting it")
            # As the nursery waits for its workers: when run() returns, every Calling
            # it held has settled and finished, those run on their callers' tasks too.
            await workers.settled()

    async def handle(self, message: Calling) -> None:
        """Admit one Calling (the actor loop calls this in FIFO order)."""
        calling = message
        if calling.status is CallingStatus.PENDING:
            # Sent with ref.tell instead of submit: no queue room was taken for it.
            calling.fail(
                CallingStateError(
                    f"calling {calling.id} reached executor {self.name!r} without submit(); "
                    "use Executor.submit or Executor.call",
                    calling_id=calling.id,
                )
            )
            return
        await self._admit_queued(calling)
