"""The public list prices callboard ships, dated, and the process-wide table that holds them.

Standard (not batch, not priority) prices in US dollars per million tokens, for the
OpenAI and Anthropic models the fake provider serves, as the providers' pricing pages
listed them in June 2026:

- OpenAI: https://platform.openai.com/docs/pricing ("cached input" is ``cache_read``;
  OpenAI charges nothing extra to write its cache).
- Anthropic: https://docs.anthropic.com/en/docs/about-claude/pricing ("cache hits" are
  ``cache_read``; ``cache_write`` is the 5-minute cache write, 1.25x input. A 1-hour
  cache write costs 2x input, and Sonnet 4 / 4.5 prompts over 200K tokens cost more:
  register your own price if you use them).

Models billed per image, per minute of audio or per search are not here, nor are models
whose list price was not published when this list was made (claude-opus-5,
claude-sonnet-5): their ``cost`` is ``None`` until a program registers a price. Prices
change; check the pages above before relying on a figure for a bill.
"""

from __future__ import annotations

from datetime import date

from ._pricing import ModelPrice, PriceTable

__all__ = ["AS_OF", "LIST_PRICES", "PRICES", "SOURCE"]

AS_OF = date(2026, 6, 30)
"""When the prices below were read off the providers' pricing pages."""

SOURCE = (
    "list prices from https://platform.openai.com/docs/pricing and "
    "https://docs.anthropic.com/en/docs/about-claude/pricing (standard tier)"
)


def _openai(input: float, cached: float, output: float) -> ModelPrice:
    return ModelPrice(input=input, output=output, cache_read=cached, cache_write=input)


def _anthropic(input: float, output: float) -> ModelPrice:
    # Anthropic prices cache hits at a tenth of the input rate, 5-minute writes at 1.25x.
    return ModelPrice(input=input, output=output, cache_read=input / 10, cache_write=input * 1.25)


_OPUS_4 = _anthropic(15.0, 75.0)
_OPUS_45 = _anthropic(5.0, 25.0)
_SONNET = _anthropic(3.0, 15.0)

LIST_PRICES: dict[str, ModelPrice] = {
    # OpenAI chat: input, cached input, output
    "gpt-4o": _openai(2.50, 1.25, 10.00),
    "gpt-4o-mini": _openai(0.15, 0.075, 0.60),
    "gpt-4.1": _openai(2.00, 0.50, 8.00),
    "gpt-4.1-mini": _openai(0.40, 0.10, 1.60),
    "gpt-4.1-nano": _openai(0.10, 0.025, 0.40),
    "gpt-5": _openai(1.25, 0.125, 10.00),
    "gpt-5-mini": _openai(0.25, 0.025, 2.00),
    "o3": _openai(2.00, 0.50, 8.00),
    "o4-mini": _openai(1.10, 0.275, 4.40),
    # OpenAI embeddings (input only) and moderation (free)
    "text-embedding-3-small": ModelPrice(input=0.02, output=0.0),
    "text-embedding-3-large": ModelPrice(input=0.13, output=0.0),
    "text-embedding-ada-002": ModelPrice(input=0.10, output=0.0),
    "omni-moderation-latest": ModelPrice(input=0.0, output=0.0),
    "text-moderation-latest": ModelPrice(input=0.0, output=0.0),
    # Anthropic: input, output (cache reads 0.1x, 5-minute cache writes 1.25x input)
    "claude-opus-4-7": _OPUS_45,
    "claude-opus-4-6": _OPUS_45,
    "claude-opus-4-5": _OPUS_45,
    "claude-opus-4-1": _OPUS_4,
    "claude-opus-4-0": _OPUS_4,
    "claude-opus-4": _OPUS_4,
    "claude-sonnet-4-6": _SONNET,
    "claude-sonnet-4-5": _SONNET,
    "claude-sonnet-4-0": _SONNET,
    "claude-sonnet-4": _SONNET,
    "claude-3-7-sonnet": _SONNET,
    "claude-haiku-4-5": _anthropic(1.0, 5.0),
    "claude-3-5-haiku": _anthropic(0.80, 4.0),
}
"""Model name -> list price (names as the API takes them; dated names match too)."""

PRICES: PriceTable = PriceTable(LIST_PRICES, as_of=AS_OF, source=SOURCE)
"""The process-wide price table: what ``NormalizedResponse.cost``, the ``cost_usd`` of
``CallingCompleted`` events and the ``callboard`` command price calls with.

It starts with ``LIST_PRICES`` (read on ``AS_OF``); a program adds or overrides a model
for the whole process with ``PRICES.register(name, ModelPrice(...))``.
"""
