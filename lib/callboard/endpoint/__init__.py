"""The Endpoint actor: one service endpoint behind an HTTP client (or an SDK, or a CLI),
its validated EndpointConfig, the transports, Secret, and match_endpoint()."""

from __future__ import annotations

from ._claude_code import ClaudeCode as ClaudeCode
from ._claude_code import ClaudeCodeConfig as ClaudeCodeConfig
from ._config import AuthName as AuthName
from ._config import CircuitSettings as CircuitSettings
from ._config import EndpointConfig as EndpointConfig
from ._endpoint import Endpoint as Endpoint
from ._errors import EndpointRestarted as EndpointRestarted
from ._errors import InvalidEndpointConfig as InvalidEndpointConfig
from ._events import CallingRetrying as CallingRetrying
from ._events import CircuitChanged as CircuitChanged
from ._events import EndpointClientOpened as EndpointClientOpened
from ._match import match_endpoint as match_endpoint
from ._secret import Secret as Secret
from ._transport import SSEEvent as SSEEvent
from ._transport import Timeouts as Timeouts
from ._transport import Transport as Transport
from ._transport import TransportOpener as TransportOpener
from ._transport import TransportResponse as TransportResponse
from ._transport import TransportSettings as TransportSettings
from ._transport import TransportStream as TransportStream
from ._transport import known_transports as known_transports
from ._transport import open_transport as open_transport
from ._transport import register_transport as register_transport
from ._transport import unregister_transport as unregister_transport
from ._transport_sdk import SdkUnavailable as SdkUnavailable

__all__ = [
    "AuthName",
    "CallingRetrying",
    "CircuitChanged",
    "CircuitSettings",
    "ClaudeCode",
    "ClaudeCodeConfig",
    "Endpoint",
    "EndpointClientOpened",
    "EndpointConfig",
    "EndpointRestarted",
    "InvalidEndpointConfig",
    "SSEEvent",
    "SdkUnavailable",
    "Secret",
    "Timeouts",
    "Transport",
    "TransportOpener",
    "TransportResponse",
    "TransportSettings",
    "TransportStream",
    "known_transports",
    "match_endpoint",
    "open_transport",
    "register_transport",
    "unregister_transport",
]
