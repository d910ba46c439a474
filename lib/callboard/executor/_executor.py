"""Executor: the actor that admits Callings under rate limits and runs them on a backend."""

from __future__ import annotations

import collections
import heapq
import math
import sys
from collections import OrderedDict
from typing import Any

import trio

from callboard.actors import Actor, ActorRef, ActorStopped, Broadcast, LifecycleEvent
from callboard.calling import (
    Backend,
    Calling,
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingStateError,
    CallingStatus,
    CallingTimedOut,
    CallingTimeoutError,
    ExecutorPaused,
    QueueFull,
    TokenEstimator,
    estimate_tokens,
)
from callboard.errors import ConfigError
from callboard.limits import (
    Limiter,
    OversizeRequest,
    RateLimitState,
    TokenBucket,
    reconcile,
    release,
    reserve,
    try_reserve,
)

__all__ = ["Executor"]

_Admitted = tuple[Calling, trio.CancelScope, object | None, int]


class Executor(Actor[Calling]):
    """Admit Callings in FIFO order under request, token and concurrency limits.

    For each Calling, in the order submitted, the executor waits for a concurrency slot,
    then reserves one request and the Calling's estimated tokens *at the same instant*
    (so dispatches, not reservations, obey the buckets' window bound), then hands it to
    the backend on a worker task of its own nursery (workers are reused: the one whose
    call just ended admits and runs the next Calling that can start, without a round
    trip through the mailbox). When the backend returns, it releases the slot and
    reconciles what was reserved (once, plus once per retry: :meth:`readmit`) with
    ``calling.actual_tokens`` (refund or debit). Nothing polls: every wait is on a
    bucket, a limiter, an event or a deadline.

    A Calling's ``timeout`` covers queueing and running. :meth:`call` ties the call to
    its caller: cancelling the caller cancels the call, frees its slot and settles its
    tokens before ``Cancelled`` propagates. Every transition is published on
    ``broadcast`` as a :mod:`callboard` lifecycle event.

    Run it like any actor: ``await nursery.start(executor.run)``. ``executor.ref.stop()``
    stops it gracefully (queued Callings are still run); cancelling it aborts every
    Calling it holds.

    Args:
        backend: performs each call (``async execute(calling)``).
        limit_requests: requests per ``capacity_refresh_time``, or a :class:`Limiter`.
        limit_tokens: tokens per ``capacity_refresh_time``, or a :class:`Limiter`.
        capacity_refresh_time: seconds for an empty bucket to refill completely.
        queue_capacity: Callings waiting for admission before :meth:`submit` waits.
        concurrency_limit: Callings running at once; ``None`` for no limit.
        token_estimator: payload → tokens to reserve; :func:`estimate_tokens` by default.
        broadcast: where lifecycle events go; ``None`` publishes nothing.
        name: shown in events and errors.

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
        backend: Backend,
        *,
        limit_requests: float | Limiter | None = None,
        limit_tokens: float | Limiter | None = None,
        capacity_refresh_time: float = 60.0,
        queue_capacity: int = 100,
        concurrency_limit: int | None = None,
        token_estimator: TokenEstimator | None = None,
        broadcast: Broadcast[LifecycleEvent] | None = None,
        name: str = "executor",
    ) -> None:
        # Checked here, not at the first dispatch: a missing backend would otherwise fail
        # every call later with a raw AttributeError far from the line that caused it.
        if not callable(getattr(backend, "execute", None)):
            raise ConfigError(
                f"backend must have an async execute(calling) method (an Endpoint, a Tool "
                f"or your own Backend), got {type(backend).__name__}",
                field="backend",
            )
        if not (_is_number(capacity_refresh_time) and 0 < capacity_refresh_time < math.inf):
            raise ConfigError(
                f"capacity_refresh_time must be a positive number of seconds, "
                f"got {capacity_refresh_time!r}",
                field="capacity_refresh_time",
            )
        if not (_is_int(queue_capacity) and queue_capacity >= 1):
            raise ConfigError(
                f"queue_capacity must be an int >= 1, got {queue_capacity!r}",
                field="queue_capacity",
            )
        if concurrency_limit is not None and not (
            _is_int(concurrency_limit) and concurrency_limit >= 1
        ):
            raise ConfigError(
                f"concurrency_limit must be an int >= 1 or None, got {concurrency_limit!r}",
                field="concurrency_limit",
            )
        # The queue bound is _room, released the moment a Calling leaves the queue (taken,
        # admitted early, cancelled or timed out). Its mailbox message may stay behind a
        # little longer, so the mailbox itself must not be what refuses a submit.
        super().__init__(mailbox_size=sys.maxsize, name=name)
        self._backend = backend
        self._requests = _limiter(limit_requests, capacity_refresh_time, "requests")
        self._tokens = _limiter(limit_tokens, capacity_refresh_time, "tokens")
        self._slots = None if concurrency_limit is None else trio.CapacityLimiter(concurrency_limit)
        self._estimate: TokenEstimator = token_estimator or estimate_tokens
        self._broadcast = broadcast
        self._queue_capacity = queue_capacity
        self._room = trio.Semaphore(queue_capacity)
        # Accepted, not yet taken for admission, in FIFO order. An OrderedDict, not a dict:
        # the head is read with next(iter()) after deletions at the front, which a plain
        # dict answers by scanning every deleted slot (quadratic at 100k queued).
        self._queued: OrderedDict[Calling, None] = OrderedDict()
        self._deadlines: list[tuple[float, int, Calling]] = []
        self._deadline_seq = 0
        self._deadline_changed = trio.Event()
        self._paused_until = -math.inf
        # The trio.run whose clock _paused_until is on: each run's clock has its own origin.
        self._paused_in: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._in_flight = 0
        self._tokens_in_flight = 0
        self._admitting = False  # the actor is admitting the head Calling right now
        self._queue_changed: trio.Event | None = None  # the actor waits for a slot
        self._head: Calling | None = None  # ... for this Calling, taken off the queue
        self._spare_worker = False  # a worker is about to look for its next Calling
        self._reserved: dict[Calling, int] = {}  # dispatched Callings -> tokens reserved
        self._early: set[Calling] = set()  # admitted ahead of their mailbox message
        # Admitted Callings waiting for a worker, in admission order, and idle workers.
        self._ready: collections.deque[_Admitted] = collections.deque()
        self._idle = trio.lowlevel.ParkingLot()
        self._closing = False

    # -- observation --------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Callings accepted and still waiting to be taken for admission."""
        return len(self._queued)

    @property
    def in_flight(self) -> int:
        """Callings dispatched to the backend and not finished yet."""
        return self._in_flight

    @property
    def tokens_in_flight(self) -> int:
        """Tokens reserved by the Callings in flight."""
        return self._tokens_in_flight

    @property
    def paused_until(self) -> float:
        """Trio time before which nothing is admitted (``-inf`` when not paused).

        A pause set in another ``trio.run`` (an iModel used inline from several runs) does
        not count: that run's clock had another origin.
        """
        if self._paused_in is not trio.lowlevel.current_trio_token():
            return -math.inf
        return self._paused_until

    @property
    def concurrency_limit(self) -> int | None:
        """Callings running at once (``None``: no limit); an Endpoint sizes its pool to it."""
        return None if self._slots is None else int(self._slots.total_tokens)

    @property
    def requests_limiter(self) -> Limiter | None:
        return self._requests

    @property
    def tokens_limiter(self) -> Limiter | None:
        return self._tokens

    # -- provider feedback --------------------------------------------------------------

    def observe(self, state: RateLimitState) -> None:
        """Feed a provider's rate-limit state back: lower the buckets, honour retry-after.

        An Endpoint calls this with ``parse_openai_headers(response.headers)`` (or the
        Anthropic parser) after every response, 429s included. It only ever slows
        admission down.
        """
        for limiter in (self._requests, self._tokens):
            if limiter is not None:
                limiter.observe(state)
        if state.retry_after is not None and state.retry_after > 0:
            self.pause(state.retry_after)

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` from now (extends, never shortens, a pause)."""
        until = trio.current_time() + seconds
        run = trio.lowlevel.current_trio_token()
        if until > self.paused_until:
            self._paused_until = until
            self._paused_in = run
            if self._listening():
                self._publish(ExecutorPaused(executor=self.name, until=until))

    async def readmit(self, calling: Calling | None = None) -> None:
        """Pass admission again for a retry of a Calling that is already running.

        The retry keeps the concurrency slot of its first attempt; it waits out a pause
        and takes one more request and, for ``calling``, its estimated tokens again, so
        retries count against the provider's request and token rates like any other
        request. Every reservation is reconciled once with ``actual_tokens`` when the
        Calling finishes (an attempt the provider refused used nothing). If this raises
        ``Cancelled`` nothing was taken.

        Args:
            calling: the running Calling being retried; without it only a request is
                taken.

        Raises:
            OversizeRequest: a shared token limiter cannot ever grant the estimate.
        """
        await self._wait_unpaused()
        reserved = self._reserved
        tokens = 0
        if calling is not None and self._tokens is not None and calling in reserved:
            tokens = calling.estimated_tokens
        if self._requests is None and tokens <= 0:
            await trio.lowlevel.checkpoint()
            return
        await self._reserve(tokens)
        if calling is not None and tokens > 0:
            reserved[calling] += tokens
            self._tokens_in_flight += tokens

    # -- submission ---------------------------------------------------------------------

    async def submit(self, calling: Calling) -> None:
        """Queue ``calling``, waiting while the queue is full. Returns once it is queued.

        If this raises ``Cancelled`` the Calling was not queued (it stays pending).

        Raises:
            OversizeRequest: its token estimate exceeds the token bucket's capacity; the
                Calling is failed with the same error.
            CallingStateError: the Calling is not pending (submitted or finished already).
            ActorStopped: the executor is not running.
        """
        self._prepare(calling)
        await self._room.acquire()
        try:
            self._check_accepting(calling)
        except BaseException:
            self._room.release()
            raise
        self._enqueue(calling)

    def submit_nowait(self, calling: Calling) -> None:
        """Queue ``calling`` without waiting.

        Raises:
            QueueFull: the queue has no room right now.
            OversizeRequest, CallingStateError, ActorStopped: as for :meth:`submit`.
        """
        self._prepare(calling)
        try:
            self._room.acquire_nowait()
        except trio.WouldBlock:
            raise QueueFull(self.name, self._queue_capacity) from None
        self._enqueue(calling)

    async def call(self, calling: Calling) -> Any:
        """Submit ``calling`` and wait for its outcome, cancelling it with the caller.

        If the caller is cancelled, the Calling is cancelled too, and by the time
        ``Cancelled`` propagates its slot is free and its tokens are settled.

        Raises:
            the errors of :meth:`submit` and of :meth:`Calling.wait`.
        """
        await self.submit(calling)
        try:
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
        if self._dequeue(calling):
            calling.attach(None)
            calling.cancel()
            self._published_cancel(calling)
        elif calling.scope is not None:
            calling.scope.cancel()

    def _prepare(self, calling: Calling) -> None:
        self._check_accepting(calling)
        if self._tokens is not None and calling.estimated_tokens <= 0:
            calling.estimated_tokens = self._estimate(calling.payload)
        capacity = self._tokens.capacity if self._tokens is not None else math.inf
        if calling.estimated_tokens > capacity:
            error = OversizeRequest(calling.estimated_tokens, capacity)
            calling.fail(error)
            if self._listening():
                self._publish(
                    CallingFailed(executor=self.name, calling_id=calling.id, error=repr(error))
                )
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

    def _enqueue(self, calling: Calling) -> None:
        calling.mark_queued()
        calling.attach(self)
        if calling.timeout is not None:
            assert calling.queued_at is not None
            calling.deadline = calling.queued_at + calling.timeout
            self._deadline_seq += 1
            heapq.heappush(self._deadlines, (calling.deadline, self._deadline_seq, calling))
            if self._deadlines[0][2] is calling:
                self._deadline_changed.set()
        self._queued[calling] = None
        if self._listening():
            self._publish(
                CallingQueued(executor=self.name, calling_id=calling.id, queued=len(self._queued))
            )
        self.ref.tell_nowait(calling)  # the mailbox is unbounded; _room is the bound

    def _dequeue(self, calling: Calling) -> bool:
        """Take ``calling`` off the queue and free its room; False if it was not queued."""
        if calling not in self._queued:
            return False
        del self._queued[calling]
        self._room.release()
        return True

    # -- the actor ----------------------------------------------------------------------

    async def run(
        self, *, task_status: trio.TaskStatus[ActorRef[Calling]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until stopped (graceful: queued Callings still run) or cancelled (aborts)."""
        self._room = trio.Semaphore(self._queue_capacity)
        if self._paused_in is not trio.lowlevel.current_trio_token():
            self._paused_until = -math.inf  # set on another run's clock
        self._deadlines.clear()
        self._early.clear()
        self._closing = False
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                timer = trio.CancelScope()
                nursery.start_soon(self._expire_queued, timer)
                try:
                    await super().run(task_status=task_status)
                finally:
                    timer.cancel()
                    # Workers finish what they hold and what is ready, then leave.
                    self._closing = True
                    self._idle.unpark_all()
        finally:
            self._nursery = None
            while self._ready:  # cancelled before a worker took them
                calling, _, slot, estimate = self._ready.popleft()
                self._settle(calling, slot, estimate)
                if not calling.finished:
                    self._abort(calling, "the executor stopped while it was running")
            leftovers = list(self._queued)
            self._queued.clear()
            for calling in leftovers:
                if not calling.finished:
                    self._abort(calling, "the executor stopped before admitting it")

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
        if calling in self._early:
            self._early.discard(calling)
            return  # admitted already, by _admit_ready
        self._dequeue(calling)
        if calling.finished:
            return  # cancelled or timed out while queued
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
        return (
            self._slots is not None
            and self._slots.available_tokens < 1
            and self._paused_until <= now
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
                self._abort(calling, "the executor stopped while admitting it")
            raise
        finally:
            admitted = self._head is not calling
            self._head = None
            self._queue_changed = None
        if admitted:
            return False
        if scope.cancelled_caught:
            self._finish_unstarted(calling)
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
        queued = self._queued
        while not self._admitting and self._nursery is not None:
            head = self._head
            if head is None and not queued:
                return
            now = trio.current_time()
            calling = head if head is not None else next(iter(queued))
            if self._paused_until > now or calling.deadline <= now:
                return  # the actor's own path waits out the pause or times it out
            slot: object | None = None
            if self._slots is not None:
                borrower = object()
                try:
                    self._slots.acquire_on_behalf_of_nowait(borrower)
                except trio.WouldBlock:
                    return
                slot = borrower
            try:
                reserved = self._try_reserve(calling.estimated_tokens)
            except Exception:
                reserved = False  # a limiter's error is reported by the actor's path
            if not reserved:
                self._release_slot(slot)
                return
            if head is not None:
                self._head = None  # the actor waiting for it sees it was admitted
            else:
                self._dequeue(calling)
                self._early.add(calling)
            self._start(calling, slot)

    def _try_reserve(self, tokens: int) -> bool:
        """Take one request and ``tokens`` now if both are there; all or nothing."""
        return try_reserve(self._requests, self._tokens, tokens)

    async def _admit(self, calling: Calling) -> None:
        scope = trio.CancelScope(deadline=calling.deadline)
        calling.scope = scope
        slot: object | None = None
        reserved = False
        try:
            with scope:
                await self._wait_unpaused()
                if self._slots is not None:
                    borrower = object()
                    await self._slots.acquire_on_behalf_of(borrower)
                    slot = borrower  # held only once acquired
                await self._reserve(calling.estimated_tokens)
                reserved = True
        except Exception as exc:  # OversizeRequest, or a shared limiter's failure
            self._release_slot(slot)
            self._fail(calling, exc)
            return
        except BaseException:
            self._release_slot(slot)
            self._abort(calling, "the executor stopped while admitting it")
            raise
        if scope.cancel_called:
            # Cancelled or timed out, possibly at the very instant admission succeeded:
            # give back what was taken so that the cancellation means "did not happen".
            if reserved:
                self._unreserve(calling.estimated_tokens)
            self._release_slot(slot)
            self._finish_unstarted(calling)
            return
        self._start(calling, slot)

    def _start(self, calling: Calling, slot: object | None) -> None:
        """Run an admitted Calling in a task of its own (its slot and reservation held)."""
        calling.mark_running()
        run_scope = trio.CancelScope(deadline=calling.deadline)
        calling.scope = run_scope
        estimate = calling.estimated_tokens if self._tokens is not None else 0
        self._in_flight += 1
        self._tokens_in_flight += estimate
        self._reserved[calling] = estimate
        if self._listening():
            self._publish(
                CallingStarted(
                    executor=self.name,
                    calling_id=calling.id,
                    attempt=calling.attempts,
                    estimated_tokens=calling.estimated_tokens,
                )
            )
        assert self._nursery is not None
        self._ready.append((calling, run_scope, slot, estimate))
        if self._spare_worker:
            self._spare_worker = False  # the worker that just finished takes it
        elif self._idle:
            self._idle.unpark()
        else:
            self._nursery.start_soon(self._work)

    async def _work(self) -> None:
        """A worker: runs ready Callings one after another, parks when there are none.

        Workers take Callings from the head of ``_ready`` and call the backend in the
        same step, so the backend sees them in admission order whichever worker trio
        runs first; and a finished call's worker goes straight to the next one instead
        of a task being spawned per Calling.
        """
        ready = self._ready
        while True:
            if ready:
                await self._dispatch(*ready.popleft())
            elif self._closing:
                return
            else:
                await self._idle.park()

    async def _dispatch(
        self, calling: Calling, scope: trio.CancelScope, slot: object | None, estimate: int
    ) -> None:
        error: Exception | None = None
        response: Any = None
        try:
            with scope:
                try:
                    response = await self._backend.execute(calling)
                except Exception as exc:
                    error = exc
        except BaseException:
            self._settle(calling, slot, estimate)
            if not calling.finished:
                self._abort(calling, "the executor stopped while it was running")
            raise
        self._settle(calling, slot, estimate)
        if not calling.finished:  # else the backend finished it itself
            self._conclude(calling, scope, error, response)
        # Only now: the events show this Calling finished before its successor started.
        # This worker goes on with the first Callings admitted here (see _work).
        self._spare_worker = True
        self._admit_ready()
        self._spare_worker = False

    def _conclude(
        self, calling: Calling, scope: trio.CancelScope, error: Exception | None, response: Any
    ) -> None:
        if scope.cancelled_caught:
            self._finish_unstarted(calling)
        elif error is not None:
            self._fail(calling, error)
        else:
            calling.complete(response)
            if self._listening():
                started = calling.started_at if calling.started_at is not None else math.nan
                self._publish(
                    CallingCompleted(
                        executor=self.name,
                        calling_id=calling.id,
                        duration=trio.current_time() - started,
                        actual_tokens=calling.actual_tokens,
                    )
                )

    # -- admission steps ----------------------------------------------------------------

    async def _wait_unpaused(self) -> None:
        # A pause only ever grows, so re-sleeping to its new end is all a change needs.
        while (until := self._paused_until) > trio.current_time():
            with trio.move_on_at(until):
                await trio.sleep_forever()

    async def _reserve(self, tokens: int) -> None:
        """Take one request and ``tokens`` together; on ``Cancelled`` nothing is held."""
        await reserve(self._requests, self._tokens, tokens)

    def _unreserve(self, tokens: int) -> None:
        release(self._requests, self._tokens, tokens)

    def _release_slot(self, slot: object | None) -> None:
        if slot is not None and self._slots is not None:
            self._slots.release_on_behalf_of(slot)

    def _settle(self, calling: Calling, slot: object | None, estimate: int) -> None:
        # Everything reserved for it: the first admission plus one estimate per retry.
        estimate = self._reserved.pop(calling, estimate)
        self._release_slot(slot)
        if slot is not None:
            self._queue_changed_now()
        self._in_flight -= 1
        self._tokens_in_flight -= estimate
        reconcile(self._tokens, estimate, calling.actual_tokens)

    # -- terminal transitions -----------------------------------------------------------

    def _finish_unstarted(self, calling: Calling) -> None:
        """Finish a Calling whose scope was cancelled: by its deadline or by a cancel."""
        if calling.timeout is not None and trio.current_time() >= calling.deadline:
            self._time_out(calling)
            return
        calling.attach(None)
        calling.cancel()
        self._published_cancel(calling)

    def _published_cancel(self, calling: Calling) -> None:
        if self._listening():
            self._publish(CallingCancelled(executor=self.name, calling_id=calling.id))

    def _time_out(self, calling: Calling) -> None:
        assert calling.timeout is not None
        calling.fail(CallingTimeoutError(calling.id, calling.timeout))
        if self._listening():
            self._publish(
                CallingTimedOut(executor=self.name, calling_id=calling.id, timeout=calling.timeout)
            )

    def _fail(self, calling: Calling, error: BaseException) -> None:
        calling.fail(error)
        if self._listening():
            self._publish(
                CallingFailed(executor=self.name, calling_id=calling.id, error=repr(error))
            )

    def _abort(self, calling: Calling, reason: str) -> None:
        calling.abort(reason)
        if self._listening():
            self._publish(CallingAborted(executor=self.name, calling_id=calling.id))

    def _listening(self) -> bool:
        # Events are built only when someone will receive them: with nobody subscribed,
        # constructing one per transition is a measurable share of a call's cost.
        broadcast = self._broadcast
        return broadcast is not None and broadcast.subscriber_count > 0

    def _publish(self, event: LifecycleEvent) -> None:
        broadcast = self._broadcast
        if broadcast is not None and not broadcast.closed:
            broadcast.publish(event)

    async def _expire_queued(self, scope: trio.CancelScope) -> None:
        """Time out queued Callings at their deadline, even while admission is blocked."""
        deadlines = self._deadlines
        with scope:
            while True:
                now = trio.current_time()
                while deadlines and deadlines[0][0] <= now:
                    _, _, calling = heapq.heappop(deadlines)
                    if self._dequeue(calling):  # not yet taken for admission
                        self._time_out(calling)
                self._deadline_changed = trio.Event()
                with trio.move_on_at(deadlines[0][0] if deadlines else math.inf):
                    await self._deadline_changed.wait()


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _limiter(limit: float | Limiter | None, period: float, unit: str) -> Limiter | None:
    if limit is None:
        return None
    if isinstance(limit, Limiter):
        return limit
    if not (_is_number(limit) and 0 < limit < math.inf):
        raise ConfigError(
            f"limit_{unit} must be a positive number per capacity_refresh_time, a Limiter "
            f"or None, got {limit!r}",
            field=f"limit_{unit}",
        )
    return TokenBucket(limit, period, unit="requests" if unit == "requests" else "tokens")
