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
from .limits import Limiter as Limiter
from .limits import LimitsError as LimitsError
from .limits import OversizeRequest as OversizeRequest
from .limits import RateLimitState as RateLimitState
from .limits import RedisLimiter as RedisLimiter
from .limits import RedisLimiterDown as RedisLimiterDown
from .limits import RedisLimiterRecovered as RedisLimiterRecovered
from .limits import RedisUnavailable as RedisUnavailable
from .limits import TokenBucket as TokenBucket
from .models import InvalidModelId as InvalidModelId
from .models import Model as Model
from .models import ModelResponse as ModelResponse
from .models import ModelStreamResponse as ModelStreamResponse
from .models import ModelTypeNotOffered as ModelTypeNotOffered
from .models import SyncCallInsideTrio as SyncCallInsideTrio
from .models import UnknownModelProvider as UnknownModelProvider
from .models import UnknownModelType as UnknownModelType
from .providers import ClaudeCode as ClaudeCode
from .providers import ClaudeCodeConfig as ClaudeCodeConfig
from .providers import ClaudeCodeFailed as ClaudeCodeFailed
from .providers import MissingApiKey as MissingApiKey
from .providers import PayloadError as PayloadError
from .providers import UnknownProvider as UnknownProvider
from .providers import UnsupportedModelType as UnsupportedModelType
from .providers import match_endpoint as match_endpoint
from .resilience import AuthenticationError as AuthenticationError
from .resilience import BadRequest as BadRequest
from .resilience import CircuitBreaker as CircuitBreaker
from .resilience import CircuitOpen as CircuitOpen
from .resilience import Conflict as Conflict
from .resilience import ConnectionFailed as ConnectionFailed
from .resilience import InvalidResponse as InvalidResponse
from .resilience import NotFound as NotFound
from .resilience import Overloaded as Overloaded
from .resilience import PermissionDenied as PermissionDenied
from .resilience import ProviderError as ProviderError
from .resilience import RateLimited as RateLimited
from .resilience import RetryBudget as RetryBudget
from .resilience import RetryPolicy as RetryPolicy
from .resilience import ServerError as ServerError
from .resilience import StreamInterrupted as StreamInterrupted
from .resilience import Timeout as Timeout
from .services import Calling as Calling
from .services import CallingAbortedError as CallingAbortedError
from .services import CallingAlreadyFinished as CallingAlreadyFinished
from .services import CallingCancelledError as CallingCancelledError
from .services import CallingError as CallingError
from .services import CallingStateError as CallingStateError
from .services import CallingStatus as CallingStatus
from .services import CallingTimeoutError as CallingTimeoutError
from .services import CircuitSettings as CircuitSettings
from .services import DuplicateModel as DuplicateModel
from .services import Endpoint as Endpoint
from .services import EndpointConfig as EndpointConfig
from .services import EndpointRestarted as EndpointRestarted
from .services import Executor as Executor
from .services import GenAITelemetry as GenAITelemetry
from .services import HookAborted as HookAborted
from .services import HookPhase as HookPhase
from .services import HookRegistry as HookRegistry
from .services import InvalidEndpointConfig as InvalidEndpointConfig
from .services import InvocationError as InvocationError
from .services import ModelNotFound as ModelNotFound
from .services import NotRestorable as NotRestorable
from .services import ProviderUnavailable as ProviderUnavailable
from .services import QueueFull as QueueFull
from .services import Secret as Secret
from .services import ServiceRegistry as ServiceRegistry
from .services import ServicesError as ServicesError
from .services import StreamChannel as StreamChannel
from .services import StreamChannelError as StreamChannelError
from .services import TelemetryUnavailable as TelemetryUnavailable
from .services import Tool as Tool
from .services import ToolArgumentError as ToolArgumentError
from .services import ToolError as ToolError
from .services import iModel as iModel
