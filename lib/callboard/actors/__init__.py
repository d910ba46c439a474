"""callboard.actors: the generic actor runtime (knows nothing about models or HTTP).

- ``Actor`` / ``ActorRef``: a task with a bounded mailbox; ``tell`` and ``ask``.
- ``Supervisor``: OTP supervision (strategies, restart types, intensity, escalation).
- ``Broadcast``: the lossy lifecycle event bus; ``LifecycleEvent`` is the base
  of every event published on it.
"""

from __future__ import annotations

from ._actor import Actor as Actor
from ._actor import ActorRef as ActorRef
from ._broadcast import Broadcast as Broadcast
from ._broadcast import Subscription as Subscription
from ._child_spec import ChildInfo as ChildInfo
from ._child_spec import ChildSpec as ChildSpec
from ._child_spec import Restart as Restart
from ._child_spec import Strategy as Strategy
from ._errors import ActorError as ActorError
from ._errors import ActorStopped as ActorStopped
from ._errors import AskTimeout as AskTimeout
from ._errors import BroadcastClosed as BroadcastClosed
from ._errors import ChildNotFound as ChildNotFound
from ._errors import ChildRunning as ChildRunning
from ._errors import InvalidChildSpec as InvalidChildSpec
from ._errors import Lagged as Lagged
from ._errors import MailboxFull as MailboxFull
from ._errors import SupervisorEscalation as SupervisorEscalation
from ._events import ChildExited as ChildExited
from ._events import ChildRestarted as ChildRestarted
from ._events import ChildShutdownTimeout as ChildShutdownTimeout
from ._events import ChildStarted as ChildStarted
from ._events import ChildStopped as ChildStopped
from ._events import LifecycleEvent as LifecycleEvent
from ._events import SupervisorEscalated as SupervisorEscalated
from ._supervisor import Supervisor as Supervisor

__all__ = [
    "Actor",
    "ActorError",
    "ActorRef",
    "ActorStopped",
    "AskTimeout",
    "Broadcast",
    "BroadcastClosed",
    "ChildExited",
    "ChildInfo",
    "ChildNotFound",
    "ChildRestarted",
    "ChildRunning",
    "ChildShutdownTimeout",
    "ChildSpec",
    "ChildStarted",
    "ChildStopped",
    "InvalidChildSpec",
    "Lagged",
    "LifecycleEvent",
    "MailboxFull",
    "Restart",
    "Strategy",
    "Subscription",
    "Supervisor",
    "SupervisorEscalated",
    "SupervisorEscalation",
]
