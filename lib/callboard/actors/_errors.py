"""Errors raised by the actor layer.

Every error here derives from [`ActorError`][callboard.ActorError], itself a
[`CallboardError`][callboard.CallboardError], so callers can catch the whole layer at once or
one precise condition.
"""

from __future__ import annotations

from callboard.errors import CallboardError, ConfigError

__all__ = [
    "ActorError",
    "ActorStopped",
    "AskTimeout",
    "BroadcastClosed",
    "ChildNotFound",
    "ChildRunning",
    "InvalidChildSpec",
    "Lagged",
    "MailboxFull",
    "SupervisorEscalation",
]


class ActorError(CallboardError):
    """Base class of every error raised by ``callboard.actors``."""


class MailboxFull(ActorError):
    """``tell_nowait`` found the actor's mailbox full.

    Use ``await ref.tell(...)`` to wait for room instead, or give the actor a larger
    ``mailbox_size``.
    """

    def __init__(self, name: str, capacity: int) -> None:
        super().__init__(
            f"mailbox of actor {name!r} is full ({capacity} messages); "
            "await tell() to wait for room or raise mailbox_size"
        )
        self.name = name
        self.capacity = capacity


class ActorStopped(ActorError):
    """The actor is not running, so the message was not (and will not be) handled."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"actor {name!r} is not running; start it with nursery.start(actor.run) "
            "or wait for its supervisor to restart it"
        )
        self.name = name


class AskTimeout(ActorError, TimeoutError):
    """``ask`` got no reply within its ``timeout``.

    The message may still be handled later; its reply is then dropped.
    """

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(
            f"actor {name!r} did not reply within {timeout} s; raise the ask timeout "
            "or check that the actor is not blocked"
        )
        self.name = name
        self.timeout = timeout


class Lagged(ActorError):
    """A subscriber fell behind and lost its ``missed`` oldest events.

    Catch it and keep iterating: the next event is the oldest one still retained.
    """

    def __init__(self, missed: int) -> None:
        super().__init__(
            f"subscriber lagged and missed {missed} event(s); read faster or subscribe "
            "with a larger buffer_size"
        )
        self.missed = missed


class BroadcastClosed(ActorError):
    """The broadcast was closed: nothing more can be published or subscribed."""

    def __init__(self) -> None:
        super().__init__("broadcast is closed; create a new Broadcast to publish again")


class SupervisorEscalation(ActorError):
    """A supervisor exceeded its restart intensity, stopped its children and gave up.

    Raised from ``Supervisor.run`` so its own parent (a supervisor or the user's nursery)
    decides what happens next.
    """

    def __init__(self, name: str, restarts: int, max_restarts: int, max_seconds: float) -> None:
        super().__init__(
            f"supervisor {name!r} gave up: {restarts} restarts within {max_seconds} s "
            f"exceeds max_restarts={max_restarts}; fix the crashing child or raise "
            "max_restarts / lower max_seconds"
        )
        self.name = name
        self.restarts = restarts
        self.max_restarts = max_restarts
        self.max_seconds = max_seconds


class InvalidChildSpec(ActorError, ConfigError):
    """A child spec is invalid (empty or duplicate id, non-callable start, bad timeout)."""


class ChildNotFound(ActorError, LookupError):
    """No child with this id is known to the supervisor."""

    def __init__(self, supervisor: str, child_id: str) -> None:
        super().__init__(
            f"supervisor {supervisor!r} has no child {child_id!r}; "
            "see which_children() for the known ids"
        )
        self.supervisor = supervisor
        self.child_id = child_id


class ChildRunning(ActorError):
    """The operation needs a stopped child, but this one is running (``stopping``: it was
    told to stop and its task has not ended yet)."""

    def __init__(
        self, supervisor: str, child_id: str, operation: str, *, stopping: bool = False
    ) -> None:
        if stopping:
            why = (
                "is still stopping: its last run outlived its shutdown timeout and has not "
                "ended; try again once it has (see which_children())"
            )
        else:
            why = "is running; call terminate_child() first"
        super().__init__(f"{operation}: child {child_id!r} of supervisor {supervisor!r} {why}")
        self.supervisor = supervisor
        self.child_id = child_id
        self.stopping = stopping
