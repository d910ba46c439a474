"""callboard: a Trio-native actor runtime for calling AI model APIs and tools at scale.

This module is the public surface: every name a program needs is re-exported here and
listed in ``__all__``. The folders behind it (``callboard.actors``, ``callboard.limits``,
``callboard.executor``, ``callboard.endpoint``, ``callboard.imodel`` ... see
docs/concepts/architecture.md) stay importable on their own, and ``callboard.testing``
holds the fake provider.
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
from .actors import ChildExited as ChildExited
from .actors import ChildInfo as ChildInfo
from .actors import ChildNotFound as ChildNotFound
from .actors import ChildRestarted as ChildRestarted
from .actors import ChildRunning as ChildRunning
from .actors import ChildShutdownTimeout as ChildShutdownTimeout
from .actors import ChildSpec as ChildSpec
from .actors import ChildStarted as ChildStarted
from .actors import ChildStopped as ChildStopped
from .actors import InvalidChildSpec as InvalidChildSpec
from .actors import Lagged as Lagged
from .actors import LifecycleEvent as LifecycleEvent
from .actors import MailboxFull as MailboxFull
from .actors import Restart as Restart
from .actors import Strategy as Strategy
from .actors import Subscription as Subscription
from .actors import Supervisor as Supervisor
from .actors import SupervisorEscalated as SupervisorEscalated
from .actors import SupervisorEscalation as SupervisorEscalation
from .calling import Backend as Backend
from .calling import Calling as Calling
from .calling import CallingAborted as CallingAborted
from .calling import CallingAbortedError as CallingAbortedError
from .calling import CallingAlreadyFinished as CallingAlreadyFinished
from .calling import CallingCancelled as CallingCancelled
from .calling import CallingCancelledError as CallingCancelledError
from .calling import CallingCompleted as CallingCompleted
from .calling import CallingError as CallingError
from .calling import CallingEvent as CallingEvent
from .calling import CallingFailed as CallingFailed
from .calling import CallingQueued as CallingQueued
from .calling import CallingStarted as CallingStarted
from .calling import CallingStateError as CallingStateError
from .calling import CallingStatus as CallingStatus
from .calling import CallingTimedOut as CallingTimedOut
from .calling import CallingTimeoutError as CallingTimeoutError
from .calling import ExecutorPaused as ExecutorPaused
from .calling import QueueFull as QueueFull
from .calling import ServicesError as ServicesError
from .calling import TokenEstimator as TokenEstimator
from .calling import estimate_tokens as estimate_tokens
from .endpoint import AnthropicMessagesEndpoint as AnthropicMessagesEndpoint
from .endpoint import CallingRetrying as CallingRetrying
from .endpoint import CircuitChanged as CircuitChanged
from .endpoint import CircuitSettings as CircuitSettings
from .endpoint import ClaudeCode as ClaudeCode
from .endpoint import ClaudeCodeConfig as ClaudeCodeConfig
from .endpoint import Endpoint as Endpoint
from .endpoint import EndpointClientOpened as EndpointClientOpened
from .endpoint import EndpointConfig as EndpointConfig
from .endpoint import EndpointRestarted as EndpointRestarted
from .endpoint import GroqChatEndpoint as GroqChatEndpoint
from .endpoint import HttpTransportConfig as HttpTransportConfig
from .endpoint import InvalidEndpointConfig as InvalidEndpointConfig
from .endpoint import OpenAIChatEndpoint as OpenAIChatEndpoint
from .endpoint import ProviderEndpoint as ProviderEndpoint
from .endpoint import SdkTransportConfig as SdkTransportConfig
from .endpoint import SdkUnavailable as SdkUnavailable
from .endpoint import Secret as Secret
from .endpoint import ServiceEndpointConfig as ServiceEndpointConfig
from .endpoint import SSEEvent as SSEEvent
from .endpoint import Timeouts as Timeouts
from .endpoint import Transport as Transport
from .endpoint import TransportResponse as TransportResponse
from .endpoint import TransportSettings as TransportSettings
from .endpoint import TransportStream as TransportStream
from .endpoint import known_transports as known_transports
from .endpoint import match_endpoint as match_endpoint
from .endpoint import register_transport as register_transport
from .endpoint import unregister_transport as unregister_transport
from .errors import CallboardError as CallboardError
from .errors import ConfigError as ConfigError
from .executor import Admission as Admission
from .executor import AdmissionChanged as AdmissionChanged
from .executor import AdmissionSnapshot as AdmissionSnapshot
from .executor import CallingRequeued as CallingRequeued
from .executor import Executor as Executor
from .executor import RequestEvent as RequestEvent
from .imodel import Hook as Hook
from .imodel import HookAborted as HookAborted
from .imodel import HookFailed as HookFailed
from .imodel import HookOptions as HookOptions
from .imodel import HookPhase as HookPhase
from .imodel import HookRegistry as HookRegistry
from .imodel import InvocationError as InvocationError
from .imodel import ModelStopped as ModelStopped
from .imodel import NotRestorable as NotRestorable
from .imodel import ObserverFailed as ObserverFailed
from .imodel import ObserverLagged as ObserverLagged
from .imodel import ProviderUnavailable as ProviderUnavailable
from .imodel import StreamChannel as StreamChannel
from .imodel import StreamChannelError as StreamChannelError
from .imodel import StreamChunkReceived as StreamChunkReceived
from .imodel import iModel as iModel
from .limits import AdaptiveLimiter as AdaptiveLimiter
from .limits import AdmissionPolicy as AdmissionPolicy
from .limits import Limiter as Limiter
from .limits import LimitsError as LimitsError
from .limits import LimitSnapshot as LimitSnapshot
from .limits import OversizeRequest as OversizeRequest
from .limits import RateLimitState as RateLimitState
from .limits import RedisLimiter as RedisLimiter
from .limits import RedisLimiterDown as RedisLimiterDown
from .limits import RedisLimiterRecovered as RedisLimiterRecovered
from .limits import RedisUnavailable as RedisUnavailable
from .limits import SharedRate as SharedRate
from .limits import TokenBucket as TokenBucket
from .limits import TokenCharge as TokenCharge
from .limits import parse_anthropic_headers as parse_anthropic_headers
from .limits import parse_openai_headers as parse_openai_headers
from .models import InvalidModelId as InvalidModelId
from .models import Model as Model
from .models import ModelResponse as ModelResponse
from .models import ModelStreamResponse as ModelStreamResponse
from .models import ModelTypeNotOffered as ModelTypeNotOffered
from .models import SyncCallInsideTrio as SyncCallInsideTrio
from .models import UnknownModelProvider as UnknownModelProvider
from .models import UnknownModelType as UnknownModelType
from .providers import PRICES as PRICES
from .providers import Choice as Choice
from .providers import ClaudeCodeFailed as ClaudeCodeFailed
from .providers import Cost as Cost
from .providers import Logprobs as Logprobs
from .providers import MissingApiKey as MissingApiKey
from .providers import ModelPrice as ModelPrice
from .providers import ModelType as ModelType
from .providers import NormalizedResponse as NormalizedResponse
from .providers import PayloadError as PayloadError
from .providers import PredictionFailed as PredictionFailed
from .providers import PredictionNotFinished as PredictionNotFinished
from .providers import PriceTable as PriceTable
from .providers import ProviderRequest as ProviderRequest
from .providers import ProviderSpec as ProviderSpec
from .providers import StreamDelta as StreamDelta
from .providers import Thinking as Thinking
from .providers import ThinkingDelta as ThinkingDelta
from .providers import TokenLogprob as TokenLogprob
from .providers import ToolCall as ToolCall
from .providers import ToolCallDelta as ToolCallDelta
from .providers import UnknownProvider as UnknownProvider
from .providers import UnsupportedModelType as UnsupportedModelType
from .providers import Usage as Usage
from .providers import build_request as build_request
from .providers import get_provider as get_provider
from .providers import known_providers as known_providers
from .providers import parse_response as parse_response
from .providers import stream_decoder as stream_decoder
from .registry import CallingRouted as CallingRouted
from .registry import Deployment as Deployment
from .registry import DeploymentCooling as DeploymentCooling
from .registry import DeploymentRecovered as DeploymentRecovered
from .registry import DuplicateModel as DuplicateModel
from .registry import ModelNotFound as ModelNotFound
from .registry import Router as Router
from .registry import RouterEvent as RouterEvent
from .registry import RoutingStrategy as RoutingStrategy
from .registry import ServiceRegistry as ServiceRegistry
from .resilience import Attempt as Attempt
from .resilience import AuthenticationError as AuthenticationError
from .resilience import BadRequest as BadRequest
from .resilience import CircuitBreaker as CircuitBreaker
from .resilience import CircuitOpen as CircuitOpen
from .resilience import CircuitState as CircuitState
from .resilience import CircuitTransition as CircuitTransition
from .resilience import Conflict as Conflict
from .resilience import ConnectionFailed as ConnectionFailed
from .resilience import InvalidResponse as InvalidResponse
from .resilience import NotFound as NotFound
from .resilience import Overloaded as Overloaded
from .resilience import PermissionDenied as PermissionDenied
from .resilience import ProviderError as ProviderError
from .resilience import RateLimited as RateLimited
from .resilience import RetryBudget as RetryBudget
from .resilience import RetryConfig as RetryConfig
from .resilience import RetryPolicy as RetryPolicy
from .resilience import RetryScheduled as RetryScheduled
from .resilience import ServerError as ServerError
from .resilience import StreamInterrupted as StreamInterrupted
from .resilience import Timeout as Timeout
from .resilience import error_from_response as error_from_response
from .tools import Tool as Tool
from .tools import ToolArgumentError as ToolArgumentError
from .tools import ToolError as ToolError
from .tracing import GenAITelemetry as GenAITelemetry
from .tracing import TelemetryUnavailable as TelemetryUnavailable

__all__ = [
    "PRICES",
    "Actor",
    "ActorError",
    "ActorRef",
    "ActorStopped",
    "AdaptiveLimiter",
    "Admission",
    "AdmissionChanged",
    "AdmissionPolicy",
    "AdmissionSnapshot",
    "AnthropicMessagesEndpoint",
    "AskTimeout",
    "Attempt",
    "AuthenticationError",
    "Backend",
    "BadRequest",
    "Broadcast",
    "BroadcastClosed",
    "CallboardError",
    "Calling",
    "CallingAborted",
    "CallingAbortedError",
    "CallingAlreadyFinished",
    "CallingCancelled",
    "CallingCancelledError",
    "CallingCompleted",
    "CallingError",
    "CallingEvent",
    "CallingFailed",
    "CallingQueued",
    "CallingRequeued",
    "CallingRetrying",
    "CallingRouted",
    "CallingStarted",
    "CallingStateError",
    "CallingStatus",
    "CallingTimedOut",
    "CallingTimeoutError",
    "ChildExited",
    "ChildInfo",
    "ChildNotFound",
    "ChildRestarted",
    "ChildRunning",
    "ChildShutdownTimeout",
    "ChildSpec",
    "ChildStarted",
    "ChildStopped",
    "Choice",
    "CircuitBreaker",
    "CircuitChanged",
    "CircuitOpen",
    "CircuitSettings",
    "CircuitState",
    "CircuitTransition",
    "ClaudeCode",
    "ClaudeCodeConfig",
    "ClaudeCodeFailed",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "Cost",
    "Deployment",
    "DeploymentCooling",
    "DeploymentRecovered",
    "DuplicateModel",
    "Endpoint",
    "EndpointClientOpened",
    "EndpointConfig",
    "EndpointRestarted",
    "Executor",
    "ExecutorPaused",
    "GenAITelemetry",
    "GroqChatEndpoint",
    "Hook",
    "HookAborted",
    "HookFailed",
    "HookOptions",
    "HookPhase",
    "HookRegistry",
    "HttpTransportConfig",
    "InvalidChildSpec",
    "InvalidEndpointConfig",
    "InvalidModelId",
    "InvalidResponse",
    "InvocationError",
    "Lagged",
    "LifecycleEvent",
    "LimitSnapshot",
    "Limiter",
    "LimitsError",
    "Logprobs",
    "MailboxFull",
    "MissingApiKey",
    "Model",
    "ModelNotFound",
    "ModelPrice",
    "ModelResponse",
    "ModelStopped",
    "ModelStreamResponse",
    "ModelType",
    "ModelTypeNotOffered",
    "NormalizedResponse",
    "NotFound",
    "NotRestorable",
    "ObserverFailed",
    "ObserverLagged",
    "OpenAIChatEndpoint",
    "Overloaded",
    "OversizeRequest",
    "PayloadError",
    "PermissionDenied",
    "PredictionFailed",
    "PredictionNotFinished",
    "PriceTable",
    "ProviderEndpoint",
    "ProviderError",
    "ProviderRequest",
    "ProviderSpec",
    "ProviderUnavailable",
    "QueueFull",
    "RateLimitState",
    "RateLimited",
    "RedisLimiter",
    "RedisLimiterDown",
    "RedisLimiterRecovered",
    "RedisUnavailable",
    "RequestEvent",
    "Restart",
    "RetryBudget",
    "RetryConfig",
    "RetryPolicy",
    "RetryScheduled",
    "Router",
    "RouterEvent",
    "RoutingStrategy",
    "SSEEvent",
    "SdkTransportConfig",
    "SdkUnavailable",
    "Secret",
    "ServerError",
    "ServiceEndpointConfig",
    "ServiceRegistry",
    "ServicesError",
    "SharedRate",
    "Strategy",
    "StreamChannel",
    "StreamChannelError",
    "StreamChunkReceived",
    "StreamDelta",
    "StreamInterrupted",
    "Subscription",
    "Supervisor",
    "SupervisorEscalated",
    "SupervisorEscalation",
    "SyncCallInsideTrio",
    "TelemetryUnavailable",
    "Thinking",
    "ThinkingDelta",
    "Timeout",
    "Timeouts",
    "TokenBucket",
    "TokenCharge",
    "TokenEstimator",
    "TokenLogprob",
    "Tool",
    "ToolArgumentError",
    "ToolCall",
    "ToolCallDelta",
    "ToolError",
    "Transport",
    "TransportResponse",
    "TransportSettings",
    "TransportStream",
    "UnknownModelProvider",
    "UnknownModelType",
    "UnknownProvider",
    "UnsupportedModelType",
    "Usage",
    "__version__",
    "build_request",
    "error_from_response",
    "estimate_tokens",
    "get_provider",
    "iModel",
    "known_providers",
    "known_transports",
    "match_endpoint",
    "parse_anthropic_headers",
    "parse_openai_headers",
    "parse_response",
    "register_transport",
    "stream_decoder",
    "unregister_transport",
]
