"""to_dict / from_dict through the one converter; secrets never leave."""

from __future__ import annotations

import json

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.endpoint import CircuitSettings, Endpoint, Timeouts
from callboard.errors import ConfigError
from callboard.imodel import HookPhase, HookRegistry, InvocationError, NotRestorable, iModel
from callboard.limits import TokenBucket
from callboard.resilience import RetryPolicy
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
    bucket = model.rate_limiter.ceiling  # the configured bucket
    assert isinstance(bucket, TokenBucket)
    # Drawn from: 40 granted. (Its level says little: paced at 95% of its rate, it
    # refills nearly all of the 40 meanwhile.)
    assert model.rate_limiter.taken == 40
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


async def test_tool_models_round_trip_through_their_functions_import_path() -> None:
    data = json.loads(json.dumps(iModel(backend=Tool(add), limit_requests=5).to_dict()))
    assert data["backend"] is None and data["backend_type"] == "Tool"
    assert data["backend_data"]["function"] == f"{__name__}:add"
    restored = iModel.from_dict(data)
    assert isinstance(restored.backend, Tool) and restored.backend.func is add
    assert (restored.name, restored.limit_requests) == ("add", 5)
    assert (await restored.invoke(a=2, b=3)).response == 5


def test_tool_models_that_cannot_be_found_again_say_how_to_supply_them() -> None:
    lambda_data = iModel(backend=Tool(lambda a: a, name="echo")).to_dict()
    assert lambda_data["backend_data"]["function"] is None
    with pytest.raises(NotRestorable, match=r"backend=Tool\(func\)") as caught:
        iModel.from_dict(lambda_data)
    assert caught.value.field == "backend_data"
    # Loading never imports: a module the program has not imported is not searched.
    unloaded = iModel(backend=Tool(add)).to_dict()
    unloaded["backend_data"]["function"] = "callboard_not_imported_anywhere:add"
    with pytest.raises(NotRestorable, match="import callboard_not_imported_anywhere"):
        iModel.from_dict(unloaded)
    restored = iModel.from_dict(lambda_data, backend=Tool(add))
    assert restored.backend is not None and restored.name == "echo"


def test_custom_backend_models_say_so_on_load_and_format_1_data_still_loads() -> None:
    data = iModel(backend=EchoBackend(), name="echo").to_dict()
    assert data["backend_data"] is None
    with pytest.raises(NotRestorable, match="EchoBackend backend") as caught:
        iModel.from_dict(data)
    assert caught.value.field == "backend"
    old = {key: value for key, value in data.items() if key != "backend_data"}
    restored = iModel.from_dict({**old, "format": 1}, backend=EchoBackend())
    assert restored.name == "echo"


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


def test_a_model_with_retry_and_circuit_settings_round_trips(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLBOARD_TEST_KEY_2", CANARY)
    # fixed here: to_dict raised "endpoint_options must hold only JSON values"
    retry = RetryPolicy(max_retries=5, base_delay=0.1, jitter="none")
    circuit = CircuitSettings(failure_rate=0.3, minimum_calls=50)
    model = iModel(
        provider="openai",
        api_key_env="CALLBOARD_TEST_KEY_2",
        base_url="http://127.0.0.1:9/v1",
        model="gpt-4o",
        retry=retry,
        circuit=circuit,
        timeout=None,
        timeouts=Timeouts(connect=2.0, first_byte=30.0),
        temperature=0.2,
    )
    data = json.loads(json.dumps(model.to_dict()))
    options = data["backend"]["options"]
    assert options["retry"]["max_retries"] == 5 and options["circuit"]["failure_rate"] == 0.3
    assert options["timeout"] is None and options["temperature"] == 0.2
    restored = iModel.from_dict(data)
    assert isinstance(restored.backend, Endpoint)
    config = restored.backend.config
    assert (config.retry, config.circuit, config.timeout) == (retry, circuit, None)
    assert config.timeouts == Timeouts(connect=2.0, first_byte=30.0)
    assert config.default_fields == {"model": "gpt-4o", "temperature": 0.2}
    assert config.api_key_env == "CALLBOARD_TEST_KEY_2"
    assert restored.to_dict() == data


def test_bad_retry_data_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBOARD_TEST_KEY_3", CANARY)
    data = iModel(provider="openai", api_key_env="CALLBOARD_TEST_KEY_3", retry=RetryPolicy())
    data = data.to_dict()
    data["backend"]["options"]["retry"]["max_retries"] = "many"
    with pytest.raises(ConfigError, match="retry option"):
        iModel.from_dict(data)


def test_a_limit_given_as_a_live_object_is_not_serialized_silently() -> None:
    model = iModel(backend=EchoBackend(), limit_tokens=TokenBucket(100, 60))
    with pytest.raises(ConfigError, match="limit_tokens was given as an object") as caught:
        model.to_dict()
    assert caught.value.field == "limit_tokens"
