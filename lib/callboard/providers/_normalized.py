"""The one shape every provider's answer is turned into.

Providers disagree on where the text lives, how tool calls are spelled and what the token
counts are called. The Endpoint, the Executor (which reconciles reserved tokens with
``Usage``) and every hook see only these value types, so none of them has to know which
provider answered.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

__all__ = ["NormalizedResponse", "StreamDelta", "ToolCall", "ToolCallDelta", "Usage"]


def _non_negative(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen
class Usage:
    """Token counts one call consumed, as the provider reported them.

    ``prompt_tokens`` counts every input token, cached or not (Anthropic reports cache
    reads and writes apart from ``input_tokens``; they are added back here), so the
    Executor can reconcile a reservation with one number. ``cached_tokens`` is the part of
    the prompt served from the provider's cache.

    Example:
        >>> Usage(prompt_tokens=12, completion_tokens=5).total_tokens
        17
    """

    prompt_tokens: int = attrs.field(default=0, validator=_non_negative)
    completion_tokens: int = attrs.field(default=0, validator=_non_negative)
    cached_tokens: int = attrs.field(default=0, validator=_non_negative)
    total_tokens: int = attrs.field(
        default=attrs.Factory(lambda usage: _sum(usage), takes_self=True),
        validator=_non_negative,
    )


def _sum(usage: Usage) -> int:
    return usage.prompt_tokens + usage.completion_tokens


@attrs.frozen
class ToolCall:
    """One complete tool (function) call the model asked for.

    ``arguments`` is the JSON text exactly as the model produced it: models do emit
    invalid JSON, and deciding what to do about that is the caller's business.
    """

    id: str
    name: str
    arguments: str = ""


@attrs.frozen
class ToolCallDelta:
    """A piece of a tool call as it streams in.

    ``index`` identifies the call within the response; ``id`` and ``name`` arrive with the
    first piece, ``arguments`` is a fragment of JSON text to append.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@attrs.frozen
class StreamDelta:
    """One step of a streamed response.

    Exactly the fields that changed are set: ``text`` for a text fragment, ``tool_call``
    for a tool-call fragment, ``usage`` when the provider reports (cumulative) usage,
    ``finish_reason`` when the model stopped.
    """

    text: str = ""
    tool_call: ToolCallDelta | None = None
    usage: Usage | None = None
    finish_reason: str | None = None


@attrs.frozen
class NormalizedResponse:
    """A provider's answer in callboard's one shape.

    Attributes:
        text: the generated text ("" when the model type produces none, e.g. embeddings).
        tool_calls: the tool calls the model asked for, in order.
        usage: token counts, or ``None`` when the provider reported none.
        finish_reason: why generation stopped, in the provider's own words
            (``"stop"``, ``"end_turn"``, ``"tool_calls"``, ...), or ``None``.
        provider: the provider spec's name.
        model: the model that answered, as the provider named it.
        status_code: the HTTP status of the response.
        rate_limit: the provider's rate-limit headers (lower-cased names, raw values),
            or ``None`` when it sent none.
        raw: the decoded JSON body, or the bytes of a binary body (text to speech).
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None
    finish_reason: str | None = None
    provider: str | None = None
    model: str | None = None
    status_code: int | None = None
    rate_limit: Mapping[str, str] | None = None
    raw: object = attrs.field(default=None, repr=False)
