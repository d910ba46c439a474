"""A fake AI provider for tests: a real HTTP server on loopback.

``FakeProvider`` speaks OpenAI's (chat completions and the Responses API) and
Anthropic's wire formats (JSON, SSE streams, error bodies, rate-limit headers), enforces
per-key rate limits the ways the real services document (``Enforcement``:
quantized windows, token charging, foreign traffic on the key, headers on or off),
injects faults on demand and records every request, so client code is tested over a real
socket instead of mocks. Each documented shape (tool calls, refusals, signed thinking,
cache usage, reasoning tokens, ``n`` choices, log probabilities) is asked for with the
request fields the real APIs use. See ``docs/testing.md``.
"""

from __future__ import annotations

from ._answer import FLAG_WORD as FLAG_WORD
from ._content import estimate_tokens as estimate_tokens
from ._enforcement import Enforcement as Enforcement
from ._faults import Fault as Fault
from ._faults import FaultKind as FaultKind
from ._faults import Latency as Latency
from ._faults import RouteFaults as RouteFaults
from ._openai_chat import DEFAULT_MAX_TOKENS as DEFAULT_MAX_TOKENS
from ._provider import DEFAULT_EPOCH as DEFAULT_EPOCH
from ._provider import FakeProvider as FakeProvider
from ._recording import FakeProviderStats as FakeProviderStats
from ._recording import RecordedRequest as RecordedRequest
from ._routes import DEFAULT_MODELS as DEFAULT_MODELS
from ._thinking import REDACTED_THINKING_TRIGGER as REDACTED_THINKING_TRIGGER
from ._thinking import REFUSAL_TRIGGER as REFUSAL_TRIGGER

__all__ = [
    "DEFAULT_EPOCH",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODELS",
    "FLAG_WORD",
    "REDACTED_THINKING_TRIGGER",
    "REFUSAL_TRIGGER",
    "Enforcement",
    "FakeProvider",
    "FakeProviderStats",
    "Fault",
    "FaultKind",
    "Latency",
    "RecordedRequest",
    "RouteFaults",
    "estimate_tokens",
]
