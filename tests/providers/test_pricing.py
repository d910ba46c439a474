"""Cost: list prices per model, cache reads and writes priced apart, a table a program
extends, and the cost on responses and on CallingCompleted events."""

from __future__ import annotations

import contextlib
import doctest
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

import callboard
from callboard import (
    PRICES,
    CallingCompleted,
    ConfigError,
    Cost,
    ModelPrice,
    NormalizedResponse,
    PriceTable,
    Secret,
    Usage,
    iModel,
)
from callboard.providers import _pricing
from callboard.testing import FakeProvider

UNPRICED = {"claude-opus-5", "claude-sonnet-5"}
"""Models the fake provider serves whose list price was not published when the shipped
list was made (docs say so; a program registers its own)."""


@pytest.fixture
def prices() -> Iterator[PriceTable]:
    """``callboard.PRICES``, restored after the test."""
    saved = dict(PRICES.entries)
    yield PRICES
    for model in list(PRICES.entries):
        PRICES.unregister(model)
    PRICES.update(saved)


def test_docstring_examples() -> None:
    result = doctest.testmod(_pricing)
    assert result.attempted > 0 and result.failed == 0


def test_the_shipped_table_is_dated_and_sourced() -> None:
    assert isinstance(PRICES.as_of, date)
    assert PRICES.source is not None
    assert "openai.com" in PRICES.source and "anthropic.com" in PRICES.source
    assert callboard.PRICES is PRICES


def test_every_chat_model_of_the_fake_provider_has_a_price() -> None:
    from callboard.testing._routes import DEFAULT_MODELS

    chat = {
        m
        for m in DEFAULT_MODELS
        if m.startswith(("gpt-4", "gpt-5", "o3", "o4", "claude-")) and "tts" not in m
        if "transcribe" not in m
    }
    assert len(chat) >= 20
    assert {m for m in chat if m not in PRICES} == UNPRICED


def test_anthropic_prices_cache_reads_and_writes_apart() -> None:
    price = PRICES.price_of("claude-sonnet-4-5")
    assert price == ModelPrice(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
    cost = price.cost(
        prompt_tokens=1_000_000 + 2_000_000 + 500_000,
        completion_tokens=100_000,
        cache_read_tokens=2_000_000,
        cache_creation_tokens=500_000,
    )
    assert cost.input == pytest.approx(3.0)  # the 1M uncached prompt tokens
    assert cost.cache_read == pytest.approx(0.6)
    assert cost.cache_write == pytest.approx(1.875)
    assert cost.output == pytest.approx(1.5)
    assert cost.total == pytest.approx(6.975)


def test_usage_cache_reads_and_writes_are_priced_apart() -> None:
    usage = Usage(
        prompt_tokens=1_000_000,
        completion_tokens=0,
        cached_tokens=500_000,
        cache_write_tokens=200_000,
    )
    cost = PRICES.cost("claude-haiku-4-5", usage)
    assert cost is not None
    assert (cost.input, cost.cache_read, cost.cache_write) == (
        pytest.approx(0.3),  # 300,000 uncached at $1
        pytest.approx(0.05),  # 500,000 read at $0.10
        pytest.approx(0.25),  # 200,000 written at $1.25
    )


def test_openai_cached_input_and_dated_names() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_tokens=400_000)
    cost = PRICES.cost("gpt-4o-mini-2024-07-18", usage)
    assert cost == Cost(
        input=pytest.approx(0.09), output=pytest.approx(0.6), cache_read=pytest.approx(0.03)
    )
    assert PRICES.cost("claude-haiku-4-5-20251001", Usage(completion_tokens=1_000_000)) == Cost(
        output=pytest.approx(5.0)
    )
    assert PRICES.price_of("claude-3-7-sonnet-latest") == PRICES.price_of("claude-3-7-sonnet")


def test_unknown_model_or_usage_has_no_cost() -> None:
    assert PRICES.cost("my-own-model", Usage(prompt_tokens=5)) is None
    assert PRICES.cost("gpt-4o", None) is None
    assert PRICES.cost(None, Usage(prompt_tokens=5)) is None
    assert NormalizedResponse(model="gpt-4o").cost is None
    assert "gpt-4o" in PRICES and "my-own-model" not in PRICES


def test_a_program_registers_its_own_model(prices: PriceTable) -> None:
    response = NormalizedResponse(
        model="my-finetune", usage=Usage(prompt_tokens=2_000_000, completion_tokens=0)
    )
    assert response.cost is None
    prices.register("my-finetune", ModelPrice(input=0.5, output=1.0))
    assert response.cost is not None and response.cost.total == pytest.approx(1.0)
    copy = prices.copy()
    copy.register("my-finetune", ModelPrice(input=5.0, output=1.0))
    assert response.cost.total == pytest.approx(1.0)  # the copy changed, not PRICES


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda: ModelPrice(input=-1.0, output=1.0), "input must be a finite price >= 0"),
        (lambda: ModelPrice(input=1.0, output=float("nan")), "output must be a finite"),
        (lambda: ModelPrice(input=True, output=1.0), "input must be dollars per million"),
        (lambda: ModelPrice(input=1.0, output=1.0, cache_read=-0.1), "cache_read must be"),
        (
            lambda: ModelPrice(input=1.0, output=1.0).cost(prompt_tokens=-1, completion_tokens=0),
            "prompt_tokens must be an int >= 0",
        ),
        (lambda: PriceTable({"": ModelPrice(input=1.0, output=1.0)}), "non-empty str"),
        (lambda: PriceTable({"m": 1.0}), "must be a ModelPrice"),  # type: ignore[dict-item]
    ],
)
def test_bad_prices_are_config_errors(make: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        make()  # type: ignore[operator]


_count = st.integers(min_value=0, max_value=10**9)
_rate = st.floats(min_value=0, max_value=1000, allow_nan=False)


@given(
    price=st.builds(ModelPrice, input=_rate, output=_rate, cache_read=_rate, cache_write=_rate),
    prompt=_count,
    completion=_count,
    read=_count,
    written=_count,
)
def test_cost_adds_up_by_part(
    price: ModelPrice, prompt: int, completion: int, read: int, written: int
) -> None:
    cost = price.cost(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cache_read_tokens=read,
        cache_creation_tokens=written,
    )
    assert cost.total >= 0
    assert cost.input == pytest.approx(max(0, prompt - read - written) * price.input * 1e-6)
    assert cost.output == pytest.approx(completion * price.output * 1e-6)
    assert cost.cache_read == pytest.approx(read * (price.cache_read or 0) * 1e-6)
    assert (cost + Cost()).total == pytest.approx(cost.total)


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
async def test_responses_and_events_carry_the_cost(started: bool) -> None:
    async with FakeProvider() as server:
        model = iModel(
            provider="openai",
            base_url=f"{server.base_url}/v1",
            api_key=Secret("test-key"),
            model="gpt-4o-mini",
            timeout=None,
        )
        async with contextlib.AsyncExitStack() as stack:
            if started:
                await stack.enter_async_context(model)
            with model.broadcast.subscribe() as events:
                calling = await model.invoke(messages=[{"role": "user", "content": "hi"}])
                response: NormalizedResponse = calling.response
                completed = []
                while True:
                    event = await events.receive()
                    if isinstance(event, CallingCompleted):
                        completed.append(event)
                        break
    assert response.usage is not None and response.usage.total_tokens > 0
    expected = PRICES.cost("gpt-4o-mini", response.usage)
    assert expected is not None and expected.total > 0
    assert response.cost == expected
    assert completed[0].cost_usd == pytest.approx(expected.total)
