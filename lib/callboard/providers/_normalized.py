"""The one shape every provider's answer is turned into.

Providers disagree on where the text lives, how tool calls are spelled and what the token
counts are called. The Endpoint, the Executor (which reconciles reserved tokens with
``Usage``) and every hook see only these value types, so none of them has to know which
provider answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._parts import Logprobs, Thinking, ToolCall
from ._price_list import PRICES
from ._pricing import Cost

__all__ = ["Choice", "NormalizedResponse", "Usage"]


def _non_negative(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must be >= 0, got {value}")


@attrs.frozen
class Usage:
    """Token counts one call consumed, as the provider reported them.

    ``prompt_tokens`` counts every input token, cached or not (Anthropic reports cache
    reads and writes apart from ``input_tokens``; they are added back here), so the
    Executor can reconcile a reservation with one number. The cache's share is kept
    apart, because it is priced apart: ``cached_tokens`` were read from the provider's
    prompt cache, ``cache_write_tokens`` were written to it. ``reasoning_tokens`` is the
    part of ``completion_tokens`` the model spent reasoning (billed as output, never
    shown).

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
    cache_write_tokens: int = attrs.field(default=0, validator=_non_negative)
    reasoning_tokens: int = attrs.field(default=0, validator=_non_negative)


def _sum(usage: Usage) -> int:
    return usage.prompt_tokens + usage.completion_tokens


@attrs.frozen
class Choice:
    """One of the alternative answers a request with ``n`` > 1 asked for.

    Attributes:
        index: its position (the provider's ``index``).
        text: its text.
        tool_calls: its tool calls.
        refusal: the model's refusal message, when it refused (then ``text`` is
            usually empty).
        finish_reason: why it stopped, in the provider's words.
        logprobs: its tokens' log probabilities, when the request asked for them.
    """

    index: int = 0
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    finish_reason: str | None = None
    logprobs: Logprobs | None = None


@attrs.frozen
class NormalizedResponse:
    """A provider's answer in callboard's one shape.

    The answer's own fields (``text``, ``tool_calls``, ``refusal``, ``finish_reason``,
    ``logprobs``) are those of its first choice; ``choices`` holds every choice when the
    request asked for several.

    Attributes:
        text: the generated text ("" when the model type produces none, e.g. embeddings).
        tool_calls: the tool calls the model asked for, in order.
        usage: token counts, or ``None`` when the provider reported none.
        finish_reason: why generation stopped, in the provider's own words
            (``"stop"``, ``"end_turn"``, ``"tool_calls"``, ``"refusal"``, ...), or
            ``None``.
        provider: the provider spec's name.
        model: the model that answered, as the provider named it.
        status_code: the HTTP status of the response.
        rate_limit: the provider's rate-limit headers (lower-cased names, raw values),
            or ``None`` when it sent none.
        raw: the decoded JSON body, or the bytes of a binary body (text to speech);
            also readable as ``data``.
        id: the provider's id of the response (``chatcmpl-...``, ``msg_...``,
            ``resp_...``: the Responses API's ``previous_response_id``).
        refusal: the model's refusal message when it declined to answer (OpenAI's
            ``refusal``; Anthropic's ``stop_reason: "refusal"`` gives its explanation,
            or ``""``), else ``None``.
        thinking: the model's reasoning blocks (Anthropic thinking and redacted
            thinking with their signatures, Responses reasoning items), in order.
        logprobs: the tokens' log probabilities, when the request asked for them.
        choices: every choice, in order (one for a single answer; none for model
            types without choices, such as embeddings).
        turn: the model's turn as the provider wants it back in the next request,
            thinking blocks and signatures included: append it to ``messages`` (to
            ``input`` for the Responses API), then the tool results.
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
    id: str | None = None
    refusal: str | None = None
    thinking: tuple[Thinking, ...] = ()
    logprobs: Logprobs | None = attrs.field(default=None, repr=False)
    choices: tuple[Choice, ...] = attrs.field(default=(), repr=False)
    turn: tuple[Mapping[str, object], ...] = attrs.field(default=(), repr=False)

    @property
    def cost(self) -> Cost | None:
        """What this answer cost at the list price of ``model`` in ``callboard.PRICES``
        (``None`` when the model has no price there or no usage was reported)."""
        return PRICES.cost(self.model, self.usage)

    @property
    def data(self) -> Any:
        """The decoded body as the provider sent it (the same object as ``raw``).

        The lionpride spelling: ``calling.response.data["choices"][0]["message"]``
        reads an OpenAI body; ``text`` is the answer whatever the provider.
        """
        return self.raw
