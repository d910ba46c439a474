"""iModel's options: every one a typed keyword, the seeds' spellings, request fields the
provider documents, limits given as any Limiter, and one rule for API keys."""

from __future__ import annotations

import inspect

import coredis
import pytest

from callboard import (
    CallingStatus,
    Endpoint,
    MissingApiKey,
    RedisLimiter,
    RetryPolicy,
    Secret,
    TokenBucket,
    iModel,
)
from callboard.testing import FakeProvider
from tests.model_backends import EchoBackend

KEY = "sk-options-0123456789"
HI = [{"role": "user", "content": "hello there"}]

_OPTIONS = {
    "model",
    "base_url",
    "api_key",
    "api_key_env",
    "concurrency_limit",
    "timeout",
    "retry",
    "circuit",
    "limit_requests",
    "limit_tokens",
    "default_fields",
    "headers",
    "transport",
    "max_connections",
    "name",
    "tags",
    "token_estimator",
    "stream_buffer_size",
}


def test_the_signature_names_every_option_with_its_type() -> None:
    # fixed here: it ended in **kwargs, so help() and an IDE showed none of these
    parameters = inspect.signature(iModel).parameters
    missing = _OPTIONS - set(parameters)
    assert not missing, f"not in the signature: {sorted(missing)}"
    for name in _OPTIONS:
        assert parameters[name].annotation != inspect.Parameter.empty, name
        assert parameters[name].kind in (
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
    doc = inspect.getdoc(iModel) or ""
    for name in ("default_fields", "request_fields", "limit_requests", "api_key_env"):
        assert name in doc


async def test_the_seeds_spellings_work_end_to_end() -> None:
    async with FakeProvider(keys=[KEY]) as fp:
        model = iModel(
            provider="openai",
            model="gpt-4o-mini",
            api_key=KEY,
            endpoint="chat/completions",
            limit_requests=50,
            limit_tokens=100_000,
            capacity_refresh_time=60.0,
            queue_capacity=100,
            concurrency_limit=4,
            name="gpt4",
            base_url=f"{fp.base_url}/v1",
        )
        inline = await model.invoke(messages=HI)
        async with model:
            started = await model.invoke(messages=HI, max_tokens=16)
        assert inline.status is started.status is CallingStatus.COMPLETED
        assert model.name == "gpt4" and model.concurrency_limit == 4
        assert [request.json()["model"] for request in fp.requests] == ["gpt-4o-mini"] * 2


async def test_request_fields_the_provider_documents_go_into_every_request() -> None:
    async with FakeProvider(keys=[KEY]) as fp:
        model = iModel(
            provider="openai",
            api_key=Secret(KEY),
            base_url=f"{fp.base_url}/v1",
            model="gpt-4o",
            temperature=0.25,
            default_fields={"seed": 7},  # the one documented place: also for any field
        )
        await model.invoke(messages=HI)
        body = fp.requests[-1].json()
        assert (body["temperature"], body["seed"]) == (0.25, 7)
        assert isinstance(model.backend, Endpoint)
        assert model.backend.config.default_fields == {
            "seed": 7,
            "model": "gpt-4o",
            "temperature": 0.25,
        }


def test_limits_take_any_limiter_a_redis_limiter_too() -> None:
    # fixed here: iModel(limit_requests=RedisLimiter(...)) raised ConfigError, although
    # docs/redis.md promised the limiter drops in where a number goes
    redis = coredis.Redis(host="127.0.0.1", port=9, decode_responses=True)  # never reached
    requests = RedisLimiter(redis, "test:imodel:requests", 100, 60)
    shared = TokenBucket(10_000, 60, unit="tokens")
    model = iModel(backend=EchoBackend(), limit_requests=requests, limit_tokens=shared)
    # admission paces and learns in front of each, drawing on the very same limiter
    assert model.rate_limiter is requests and model.executor.requests_limiter.ceiling is requests
    assert model.token_limiter is shared and model.executor.tokens_limiter.ceiling is shared


async def test_a_shared_token_bucket_is_drawn_on_inline(autojump_clock: object) -> None:
    shared = TokenBucket(1_000, 1e9, unit="tokens")
    one = iModel(backend=EchoBackend(), limit_tokens=shared)
    two = iModel(backend=EchoBackend(), limit_tokens=shared)
    await one.invoke(messages=HI, max_tokens=100)
    await two.invoke(messages=HI, max_tokens=100)
    assert shared.available == pytest.approx(1_000 - 2 * (100 + 3 + 4 + 3), abs=0.01)


def test_the_api_key_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("my-key.v2", KEY)  # a name no bare string could say it is
    explicit = iModel(provider="openai", api_key_env="my-key.v2", retry=RetryPolicy.disabled())
    assert explicit.api_key_env == "my-key.v2"
    assert isinstance(explicit.backend, Endpoint)
    assert explicit.backend.config.resolve_api_key() == Secret(KEY)
    wrapped = iModel(provider="openai", api_key=Secret("MY_KEY"))  # a key that looks like a name
    assert wrapped.api_key_env is None
    assert "MY_KEY" not in str(wrapped.to_dict())


def test_a_bare_name_that_is_not_set_says_how_it_was_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fixed here: "set the MY_KEY environment variable" did not say that the string was
    # taken for a name, nor how to say it is the key
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(MissingApiKey) as caught:
        iModel(provider="openai", api_key="MY_KEY")
    message = str(caught.value)
    assert "read as the name of an environment variable" in message
    assert "no variable MY_KEY is set" in message
    assert "api_key_env='NAME'" in message and "api_key=Secret(key)" in message
    # capitals and digits only may be a key passed as a plain string: never echoed
    with pytest.raises(MissingApiKey) as unquoted:
        iModel(provider="openai", api_key="ABCD1234EFGH5678")
    assert "ABCD1234EFGH5678" not in str(unquoted.value)
