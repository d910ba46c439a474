"""What every row of the bad-input catalogue checks, and the live actor tree it runs in.

A row is one bad input and the error a user should get for it: the exact typed class (a
``CallboardError``), the phrases that say what was wrong and how to fix it, and no
secret anywhere in the error (the canary key is the fake provider's only valid key, so a
leak could not hide behind a wrong key). Rows that touch models run inside a started
:class:`~callboard.ServiceRegistry` on a real loopback :class:`FakeProvider`, and every
such row ends with a good call on the same models: a bad input never takes the tree down.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

import attrs

from callboard import CallboardError, CallingStatus, RetryPolicy, ServiceRegistry, Tool, iModel
from callboard.testing import DEFAULT_MODELS, FakeProvider

CANARY = "sk-canary-7Qv2Zx9BadInputCatalogue"
"""The one key the fake provider accepts; it must never appear in an error."""

HI = [{"role": "user", "content": "hello there"}]

MODELS = ("anthropic", "embed", "openai", "tight")
"""The provider models of the live registry (it also holds the tool ``add``)."""


def add(a: int, b: int) -> int:
    """The tool the catalogue's tool rows call with bad arguments."""
    return a + b


def assert_typed(
    error: BaseException,
    kind: type[CallboardError],
    phrases: tuple[str, ...],
    **attributes: Any,
) -> None:
    """``error`` is exactly ``kind``, says every phrase, carries ``attributes`` and
    shows no secret in its message, repr or traceback (causes included)."""
    assert type(error) is kind, f"expected {kind.__name__}, got {type(error).__name__}: {error}"
    assert isinstance(error, CallboardError)
    message = str(error)
    for phrase in phrases:
        assert phrase in message, f"{phrase!r} not in {message!r}"
    for name, value in attributes.items():
        assert getattr(error, name) == value, f"{name}={getattr(error, name)!r}, not {value!r}"
    shown = "".join(traceback.format_exception(error)) + repr(error) + repr(error.args)
    assert CANARY not in shown, "the API key leaked into the error"


@attrs.frozen
class Live:
    """A started registry of models on one fake provider."""

    fp: FakeProvider
    registry: ServiceRegistry

    def model(self, name: str) -> iModel:
        return self.registry.get(name)

    async def still_serves(self) -> None:
        """A good call through every provider model and the tool still completes."""
        for name in ("openai", "anthropic", "tight"):
            calling = await self.model(name).invoke(messages=HI, max_tokens=16)
            assert calling.status is CallingStatus.COMPLETED
            assert "hello there" in calling.response.text
        calling = await self.model("add").invoke(a=2, b=3)
        assert calling.response == 5
        assert sorted(self.registry.list_names()) == [
            "add",
            "anthropic",
            "embed",
            "openai",
            "tight",
        ]


def _provider_model(fp: FakeProvider, name: str, provider: str, **options: Any) -> iModel:
    options.setdefault("endpoint", "chat")
    options.setdefault("model", "claude-haiku-4-5" if provider == "anthropic" else "gpt-4o")
    return iModel(
        provider=provider,
        name=name,
        base_url=f"{fp.base_url}/v1",
        api_key=CANARY,  # a raw key: the library wraps it in a Secret at once
        timeout=None,  # no client timeout: faults here are answered, never stalled
        retry=RetryPolicy.disabled(),  # one attempt, so a scripted fault is the outcome
        **options,
    )


@asynccontextmanager
async def live() -> AsyncGenerator[Live]:
    """Serve a fake provider and start a registry: OpenAI and Anthropic chat models, an
    OpenAI embeddings model, a chat model with a 1,000-token bucket, and a Tool."""
    # The allow-list makes an unknown model name the 404 the real APIs answer.
    async with FakeProvider(keys=[CANARY], models=DEFAULT_MODELS) as fp:
        registry = ServiceRegistry(name="catalogue")
        registry.register(_provider_model(fp, "openai", "openai"))
        registry.register(_provider_model(fp, "anthropic", "anthropic"))
        registry.register(
            _provider_model(
                fp, "embed", "openai", endpoint="embeddings", model="text-embedding-3-small"
            )
        )
        registry.register(_provider_model(fp, "tight", "openai", limit_tokens=1000))
        registry.register(iModel(backend=Tool(add)))
        async with registry:
            yield Live(fp, registry)
