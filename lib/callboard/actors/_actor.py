"""Actor and ActorRef: a task that owns its state and handles messages one at a time.

An actor reads ``(message, reply_slot)`` envelopes from a bounded Trio memory channel
(its mailbox). ``tell`` sends without a slot; ``ask`` sends with a ``ReplySlot``
and parks until the actor settles it.

Crash semantics follow OTP ("let it crash"): an exception escaping ``handle`` ends the
actor's ``run`` with that exception, whether the message came through ``tell`` or
``ask``. The asker of the failing message gets the same exception raised, every other
ask still waiting in the mailbox gets ``ActorStopped``, and the actor's supervisor
decides whether to restart it. Catch errors inside ``handle`` and return them as values
when a bad request should not cost the actor its state.
"""

from __future__ import annotations

import math
from typing import Generic, TypeVar

import outcome
import trio

from callboard.errors import ConfigError

from ._errors import ActorError, ActorStopped, AskTimeout, MailboxFull
from ._reply import ReplySlot

__all__ = ["Actor", "ActorRef"]

M = TypeVar("M")

_Envelope = tuple[M, ReplySlot | None]
_BATCH = 32  # mailbox messages an actor may take between two schedule points


class Actor(Generic[M]):
    """Base class for actors: subclass it and override ``handle()``.

    Start an actor inside a nursery: ``ref = await nursery.start(actor.run)``. ``run``
    reports ready (with the actor's [`ActorRef`][callboard.ActorRef]) only after ``on_start()`` ran.
    The same actor object can be run again after it stopped (a supervisor restart does
    exactly that); its ``ref`` stays valid across runs and each run gets a fresh mailbox.

    Args:
        mailbox_size: messages the mailbox buffers before ``tell`` waits (>= 0; 0 means
            every send waits until the actor takes the message).
        name: shown in errors and ``ref.name``; the class name by default.

    Raises:
        ConfigError: ``mailbox_size`` is negative or not an int.

    Example::

        class Counter(Actor[int]):
            def __init__(self) -> None:
                super().__init__()
                self.total = 0

            async def handle(self, message: int) -> int:
                self.total += message
                return self.total

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                ref = await nursery.start(Counter().run)
                assert await ref.ask(2) == 2
                ref.stop()
    """

    def __init__(self, mailbox_size: int = 64, *, name: str | None = None) -> None:
        if (
            isinstance(mailbox_size, bool)
            or not isinstance(mailbox_size, int)  # pyright: ignore[reportUnnecessaryIsInstance]
            or mailbox_size < 0
        ):
            raise ConfigError(
                f"mailbox_size must be an int >= 0 (0 = hand over each message directly), "
                f"got {mailbox_size!r}",
                field="mailbox_size",
            )
        self._mailbox_size = mailbox_size
        self._name = name if name is not None else type(self).__name__
        self._send: trio.MemorySendChannel[_Envelope[M]] | None = None
        self._running = False
        self._finished = trio.Event()
        self._finished.set()
        self.ref: ActorRef[M] = ActorRef(self)
        """The address other tasks use to send this actor messages; valid across runs."""

    @property
    def name(self) -> str:
        return self._name

    async def handle(self, message: M) -> object:
        """Handle one message; the return value is the reply to ``ask`` (dropped for tell).

        Raising crashes the actor (see the module docs).
        """
        raise NotImplementedError(f"{type(self).__name__} must override handle()")

    async def on_start(self) -> None:
        """Runs before ``run`` reports ready; raising here fails ``nursery.start``."""

    async def on_stop(self) -> None:
        """Runs when the actor stops: graceful stop, crash or cancellation.

        On cancellation it runs shielded, so keep it short: a supervisor reports an
        actor stuck here past its shutdown timeout.
        """

    async def run(
        self, *, task_status: trio.TaskStatus[ActorRef[M]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the actor until it is stopped, crashes or is cancelled.

        Raises:
            ActorError: this actor object is already running.
            Exception: whatever ``on_start`` or ``handle`` raised (a crash).
        """
        if self._running:
            raise ActorError(
                f"actor {self._name!r} is already running; create another instance to "
                "run a second copy"
            )
        send, receive = trio.open_memory_channel[_Envelope[M]](self._mailbox_size)
        self._running = True
        self._finished = trio.Event()
        try:
            await self.on_start()
            self._send = send
            task_status.started(self.ref)
            try:
                await self._loop(receive)
            finally:
                self._send = None
                send.close()
                self._fail_pending(receive)
                with trio.CancelScope(shield=trio.current_effective_deadline() == -math.inf):
                    await self.on_stop()
        finally:
            receive.close()
            self._running = False
            self._finished.set()

    async def _loop(self, receive: trio.MemoryReceiveChannel[_Envelope[M]]) -> None:
        # Messages already in the mailbox are taken without a schedule point each (a
        # trio round per message would pace a busy actor, not its work); a checkpoint
        # every _BATCH messages keeps the actor cancellable and fair to other tasks.
        # Only an empty mailbox parks in receive().
        handle = self.handle
        taken = 0
        while True:
            if taken >= _BATCH:
                taken = 0
                await trio.lowlevel.checkpoint()
            try:
                message, reply = receive.receive_nowait()
                taken += 1
            except trio.WouldBlock:
                taken = 0
                try:
                    message, reply = await receive.receive()
                except trio.EndOfChannel:
                    return
            except trio.EndOfChannel:
                await trio.lowlevel.checkpoint()
                return
            if reply is None:
                await handle(message)
                continue
            if reply.abandoned:
                # The asker gave up before we started: skipping keeps "cancelled means it
                # did not happen" true for it.
                continue
            try:
                result = await handle(message)
            except Exception as exc:
                reply.settle(outcome.Error(exc))
                raise
            except BaseException:
                reply.settle(outcome.Error(ActorStopped(self._name)))
                raise
            reply.settle(outcome.Value(result))

    def _fail_pending(self, receive: trio.MemoryReceiveChannel[_Envelope[M]]) -> None:
        while True:
            try:
                _, reply = receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return
            if reply is not None:
                reply.settle(outcome.Error(ActorStopped(self._name)))


class ActorRef(Generic[M]):
    """The handle used to message an [`Actor`][callboard.Actor]: ``tell``, ``ask``, ``stop``."""

    __slots__ = ("_actor",)

    def __init__(self, actor: Actor[M]) -> None:
        self._actor = actor

    def __repr__(self) -> str:
        state = "alive" if self.is_alive else "stopped"
        return f"<ActorRef {self._actor.name!r} {state}>"

    @property
    def name(self) -> str:
        return self._actor.name

    @property
    def is_alive(self) -> bool:
        """True while the actor accepts messages (false once ``stop`` was called)."""
        return self._actor._send is not None  # pyright: ignore[reportPrivateUsage]

    async def tell(self, message: M) -> None:
        """Send without waiting for a reply; waits while the mailbox is full.

        Raises:
            ActorStopped: the actor is not running (the message was not sent).
        """
        send = self._actor._send  # pyright: ignore[reportPrivateUsage]
        if send is None:
            await trio.lowlevel.checkpoint()
            raise ActorStopped(self._actor.name)
        try:
            await send.send((message, None))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self._actor.name) from None

    def tell_nowait(self, message: M) -> None:
        """Send without waiting at all.

        Raises:
            MailboxFull: the mailbox has no room right now.
            ActorStopped: the actor is not running.
        """
        send = self._actor._send  # pyright: ignore[reportPrivateUsage]
        if send is None:
            raise ActorStopped(self._actor.name)
        try:
            send.send_nowait((message, None))
        except trio.WouldBlock:
            raise MailboxFull(self._actor.name, self._actor._mailbox_size) from None  # pyright: ignore[reportPrivateUsage]
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self._actor.name) from None

    async def ask(self, message: M, *, timeout: float | None = None) -> object:  # noqa: ASYNC109
        """Send ``message`` and wait for ``handle``'s return value.

        Cancelling (or timing out) an ask before the actor took the message means the
        actor skips it; once handling started, the reply is dropped silently.

        Args:
            message: the request.
            timeout: seconds to wait for mailbox room plus the reply; None waits forever.

        Raises:
            AskTimeout: no reply within ``timeout``.
            ActorStopped: the actor is not running or stopped before replying.
            ConfigError: ``timeout`` is negative or NaN.
            Exception: whatever ``handle`` raised for this message (the actor crashed).
        """
        if timeout is None:
            return await self._ask(message)
        if not timeout >= 0:
            raise ConfigError(
                f"timeout must be >= 0 seconds or None, got {timeout!r}", field="timeout"
            )
        with trio.move_on_after(timeout):
            return await self._ask(message)
        raise AskTimeout(self._actor.name, timeout)

    async def _ask(self, message: M) -> object:
        send = self._actor._send  # pyright: ignore[reportPrivateUsage]
        if send is None:
            await trio.lowlevel.checkpoint()
            raise ActorStopped(self._actor.name)
        reply = ReplySlot()
        try:
            await send.send((message, reply))
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            raise ActorStopped(self._actor.name) from None
        return await reply.wait()

    def stop(self) -> None:
        """Stop gracefully: refuse new messages, handle those already queued, then run
        ``on_stop`` and return from ``run`` normally. Idempotent.

        To stop at once instead, cancel the scope the actor runs in.
        """
        send = self._actor._send  # pyright: ignore[reportPrivateUsage]
        if send is not None:
            self._actor._send = None  # pyright: ignore[reportPrivateUsage]
            send.close()

    async def wait_stopped(self) -> None:
        """Wait until the actor's current run has ended (returns at once if not running)."""
        await self._actor._finished.wait()  # pyright: ignore[reportPrivateUsage]
