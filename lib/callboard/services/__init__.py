"""The services layer: the Calling message and the Executor actor that admits it.

- :class:`Calling`: one call's request, progress and outcome; await ``calling.wait()``.
- :class:`Executor`: FIFO admission under request/token/concurrency limits, then
  dispatch to a :class:`Backend`; publishes a lifecycle event for every transition.
"""

from __future__ import annotations

from ._backend import Backend as Backend
from ._calling import Calling as Calling
from ._calling import CallingOwner as CallingOwner
from ._calling import CallingStatus as CallingStatus
from ._endpoint import Endpoint as Endpoint
from ._endpoint_config import CircuitSettings as CircuitSettings
from ._endpoint_config import EndpointConfig as EndpointConfig
from ._endpoint_errors import EndpointRestarted as EndpointRestarted
from ._endpoint_errors import InvalidEndpointConfig as InvalidEndpointConfig
from ._endpoint_events import CallingRetrying as CallingRetrying
from ._endpoint_events import CircuitChanged as CircuitChanged
from ._endpoint_events import EndpointClientOpened as EndpointClientOpened
from ._errors import CallingAbortedError as CallingAbortedError
from ._errors import CallingAlreadyFinished as CallingAlreadyFinished
from ._errors import CallingCancelledError as CallingCancelledError
from ._errors import CallingError as CallingError
from ._errors import CallingStateError as CallingStateError
from ._errors import CallingTimeoutError as CallingTimeoutError
from ._errors import QueueFull as QueueFull
from ._errors import ServicesError as ServicesError
from ._estimate import TokenEstimator as TokenEstimator
from ._estimate import estimate_tokens as estimate_tokens
from ._events import CallingAborted as CallingAborted
from ._events import CallingCancelled as CallingCancelled
from ._events import CallingCompleted as CallingCompleted
from ._events import CallingEvent as CallingEvent
from ._events import CallingFailed as CallingFailed
from ._events import CallingQueued as CallingQueued
from ._events import CallingStarted as CallingStarted
from ._events import CallingTimedOut as CallingTimedOut
from ._events import ExecutorPaused as ExecutorPaused
from ._executor import Executor as Executor
from ._hook_actor import HookActor as HookActor
from ._hooks import Hook as Hook
from ._hooks import HookFailed as HookFailed
from ._hooks import HookOptions as HookOptions
from ._hooks import HookPhase as HookPhase
from ._hooks import HookRegistry as HookRegistry
from ._hooks import ObserverFailed as ObserverFailed
from ._hooks import ObserverLagged as ObserverLagged
from ._hooks import StreamChunkReceived as StreamChunkReceived
from ._imodel import iModel as iModel
from ._model_errors import DuplicateModel as DuplicateModel
from ._model_errors import HookAborted as HookAborted
from ._model_errors import InvocationError as InvocationError
from ._model_errors import ModelNotFound as ModelNotFound
from ._model_errors import NotRestorable as NotRestorable
from ._model_errors import ProviderUnavailable as ProviderUnavailable
from ._model_errors import StreamChannelError as StreamChannelError
from ._model_errors import ToolArgumentError as ToolArgumentError
from ._model_errors import ToolError as ToolError
from ._normalized import NormalizedResponse as NormalizedResponse
from ._normalized import StreamDelta as StreamDelta
from ._normalized import Usage as Usage
from ._otel import GenAITelemetry as GenAITelemetry
from ._otel import TelemetryUnavailable as TelemetryUnavailable
from ._registry import ServiceRegistry as ServiceRegistry
from ._secret import Secret as Secret
from ._serialize import ModelConfig as ModelConfig
from ._serialize import converter as converter
from ._stream import StreamChannel as StreamChannel
from ._tool import Tool as Tool
from ._transport import SSEEvent as SSEEvent
from ._transport import Transport as Transport
from ._transport import TransportResponse as TransportResponse
from ._transport import TransportSettings as TransportSettings
from ._transport import TransportStream as TransportStream
from ._transport import known_transports as known_transports
from ._transport import open_transport as open_transport
from ._transport import register_transport as register_transport
from ._transport import unregister_transport as unregister_transport

__all__ = [
    "Backend",
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
    "CallingOwner",
    "CallingQueued",
    "CallingRetrying",
    "CallingStarted",
    "CallingStateError",
    "CallingStatus",
    "CallingTimedOut",
    "CallingTimeoutError",
    "CircuitChanged",
    "CircuitSettings",
    "DuplicateModel",
    "Endpoint",
    "EndpointClientOpened",
    "EndpointConfig",
    "EndpointRestarted",
    "Executor",
    "ExecutorPaused",
    "GenAITelemetry",
    "Hook",
    "HookAborted",
    "HookActor",
    "HookFailed",
    "HookOptions",
    "HookPhase",
    "HookRegistry",
    "InvalidEndpointConfig",
    "InvocationError",
    "ModelConfig",
    "ModelNotFound",
    "NormalizedResponse",
    "NotRestorable",
    "ObserverFailed",
    "ObserverLagged",
    "ProviderUnavailable",
    "QueueFull",
    "SSEEvent",
    "Secret",
    "ServiceRegistry",
    "ServicesError",
    "StreamChannel",
    "StreamChannelError",
    "StreamChunkReceived",
    "StreamDelta",
    "TelemetryUnavailable",
    "TokenEstimator",
    "Tool",
    "ToolArgumentError",
    "ToolError",
    "Transport",
    "TransportResponse",
    "TransportSettings",
    "TransportStream",
    "Usage",
    "converter",
    "estimate_tokens",
    "iModel",
    "known_transports",
    "open_transport",
    "register_transport",
    "unregister_transport",
]
