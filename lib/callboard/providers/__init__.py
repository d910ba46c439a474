"""Providers as data: one spec per provider, plus the two wire dialects that read them.

``get_provider(name)`` returns a ``ProviderSpec``; ``build_request`` turns a payload
into a ``ProviderRequest``; ``parse_response`` and ``stream_decoder`` turn the answer
into a [`NormalizedResponse`][callboard.NormalizedResponse]. Nothing here opens a socket.
"""

from __future__ import annotations

from ._anthropic_stream import AnthropicStreamDecoder as AnthropicStreamDecoder
from ._catalog import PROVIDERS as PROVIDERS
from ._catalog import get_provider as get_provider
from ._catalog import known_providers as known_providers
from ._claude_code_decoder import ClaudeCodeFailed as ClaudeCodeFailed
from ._credential import Credential as Credential
from ._delta import StreamDelta as StreamDelta
from ._delta import ThinkingDelta as ThinkingDelta
from ._delta import ToolCallDelta as ToolCallDelta
from ._endpoint_name import endpoint_model_type as endpoint_model_type
from ._errors import MissingApiKey as MissingApiKey
from ._errors import PayloadError as PayloadError
from ._errors import UnknownProvider as UnknownProvider
from ._errors import UnsupportedModelType as UnsupportedModelType
from ._normalized import Choice as Choice
from ._normalized import NormalizedResponse as NormalizedResponse
from ._normalized import Usage as Usage
from ._openai_stream import OpenAIStreamDecoder as OpenAIStreamDecoder
from ._partial_json import parse_partial_json as parse_partial_json
from ._parts import Logprobs as Logprobs
from ._parts import Thinking as Thinking
from ._parts import TokenLogprob as TokenLogprob
from ._parts import ToolCall as ToolCall
from ._price_list import PRICES as PRICES
from ._pricing import Cost as Cost
from ._pricing import ModelPrice as ModelPrice
from ._pricing import PriceTable as PriceTable
from ._replicate import PredictionFailed as PredictionFailed
from ._replicate import PredictionNotFinished as PredictionNotFinished
from ._request import ProviderRequest as ProviderRequest
from ._request import build_request as build_request
from ._request import parse_response as parse_response
from ._request import rate_limit_state as rate_limit_state
from ._request import stream_decoder as stream_decoder
from ._responses_stream import ResponsesStreamDecoder as ResponsesStreamDecoder
from ._spec import AuthStyle as AuthStyle
from ._spec import Dialect as Dialect
from ._spec import ModelType as ModelType
from ._spec import ProviderSpec as ProviderSpec
from ._spec import RateLimitDialect as RateLimitDialect
from ._stream import StreamDecoder as StreamDecoder

__all__ = [
    "PRICES",
    "PROVIDERS",
    "AnthropicStreamDecoder",
    "AuthStyle",
    "Choice",
    "ClaudeCodeFailed",
    "Cost",
    "Credential",
    "Dialect",
    "Logprobs",
    "MissingApiKey",
    "ModelPrice",
    "ModelType",
    "NormalizedResponse",
    "OpenAIStreamDecoder",
    "PayloadError",
    "PredictionFailed",
    "PredictionNotFinished",
    "PriceTable",
    "ProviderRequest",
    "ProviderSpec",
    "RateLimitDialect",
    "ResponsesStreamDecoder",
    "StreamDecoder",
    "StreamDelta",
    "Thinking",
    "ThinkingDelta",
    "TokenLogprob",
    "ToolCall",
    "ToolCallDelta",
    "UnknownProvider",
    "UnsupportedModelType",
    "Usage",
    "build_request",
    "endpoint_model_type",
    "get_provider",
    "known_providers",
    "parse_partial_json",
    "parse_response",
    "rate_limit_state",
    "stream_decoder",
]
