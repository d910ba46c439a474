"""What a call cost: prices per model and the arithmetic from token counts to dollars.

Providers bill per million tokens, at one rate for the prompt, another for the reply, and
their own rates for the part of the prompt read from their prompt cache and the part
written to it. A [`PriceTable`][callboard.PriceTable] maps model names to
[`ModelPrice`][callboard.ModelPrice] and turns a response's token counts into a
[`Cost`][callboard.Cost]. ``PRICES`` (``_price_list.py``) is the
process-wide table, holding the public list prices callboard ships; a program adds its
own models (fine-tunes, negotiated rates, other providers) with ``PRICES.register``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import date
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from callboard.errors import ConfigError

if TYPE_CHECKING:
    from ._normalized import Usage

__all__ = ["Cost", "ModelPrice", "PriceTable"]

_PER_TOKEN = 1e-6  # prices are quoted per million tokens

# "gpt-4o-mini-2024-07-18", "claude-haiku-4-5-20251001", "claude-3-7-sonnet-latest"
_VERSION_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def _rate(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"{attribute.name} must be dollars per million tokens (a number), got {value!r}",
            field=attribute.name,
        )
    if not (math.isfinite(value) and value >= 0):
        raise ConfigError(
            f"{attribute.name} must be a finite price >= 0 per million tokens, got {value!r}",
            field=attribute.name,
        )


def _tokens(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(f"{name} must be an int >= 0, got {value!r}", field=name)
    return value


@attrs.frozen(kw_only=True)
class Cost:
    """What one call (or a sum of calls) cost, in US dollars, by what was billed.

    ``Cost`` values add up: ``sum(costs, Cost())`` is the bill of a batch.

    Example:
        >>> (Cost(input=0.5, output=1.0) + Cost(cache_read=0.25)).total
        1.75
    """

    input: float = 0.0
    """Prompt tokens billed at the full input rate (not read from or written to a cache)."""
    output: float = 0.0
    """Completion tokens (reasoning tokens included: providers bill them as output)."""
    cache_read: float = 0.0
    """Prompt tokens read from the provider's prompt cache."""
    cache_write: float = 0.0
    """Prompt tokens written to the provider's prompt cache."""

    @property
    def total(self) -> float:
        """The whole bill."""
        return self.input + self.output + self.cache_read + self.cache_write

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            input=self.input + other.input,
            output=self.output + other.output,
            cache_read=self.cache_read + other.cache_read,
            cache_write=self.cache_write + other.cache_write,
        )


@attrs.frozen(kw_only=True)
class ModelPrice:
    """A model's prices in US dollars per million tokens.

    Args:
        input: prompt tokens that are neither read from nor written to a cache.
        output: completion tokens.
        cache_read: prompt tokens read from the cache; the input price when ``None``.
        cache_write: prompt tokens written to the cache; the input price when ``None``
            (OpenAI caches for free; Anthropic bills a 5-minute cache write at 1.25x).

    Raises:
        ConfigError: a price is not a finite number >= 0.

    Example:
        >>> price = ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
        >>> cost = price.cost(prompt_tokens=2_000, completion_tokens=100, cache_read_tokens=1_000)
        >>> round(cost.input, 6), round(cost.cache_read, 6), round(cost.output, 6)
        (0.003, 0.0003, 0.0015)
    """

    input: float = attrs.field(validator=_rate)
    output: float = attrs.field(validator=_rate)
    cache_read: float | None = attrs.field(default=None, validator=_rate)
    cache_write: float | None = attrs.field(default=None, validator=_rate)

    def cost(
        self,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        cache_read_tokens: int = 0,
        cache_creation_tokens: int = 0,
    ) -> Cost:
        """The cost of one call's tokens.

        Args:
            prompt_tokens: every prompt token, cached or not (as ``Usage`` counts them).
            completion_tokens: the reply's tokens.
            cache_read_tokens: the part of the prompt read from the cache.
            cache_creation_tokens: the part of the prompt written to the cache.

        Raises:
            ConfigError: a count is not an int >= 0.
        """
        prompt = _tokens("prompt_tokens", prompt_tokens)
        read = _tokens("cache_read_tokens", cache_read_tokens)
        written = _tokens("cache_creation_tokens", cache_creation_tokens)
        completion = _tokens("completion_tokens", completion_tokens)
        # A provider that reports more cached than prompt tokens is not billed below zero.
        uncached = max(0, prompt - read - written)
        read_rate = self.input if self.cache_read is None else self.cache_read
        write_rate = self.input if self.cache_write is None else self.cache_write
        return Cost(
            input=uncached * self.input * _PER_TOKEN,
            output=completion * self.output * _PER_TOKEN,
            cache_read=read * read_rate * _PER_TOKEN,
            cache_write=written * write_rate * _PER_TOKEN,
        )


