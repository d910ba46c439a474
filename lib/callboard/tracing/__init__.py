"""OpenTelemetry: a hook actor that turns lifecycle events into GenAI spans and metrics."""

from __future__ import annotations

from ._otel import GenAITelemetry as GenAITelemetry
from ._otel import TelemetryUnavailable as TelemetryUnavailable

__all__ = [
    "GenAITelemetry",
    "TelemetryUnavailable",
]
