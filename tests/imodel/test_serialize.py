"""to_dict / from_dict through the one converter; secrets never leave."""

from __future__ import annotations

import json

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.errors import ConfigError
from callboard.imodel import HookPhase, HookRegistry, InvocationError, NotRestorable, iModel
from callboard.limits import TokenBucket
from callboard.tools import Tool
from tests.model_backends import EchoBackend, FailingBackend

CANARY = "sk-canary-7f3a9c1e"


def add(a: int, b: int) -> int:
    return a + b


async def test_round_trip_gives_fresh_identity_and_full_buckets(autojump_clock: object) -> None:
    model = iModel(
        backend=EchoBackend(),
        name="echo",
        version="3",
        tags={"llm", "test"},
        provider_metadata={"session_id": "abc"},
        limit_requests=50,
        limit_tokens=100_000,
        capacity_refresh_time=30,
        queue_capacity=10,
        concurrency_limit=4,
    )
    for _ in range(40):
        await model.invoke(q=1)
    assert model.rate_limiter is not None
    bucket = model.rate_limiter.ceiling  # the configured bucket, drawn from
    assert isinstance(bucket, TokenBucket)
    assert bucket.available < 49
    data = model.to_dict()
    text = json.dumps(data)  # JSON-safe
    restored = iModel.from_dict(json.loads(text), backend=EchoBackend())
    assert restored.id != model.id
    assert (restored.name, restored.version, restored.tags) == ("echo", "3", model.tags)
    assert restored.provider_metadata == {"session_id": "abc"}
    assert (restored.limit_requests, restored.limit_tokens) == (50, 100_000)
    assert (restored.capacity_refresh_time, restored.queue_capacity) == (30.0, 10)
    assert restored.concurrency_limit == 4
    assert restored.rate_limiter is not None
    assert restored.rate_limiter is not model.rate_limiter
    fresh = restored.rate_limiter.ceiling
    assert isinstance(fresh, TokenBucket)
    assert fresh.available == 50  # fresh capacity
    assert restored.to_dict() == data
    assert (await restored.invoke(q=2)).status is CallingStatus.COMPLETED


def test_tool_models_serialize_without_backend_and_say_so_on_load() -> None:
    data = iModel(backend=Tool(add)).to_dict()
    assert data["backend"] is None and data["backend_type"] == "Tool"
    with pytest.raises(NotRestorable, match="Tool backend") as caught:
        iModel.from_dict(data)
    assert caught.value.field == "backend"
    restored = iModel.from_dict(data, backend=Tool(add))
    assert restored.name == "add"


def test_malformed_data_lists_the_problems() -> None:
    data = iModel(backend=EchoBackend(), name="m").to_dict()
    data["limits"]["queue_capacity"] = "lots"
    data["surprise"] = 1
    with pytest.raises(ConfigError) as caught:
        iModel.from_dict(data, backend=EchoBackend())
    message = str(caught.value)
    assert "queue_capacity" in message and "surprise" in message
    with pytest.raises(ConfigError, match="format"):
        iModel.from_dict({**iModel(backend=EchoBackend()).to_dict(), "format": 99})


def test_metadata_must_be_json() -> None:
    model = iModel(backend=EchoBackend(), provider_metadata={"when": object()})
    with pytest.raises(ConfigError) as caught:
        model.to_dict()
    assert caught.value.field == "provider_metadata"


async def test_the_canary_secret_never_leaves() -> None:
    """A secret in a backend, in the request and in an error reaches no repr, event,
    error message or serialized config."""
    backend = FailingBackend(secret=CANARY)
    events: list[str] = []
    hooks = HookRegistry()
    hooks.register(HookPhase.AnyEvent, lambda event: events.append(repr(event)))

    def leaky_hook(calling: object, **params: object) -> None:
        raise RuntimeError(f"hook saw {CANARY}")

    hooks.register(HookPhase.PreInvocation, leaky_hook)
    model = iModel(backend=backend, hook_registry=hooks, limit_requests=5, name="secretive")
    seen: list[str] = []
    async with model:
        with pytest.raises(InvocationError) as caught:
            await model.invoke(pre_invoke_hook_params={"token": CANARY}, q=1)
        seen += [repr(model), str(caught.value), repr(caught.value)]
        seen.append(repr(caught.value.calling))  # type: ignore[attr-defined]
    seen += events
    seen.append(json.dumps(model.to_dict()))
    assert events  # the observer did see the failure
    for text in seen:
        assert CANARY not in text
    # the untyped original stays reachable for the user who asks for it
    assert CANARY in str(caught.value.__cause__)
    await trio.lowlevel.checkpoint()


def test_unknown_providers_fail_without_quoting_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        iModel(provider="no-such-provider", api_key=CANARY)
    assert CANARY not in str(caught.value)


def test_provider_models_round_trip_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLBOARD_TEST_KEY", CANARY)
    model = iModel(
        provider="openai",
        api_key="CALLBOARD_TEST_KEY",
        base_url="http://127.0.0.1:9/v1",
        model="gpt-4o",
        limit_requests=50,
    )
    data = model.to_dict()
    text = json.dumps(data)
    assert CANARY not in text and CANARY not in repr(model)
    assert data["backend"] == {
        "provider": "openai",
        "endpoint": "chat/completions",
        "api_key_env": "CALLBOARD_TEST_KEY",
        "options": {"base_url": "http://127.0.0.1:9/v1", "model": "gpt-4o"},
    }
    restored = iModel.from_dict(json.loads(text))
    assert restored.id != model.id
    assert restored.to_dict() == data
    monkeypatch.delenv("CALLBOARD_TEST_KEY")
    with pytest.raises(NotRestorable, match="CALLBOARD_TEST_KEY") as caught:
        iModel.from_dict(data)
    assert caught.value.field == "api_key_env"


def test_a_raw_key_is_dropped_from_the_config() -> None:
    model = iModel(provider="openai", api_key=CANARY, base_url="http://127.0.0.1:9/v1")
    data = model.to_dict()
    assert data["backend"]["api_key_env"] is None
    assert CANARY not in json.dumps(data)
    assert CANARY not in repr(model) and CANARY not in repr(model.backend)
