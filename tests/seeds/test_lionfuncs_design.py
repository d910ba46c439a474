"""The lionfuncs design (seed 003): its interfaces, one test each, over FakeProvider.

``ServiceEndpointConfig`` → ``Endpoint(config)`` (``async with``, ``get_client``,
``close``) → ``iModel(endpoint=..., executor=...)`` → ``invoke(request_payload, ...)``
returning a request event; ``Executor.submit_task`` rate-limiting any async call.
Translated only by running in trio, by ``async with Executor(...)`` (the design's
"especially via async with Executor()") and by pointing ``base_url`` at FakeProvider.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
import trio.testing

from callboard import (
    CallingStatus,
    ConfigError,
    Endpoint,
    Executor,
    HttpTransportConfig,
    InvalidEndpointConfig,
    OversizeRequest,
    SdkTransportConfig,
    ServiceEndpointConfig,
    iModel,
)
from callboard.testing import FakeProvider

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture
async def fp(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeProvider]:
    monkeypatch.setenv("SERVICE_API_KEY", "test-key")
    async with FakeProvider() as server:
        yield server


def openai_service(fp: FakeProvider, **fields: Any) -> ServiceEndpointConfig:
    return ServiceEndpointConfig(
        name="openai_chat_completions_gpt4",
        transport_type="http",
        api_key="SERVICE_API_KEY",
        base_url=f"{fp.base_url}/v1",
        **fields,
    )


# -- 3.1 ServiceEndpointConfig -------------------------------------------------------------


def test_config_fields_and_http_default_block() -> None:
    config = ServiceEndpointConfig(
        name="openai",
        transport_type="http",
        api_key="OPENAI_API_KEY",
        base_url="https://api.openai.com/v1",
        timeout=30.0,
        default_headers={"x-team": "search"},
        default_request_kwargs={"model": "gpt-4o-mini"},
    )
    assert config.http_config == HttpTransportConfig()  # defaulted for http
    assert config.sdk_config is None and config.timeout == 30.0
    assert dict(config.default_headers) == {"x-team": "search"}
    assert "OPENAI_API_KEY" not in repr(config)  # the key is never shown


def test_config_refuses_extra_fields_with_a_typed_error() -> None:
    with pytest.raises(ConfigError, match="did you mean 'base_url'") as caught:
        ServiceEndpointConfig(name="x", transport_type="http", base_ur="https://a.b")
    assert caught.value.field == "base_ur"


def test_config_sdk_needs_sdk_config_and_http_needs_base_url() -> None:
    with pytest.raises(InvalidEndpointConfig) as sdk:
        ServiceEndpointConfig(name="claude", transport_type="sdk")
    assert sdk.value.field == "sdk_config"
    with pytest.raises(InvalidEndpointConfig) as http:
        ServiceEndpointConfig(name="openai", transport_type="http")
    assert http.value.field == "base_url"
    with pytest.raises(InvalidEndpointConfig) as both:
        ServiceEndpointConfig(name="", transport_type="http", timeout=0)
    assert set(both.value.problems) == {"name", "base_url", "timeout"}  # all at once


# -- 3.2 Endpoint --------------------------------------------------------------------------


async def test_endpoint_async_with_gives_a_client_and_closes_it(fp: FakeProvider) -> None:
    async with Endpoint(openai_service(fp)) as endpoint:
        client = await endpoint.get_client()
        assert callable(client.send) and callable(client.stream)  # a Transport
        assert await endpoint.get_client() is client  # one client per run
        assert endpoint.ref.is_alive
    assert not endpoint.ref.is_alive
    await endpoint.close()  # idempotent


async def test_endpoint_get_client_without_async_with_then_close(fp: FakeProvider) -> None:
    endpoint = Endpoint(openai_service(fp))
    client = await endpoint.get_client()  # created lazily, shared by inline calls
    assert await endpoint.get_client() is client
    await endpoint.close()
    assert await endpoint.get_client() is not client  # a fresh one after close


# -- 3.3 iModel ----------------------------------------------------------------------------


async def test_imodel_invoke_returns_a_request_event_to_await(fp: FakeProvider) -> None:
    config = openai_service(fp, default_request_kwargs={"model": "gpt-4o-mini"})
    async with Executor(limit_requests=100) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        event = await model.invoke(
            {"messages": HI},
            num_api_tokens_needed=20,
            http_path="chat/completions",
            metadata={"trace": "t1"},
        )
        assert event.status in (CallingStatus.QUEUED, CallingStatus.RUNNING)
        body = await event
    assert event.status is CallingStatus.COMPLETED and event.error is None
    assert event.result is body and body["model"] == "gpt-4o-mini"
    assert body["choices"][0]["message"]["content"].endswith(": hi")
    assert event.metadata == {"endpoint_name": "openai_chat_completions_gpt4", "trace": "t1"}
    assert (event.endpoint_url, event.payload) == ("chat/completions", {"messages": HI})


async def test_imodel_http_path_chooses_the_operation(fp: FakeProvider) -> None:
    config = openai_service(fp, default_request_kwargs={"model": "text-embedding-3-small"})
    async with Executor(limit_requests=100) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        embedding = await (await model.invoke({"input": "hello"}, http_path="embeddings"))
        chat = await (
            await model.invoke({"model": "gpt-4o", "messages": HI}, http_path="chat/completions")
        )
    assert embedding["object"] == "list" and embedding["data"][0]["embedding"]
    assert chat["model"] == "gpt-4o"  # the payload overrides default_request_kwargs
    assert [r.path for r in fp.requests] == ["/v1/embeddings", "/v1/chat/completions"]


async def test_imodel_errors_land_on_the_event(fp: FakeProvider) -> None:
    async with Executor(limit_requests=100) as executor, Endpoint(openai_service(fp)) as ep:
        model = iModel(endpoint=ep, executor=executor)
        event = await model.invoke({"messages": HI}, http_path="chat/completions")  # no model
        with pytest.raises(Exception) as caught:
            await event
    assert event.status is CallingStatus.FAILED and event.error is caught.value
    assert event.result is None


async def test_imodel_refuses_unknown_invoke_keywords(fp: FakeProvider) -> None:
    async with Executor() as executor, Endpoint(openai_service(fp)) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        with pytest.raises(ConfigError, match="did you mean 'http_path'"):
            await model.invoke({"messages": HI}, http_pth="chat/completions")


async def test_sdk_transport_with_sdk_method_name(fp: FakeProvider) -> None:
    config = ServiceEndpointConfig(
        name="claude",
        transport_type="sdk",
        api_key="SERVICE_API_KEY",
        base_url=f"{fp.base_url}/v1",
        sdk_config=SdkTransportConfig(sdk_provider_name="anthropic"),
        default_request_kwargs={"model": "claude-haiku-4-5", "max_tokens": 50},
    )
    async with Executor(limit_requests=10) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        event = await model.invoke({"messages": HI}, sdk_method_name="messages.create")
        body = await event
    assert body["type"] == "message" and body["content"][0]["text"].endswith(": hi")
    assert fp.requests[0].header("x-api-key") == "***"  # sent by the SDK, key masked


def openai_sdk_service(fp: FakeProvider, **fields: Any) -> ServiceEndpointConfig:
    return ServiceEndpointConfig(
        name="openai_sdk",
        transport_type="sdk",
        api_key="SERVICE_API_KEY",
        base_url=f"{fp.base_url}/v1",
        sdk_config=SdkTransportConfig(sdk_provider_name="openai"),
        **fields,
    )


async def test_openai_sdk_transport_with_sdk_method_name(fp: FakeProvider) -> None:
    config = openai_sdk_service(fp)
    async with Executor(limit_requests=10) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        chat = await model.invoke(
            {"model": "gpt-4o-mini", "messages": HI}, sdk_method_name="chat.completions.create"
        )
        embedding = await model.invoke(
            {"model": "text-embedding-3-small", "input": "hello"},
            sdk_method_name="embeddings.create",
        )
        chat_body, embedding_body = await chat, await embedding
    assert chat_body["object"] == "chat.completion"
    assert chat_body["choices"][0]["message"]["content"].endswith(": hi")
    assert embedding_body["object"] == "list" and embedding_body["data"][0]["embedding"]
    assert chat.endpoint_url == "chat.completions.create"
    assert [r.path for r in fp.requests] == ["/v1/chat/completions", "/v1/embeddings"]
    assert all((r.header("user-agent") or "").startswith("AsyncOpenAI/") for r in fp.requests)


def test_an_sdk_method_callboard_does_not_call_is_named_with_the_valid_ones() -> None:
    config = ServiceEndpointConfig(
        name="openai",
        transport_type="sdk",
        sdk_config=SdkTransportConfig(sdk_provider_name="openai"),
    )
    with pytest.raises(InvalidEndpointConfig, match=r"'chat\.complete'.*chat\.completions\.create"):
        config.endpoint_config(sdk_method_name="chat.complete")
    with pytest.raises(InvalidEndpointConfig, match=r"'audio\.speech\.create'") as caught:
        config.endpoint_config(sdk_method_name="audio.speech.create")
    assert caught.value.field == "sdk_method_name"
    with pytest.raises(InvalidEndpointConfig, match=r"embeddings\.create") as default:
        ServiceEndpointConfig(
            name="openai",
            transport_type="sdk",
            sdk_config=SdkTransportConfig(
                sdk_provider_name="openai", default_sdk_method_name="embedding.create"
            ),
        )
    assert default.value.field == "sdk_method_name"  # checked when built, not when called
    with pytest.raises(InvalidEndpointConfig, match="one of anthropic, openai"):
        ServiceEndpointConfig(
            name="x", transport_type="sdk", sdk_config=SdkTransportConfig(sdk_provider_name="groq")
        )


# -- client_constructor_kwargs -------------------------------------------------------------


async def test_client_constructor_kwargs_reach_the_sdk_client(fp: FakeProvider) -> None:
    config = openai_sdk_service(
        fp,
        client_constructor_kwargs={
            "organization": "org-42",
            "max_retries": 0,
            "timeout": 12.5,
            "default_headers": {"x-team": "search"},
        },
    )
    built = config.endpoint_config(sdk_method_name="chat.completions.create")
    assert built.retry.max_retries == 0 and built.timeout == 12.5  # the one retry layer
    assert dict(built.headers) == {"x-team": "search"}
    async with Executor(limit_requests=10) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        await (await model.invoke({"model": "gpt-4o-mini", "messages": HI}))
    sent = fp.requests[0]
    assert sent.header("openai-organization") == "org-42"  # given to AsyncOpenAI(...)
    assert sent.header("x-team") == "search"
    assert sent.header("x-stainless-retry-count") == "0"


async def test_client_constructor_kwargs_with_a_meaning_for_http(fp: FakeProvider) -> None:
    config = openai_service(
        fp,
        client_constructor_kwargs={"timeout": 5.0, "default_headers": {"x-team": "ads"}},
        default_request_kwargs={"model": "gpt-4o-mini"},
    )
    assert config.endpoint_config(http_path="chat/completions").timeout == 5.0
    async with Executor(limit_requests=10) as executor, Endpoint(config) as endpoint:
        model = iModel(endpoint=endpoint, executor=executor)
        await (await model.invoke({"messages": HI}, http_path="chat/completions"))
    assert fp.requests[0].header("x-team") == "ads"


def test_client_constructor_kwargs_without_a_meaning_are_refused_by_name() -> None:
    with pytest.raises(InvalidEndpointConfig, match="'event_hooks' has no meaning") as http:
        ServiceEndpointConfig(
            name="openai",
            transport_type="http",
            base_url="https://api.openai.com/v1",
            client_constructor_kwargs={"event_hooks": {"request": []}},
        )
    assert http.value.field == "client_constructor_kwargs.event_hooks"
    with pytest.raises(InvalidEndpointConfig, match="'organisation' is not a keyword") as sdk:
        ServiceEndpointConfig(
            name="openai",
            transport_type="sdk",
            sdk_config=SdkTransportConfig(sdk_provider_name="openai"),
            client_constructor_kwargs={"organisation": "org-secret-1"},
        )
    assert sdk.value.field == "client_constructor_kwargs.organisation"
    assert "org-secret-1" not in str(sdk.value)
    with pytest.raises(InvalidEndpointConfig, match="give the key as api_key") as key:
        ServiceEndpointConfig(
            name="openai",
            transport_type="sdk",
            sdk_config=SdkTransportConfig(sdk_provider_name="openai"),
            client_constructor_kwargs={"api_key": "sk-live-secret"},
        )
    assert "sk-live-secret" not in str(key.value)


def test_client_constructor_kwargs_secrets_never_show() -> None:
    config = ServiceEndpointConfig(
        name="openai",
        transport_type="sdk",
        sdk_config=SdkTransportConfig(sdk_provider_name="openai"),
        client_constructor_kwargs={"webhook_secret": "whsec-live-1", "max_retries": 1},
    )
    built = config.endpoint_config()
    for shown in (repr(config), repr(built), str(built.to_dict()), repr(built.client_kwargs)):
        assert "whsec-live-1" not in shown
    assert built.to_dict()["client_kwargs"] == {}  # text values are not serialized


# -- 3.4 Executor --------------------------------------------------------------------------


async def test_executor_submit_task_rate_limits_any_async_call(
    autojump_clock: trio.testing.MockClock,
) -> None:
    started: list[float] = []

    async def api_call(n: int) -> int:
        started.append(trio.current_time())
        await trio.sleep(0.1)
        return n * n

    async with Executor(limit_requests=2, capacity_refresh_time=1.0) as executor:
        events = [await executor.submit_task(lambda n=n: api_call(n)) for n in range(6)]
        results = [await event for event in events]
    assert results == [n * n for n in range(6)]
    # paced (adaptive admission's smooth default: one every half second, a small
    # burst): no window of 1 s holds more than 2 + 1, and six calls take about 2 s
    assert started[0] == 0.0 and started[-1] >= 1.9
    for i, t in enumerate(started):
        assert sum(1 for u in started[i:] if u < t + 1.0) <= 3


async def test_executor_api_token_limiter_is_optional() -> None:
    async with Executor(limit_requests=10) as executor:  # no token limit: tokens ignored
        event = await executor.submit_task(trio.lowlevel.checkpoint, num_api_tokens_needed=10**9)
        assert await event is None
    async with Executor(limit_tokens=1000) as executor:
        with pytest.raises(OversizeRequest):
            await executor.submit_task(trio.lowlevel.checkpoint, num_api_tokens_needed=5000)
        event = await executor.submit_task(trio.lowlevel.checkpoint, num_api_tokens_needed=500)
        await event
        assert event.status is CallingStatus.COMPLETED


async def test_executor_sets_the_error_of_a_failing_coroutine() -> None:
    async def failing() -> None:
        await trio.lowlevel.checkpoint()
        raise LookupError("no such thing")

    async with Executor() as executor:
        event = await executor.submit_task(failing, endpoint_url="sdk://x/y", method="SDK_CALL")
        with pytest.raises(LookupError):
            await event
        ok = await executor.submit_task(trio.lowlevel.checkpoint)
        await ok  # it keeps serving
    assert isinstance(event.error, LookupError) and event.status is CallingStatus.FAILED
    assert (event.endpoint_url, event.method) == ("sdk://x/y", "SDK_CALL")


async def test_executor_with_a_backend_refuses_tasks_typed(fp: FakeProvider) -> None:
    executor = Executor(Endpoint(openai_service(fp)))
    with pytest.raises(ConfigError, match="built without one"):
        await executor.submit_task(trio.lowlevel.checkpoint)