class PriceTable:
    """Prices by model name, with the date they were read and where from.

    A name is looked up as given, then without a version suffix (``-2024-07-18``,
    ``-20251001``, ``-latest``), since providers answer with the dated name of the model
    an alias points at.

    Args:
        prices: model name -> price.
        as_of: the date the prices were read from their source.
        source: where they came from.

    Example:
        >>> from callboard.providers import Usage
        >>> table = PriceTable({"my-model": ModelPrice(input=1.0, output=2.0)})
        >>> table.cost("my-model-2026-01-31", Usage(prompt_tokens=1_000_000)).total
        1.0
        >>> table.cost("another-model", Usage(prompt_tokens=10)) is None
        True
    """

    def __init__(
        self,
        prices: Mapping[str, ModelPrice] | None = None,
        *,
        as_of: date | None = None,
        source: str | None = None,
    ) -> None:
        self._prices: dict[str, ModelPrice] = {}
        self.as_of = as_of
        self.source = source
        if prices is not None:
            self.update(prices)

    def register(self, model: str, price: ModelPrice) -> None:
        """Add ``model`` or replace its price.

        Raises:
            ConfigError: ``model`` is not a non-empty string or ``price`` not a ModelPrice.
        """
        if not isinstance(model, str) or not model:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(f"a model name must be a non-empty str, got {model!r}")
        if not isinstance(price, ModelPrice):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                f"the price of {model!r} must be a ModelPrice(input=..., output=...), got {price!r}"
            )
        self._prices[model] = price

    def update(self, prices: Mapping[str, ModelPrice]) -> None:
        """Register every entry of ``prices``.

        Raises:
            ConfigError: a name or a price is invalid.
        """
        for model, price in prices.items():
            self.register(model, price)

    def unregister(self, model: str) -> None:
        """Take ``model`` out of the table (nothing happens if it is not there)."""
        self._prices.pop(model, None)

    @property
    def entries(self) -> Mapping[str, ModelPrice]:
        """The table as registered (a read-only view: exact names, no suffix matching)."""
        return MappingProxyType(self._prices)

    def copy(self) -> PriceTable:
        """A table with the same prices that can change without changing this one."""
        return PriceTable(self._prices, as_of=self.as_of, source=self.source)

    def price_of(self, model: str | None) -> ModelPrice | None:
        """The price of ``model`` (see above for how names match), ``None`` if unknown."""
        if model is None:
            return None
        price = self._prices.get(model)
        if price is None:
            price = self._prices.get(_VERSION_SUFFIX.sub("", model))
        return price

    def cost(self, model: str | None, usage: Usage | None) -> Cost | None:
        """What ``usage`` cost on ``model``; ``None`` when either is unknown."""
        price = self.price_of(model)
        if price is None or usage is None:
            return None
        return price.cost(
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cache_read_tokens=usage.cached_tokens,
            cache_creation_tokens=usage.cache_write_tokens,
        )

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.price_of(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)

    def __repr__(self) -> str:
        return f"PriceTable({len(self._prices)} models, as_of={self.as_of!r})"
