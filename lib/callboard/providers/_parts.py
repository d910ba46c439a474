"""The pieces a response is made of: tool calls, reasoning blocks, token log probabilities.

Each is a frozen value that keeps what the provider sent in its own words, so that an
answer can be shown, charged, inspected and sent back to the provider unchanged (a
signed thinking block must come back byte for byte, or Anthropic refuses the turn).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

import attrs

from ._partial_json import parse_partial_json

__all__ = [
    "CUT_REASONS",
    "Logprobs",
    "Thinking",
    "TokenLogprob",
    "ToolCall",
    "mark_cut",
    "mark_unfinished",
]

CUT_REASONS = frozenset({"length", "max_tokens", "max_output_tokens"})
"""Finish reasons meaning the output limit stopped the model mid-answer."""


@attrs.frozen
class ToolCall:
    """One tool (function) call the model asked for.

    ``arguments`` is the JSON text exactly as the model produced it: models do emit
    invalid JSON, and deciding what to do about that is the caller's business.

    Attributes:
        id: the call's id, which the tool result must name (OpenAI ``tool_call_id``,
            Anthropic ``tool_use_id``, Responses ``call_id``).
        name: the tool's name.
        arguments: the arguments as JSON text.
        incomplete: the output limit (``max_tokens``) or a broken stream cut the call
            off, so ``arguments`` may be unfinished JSON; do not run the tool as is.
        partial_arguments: for an incomplete call, the arguments as far as they parse
            (members whose value arrived whole; an unfinished string or number is left
            out, as the official SDKs' partial JSON parsing does), or ``None`` when not
            even that parses.

    Example:
        >>> call = ToolCall(id="call_1", name="weather", arguments='{"city": "Paris"}')
        >>> call.parsed_arguments()
        {'city': 'Paris'}
    """

    id: str
    name: str
    arguments: str = ""
    incomplete: bool = False
    partial_arguments: Mapping[str, object] | None = None

    def parsed_arguments(self) -> object:
        """``arguments`` decoded from JSON.

        Raises:
            ValueError: the arguments are not valid JSON (an incomplete call's usually
                are not: read ``partial_arguments`` instead).
        """
        try:
            return cast(object, json.loads(self.arguments or "{}"))
        except RecursionError:
            raise ValueError("the tool call's arguments are nested too deeply") from None


def _partial_object(arguments: str) -> Mapping[str, object] | None:
    if not arguments.strip():
        return {}
    try:
        value = parse_partial_json(arguments)
    except ValueError:
        return None
    return cast(Mapping[str, object], value) if isinstance(value, dict) else None


def _complete(arguments: str) -> bool:
    try:
        json.loads(arguments)
    except (ValueError, RecursionError):
        return False
    return True


def mark_cut(calls: tuple[ToolCall, ...], finish_reason: str | None) -> tuple[ToolCall, ...]:
    """``calls`` with the last one marked incomplete when the output limit stopped the
    model (it was being written when the limit struck)."""
    if not calls or finish_reason not in CUT_REASONS:
        return calls
    last = calls[-1]
    cut = attrs.evolve(last, incomplete=True, partial_arguments=_partial_object(last.arguments))
    return (*calls[:-1], cut)


def mark_unfinished(calls: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
    """``calls`` of a broken stream, each whose arguments are not whole JSON marked
    incomplete."""
    return tuple(
        call
        if _complete(call.arguments)
        else attrs.evolve(call, incomplete=True, partial_arguments=_partial_object(call.arguments))
        for call in calls
    )


@attrs.frozen
class Thinking:
    """One block of the model's reasoning, as the provider returned it.

    Anthropic returns ``thinking`` blocks (readable text plus a ``signature``) and
    ``redacted_thinking`` blocks (encrypted ``data`` only); the Responses API returns
    ``reasoning`` items (an ``id``, a readable summary and, when asked for,
    ``encrypted_content``). Send them back unchanged with the tool results: the
    response's ``turn`` does that for you.

    Attributes:
        kind: ``"thinking"``, ``"redacted_thinking"`` or ``"reasoning"``.
        text: the readable reasoning (a thinking block's text, a reasoning summary).
        signature: a thinking block's signature (opaque; required to send it back).
        data: a redacted block's ``data`` or a reasoning item's ``encrypted_content``.
        id: a reasoning item's id.
    """

    kind: str
    text: str = ""
    signature: str | None = None
    data: str | None = attrs.field(default=None, repr=False)
    id: str | None = None


@attrs.frozen
class TokenLogprob:
    """One output token's log probability, and the most likely alternatives.

    Attributes:
        token: the token's text.
        logprob: its log probability.
        bytes: its UTF-8 bytes (a token may be part of a character), when sent.
        top_logprobs: the most likely tokens at this position (``top_logprobs=k``).
    """

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top_logprobs: tuple[TokenLogprob, ...] = ()


@attrs.frozen
class Logprobs:
    """The log probabilities of a choice's tokens: its content's and its refusal's."""

    content: tuple[TokenLogprob, ...] = ()
    refusal: tuple[TokenLogprob, ...] = ()
