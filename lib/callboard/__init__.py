"""callboard: a Trio-native actor runtime for calling AI model APIs and tools at scale.

Every public name is re-exported here; the layers behind it (``callboard.actors``,
``callboard.limits``, ``callboard.resilience``, ``callboard.services``,
``callboard.providers``) and the fake provider in ``callboard.testing`` can also be
imported on their own.
"""

from __future__ import annotations

from ._version import __version__ as __version__
from .actors import Actor as Actor
from .actors import ActorError as ActorError
from .actors import ActorRef as ActorRef
from .actors import ActorStopped as ActorStopped
from .actors import AskTimeout as AskTimeout
from .actors import Broadcast as Broadcast
from .actors import BroadcastClosed as BroadcastClosed
from .actors import ChildNotFound as ChildNotFound
from .actors import ChildRunning as ChildRunning
from .actors import ChildSpec as ChildSpec
from .actors import InvalidChildSpec as InvalidChildSpec
from .actors import Lagged as Lagged
from .actors import LifecycleEvent as LifecycleEvent
from .actors import MailboxFull as MailboxFull
from .actors import Restart as Restart
from .actors import Strategy as Strategy
from .actors import Supervisor as Supervisor
from .actors import SupervisorEscalation as SupervisorEscalation
from .errors import CallboardError as CallboardError
from .errors import ConfigError as ConfigError
