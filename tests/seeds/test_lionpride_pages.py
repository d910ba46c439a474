"""lionpride's iModel pages (seeds 000, the long one, and 001, the short one), line by line.

Each test is one snippet of a page, translated only by awaiting inside a trio test, by
pointing ``base_url`` at the FakeProvider, and by setting the environment variables the
page names. It asserts what the page says the snippet prints. Where the pages disagree
the long page wins unless that breaks the short page's example (docs/imodel.md says
which way each went): ``response.data`` is the decoded body (the short page indexes it),
``response.text`` the extracted text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

from callboard import (
    AnthropicMessagesEndpoint,
    CallingStatus,
    CircuitBreaker,
    HookPhase,
    HookRegistry,
    NotRestorable,
    RetryConfig,
    RetryPolicy,
    ServiceRegistry,
    StreamChannel,
    Tool,
    iModel,
)
from callboard.testing import FakeProvider

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture
async def fp(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeProvider]:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY"):
        monkeypatch.setenv(name, "test-key")
    async with FakeProvider() as server:
        yield server


def url(fp: FakeProvider) -> str:
    return f"{fp.base_url}/v1"


def my_func(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


# -- the short page (001) ------------------------------------------------------------------


async def test_short_invoke_prints_the_content_of_the_body(fp: FakeProvider) -> None:
    model = iModel(provider="openai", model="gpt-4o-mini", base_url=url(fp))
    calling = await model.invoke(model="gpt-4o-mini", messages=HELLO)
    content = calling.response.data["choices"][0]["message"]["content"]
    assert content.endswith(": Hello") and content == calling.response.text


async def test_short_to_dict_from_dict_gives_a_fresh_identity(fp: FakeProvider) -> None:
    model = iModel(provider="openai", model="gpt-4o-mini", base_url=url(fp))
    data = model.to_dict()
    restored = iModel.from_dict(data)  # Fresh id/created_at
    assert restored.id != model.id and restored.to_dict() == data
    calling = await restored.invoke(messages=HELLO)
    assert calling.response.data["model"] == "gpt-4o-mini"


async def test_short_rate_limiting_builds_the_buckets(fp: FakeProvider) -> None:
    model = iModel(
        provider="openai",
        model="gpt-4o-mini",
        limit_requests=50,
        limit_tokens=100000,
        capacity_refresh_time=60,
        base_url=url(fp),
    )
    # the buckets, paced and learning (adaptive admission) over the configured limits
    assert model.rate_limiter is not None and model.rate_limiter.capacity == 50
    assert model.token_limiter is not None and model.token_limiter.capacity == 100000
    calling = await model.invoke(messages=HELLO)
    assert model.rate_limiter.available < 50 and calling.status is CallingStatus.COMPLETED


async def test_short_registry_finds_models_by_the_names_given(fp: FakeProvider) -> None:
    registry = ServiceRegistry()
    registry.register(iModel(provider="openai", model="gpt-4o-mini", name="gpt4", base_url=url(fp)))
    registry.register(
        iModel(provider="anthropic", model="claude-3-5-sonnet", name="claude", base_url=url(fp))
    )
    model = registry.get("claude")
    assert model.name == "claude"
    calling = await model.invoke(messages=HELLO)
    assert calling.response.data["type"] == "message"  # an Anthropic body


async def test_short_batch_processing_returns_every_answer_in_order(
    fp: FakeProvider, autojump_clock: trio.testing.MockClock
) -> None:
    # MockClock: the minute the 50-per-minute limit imposes passes at once; timeout=None
    # so that the jumping clock never times out a request waiting on the socket.
    async def process_batch(prompts: list[str]) -> list[str]:
        model = iModel(
            provider="openai",
            model="gpt-4o-mini",
            limit_requests=50,
            limit_tokens=100000,
            capacity_refresh_time=60,
            base_url=url(fp),
            timeout=None,
        )
        results: list[str] = []
        for prompt in prompts:
            calling = await model.invoke(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": prompt}],
            )
            results.append(calling.response.data["choices"][0]["message"]["content"])
        return results

    prompts = [f"Summarize topic {i}" for i in range(100)]
    start = trio.current_time()
    results = await process_batch(prompts)
    assert [r.rsplit(": ", 1)[1] for r in results] == prompts
    assert trio.current_time() - start >= 59  # 50 at once, then 50 more over a minute


# -- the long page (000): __init__, create_calling, invoke ---------------------------------


async def test_long_init_examples_build_models(fp: FakeProvider) -> None:
    backend = AnthropicMessagesEndpoint(api_key="ANTHROPIC_API_KEY", base_url=url(fp))
    model = iModel(backend=backend)
    assert model.name == "anthropic_messages"
    auto = iModel(provider="anthropic", api_key="ANTHROPIC_API_KEY", base_url=url(fp))
    assert auto.name == "anthropic_messages" and auto.api_key_env == "ANTHROPIC_API_KEY"
    openai = iModel(provider="openai", endpoint="chat/completions", base_url=url(fp))
    assert openai.name == "openai_chat"
    limited = iModel(
        provider="anthropic",
        api_key="ANTHROPIC_API_KEY",
        limit_requests=50,
        limit_tokens=100000,
        capacity_refresh_time=60.0,
        base_url=url(fp),
    )
    assert (limited.limit_requests, limited.limit_tokens) == (50, 100000)
    for each in (model, auto, limited):
        calling = await each.invoke(model="claude-sonnet-4-5", max_tokens=50, messages=HELLO)
        assert calling.response.text.endswith(": Hello")


async def test_long_create_calling_then_invoke_it_later(fp: FakeProvider) -> None:
    model = iModel(provider="anthropic", api_key="ANTHROPIC_API_KEY", base_url=url(fp))
    calling = await model.create_calling(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Hello!"}],
        timeout=120.0,
    )
    assert calling.status is CallingStatus.PENDING and calling.timeout == 120.0
    calling.timeout = 180.0  # Override timeout
    calling = await model.invoke(calling=calling)
    assert calling.status is CallingStatus.COMPLETED and calling.timeout == 180.0


async def test_long_invoke_examples(fp: FakeProvider) -> None:
    model = iModel(provider="openai", base_url=url(fp))
    calling = await model.invoke(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}]
    )
    # The long page prints ``data`` as the extracted text; the short page indexes it as
    # the body. The short page's example wins here: data is the body, text the text.
    assert calling.response.data["object"] == "chat.completion"
    assert calling.response.text.endswith(": Hello!")
    calling = await model.create_calling(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}]
    )
    calling.timeout = 120.0
    calling = await model.invoke(calling=calling)
    assert calling.status is CallingStatus.COMPLETED
    calling = await model.invoke(
        poll_timeout=180.0,
        model="claude-opus-4",
        messages=[{"role": "user", "content": "Write an essay"}],
    )
    assert calling.timeout == 180.0 and calling.response.model == "claude-opus-4"


async def test_long_invoke_stream_yields_the_text(fp: FakeProvider) -> None:
    model = iModel(provider="openai", api_key="OPENAI_API_KEY", base_url=url(fp))
    story = [{"role": "user", "content": "Write a story"}]
    chunks = [chunk async for chunk in model.invoke_stream(model="gpt-4o-mini", messages=story)]
    assert len(chunks) > 1 and "".join(chunks).endswith(": Write a story")
    calling = await model.create_calling(streaming=True, model="gpt-4o-mini", messages=story)
    again = [chunk async for chunk in model.invoke_stream(calling=calling)]
    assert "".join(again) == "".join(chunks)


async def test_long_stream_with_channel_and_consumers(fp: FakeProvider) -> None:
    model = iModel(provider="openai", api_key="OPENAI_API_KEY", base_url=url(fp))
    channel = await model.invoke_stream_with_channel(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Write a story"}]
    )
    assert isinstance(channel, StreamChannel)
    printed: list[str] = []
    logged: list[str] = []
    channel.add_consumer(lambda chunk: printed.append(chunk.content))
    channel.add_consumer(lambda chunk: logged.append(chunk.content))
    async for _chunk in channel:
        pass  # Consumers already processing
    full_text = channel.get_accumulated()
    assert full_text.endswith(": Write a story")
    assert "".join(printed) == "".join(logged) == full_text


# -- the long page: serialization, properties --------------------------------------------


async def test_long_to_dict_to_a_json_file_and_back(fp: FakeProvider, tmp_path: Path) -> None:
    model = iModel(provider="anthropic", api_key="ANTHROPIC_API_KEY", base_url=url(fp))
    config = model.to_dict()
    path = tmp_path / "model.json"
    path.write_text(json.dumps(config))
    assert "test-key" not in path.read_text()  # only the variable's name is kept
    restored = iModel.from_dict(json.loads(path.read_text()))
    calling = await restored.invoke(model="claude-sonnet-4-5", messages=HELLO)
    assert calling.response.text.endswith(": Hello")


async def test_long_tool_backed_model_round_trips() -> None:
    # The page says this fails (backend=None). callboard records the function's import
    # path instead, so the model comes back (docs/imodel.md: "Tool-backed models").
    tool_model = iModel(backend=Tool(func_callable=my_func))
    config = tool_model.to_dict()
    assert config["backend_data"]["function"].endswith(":my_func")
    restored = iModel.from_dict(config)
    assert (await restored.invoke(a=2, b=3)).response == 5


async def test_long_properties_name_version_tags(fp: FakeProvider) -> None:
    model = iModel(provider="anthropic", base_url=url(fp))
    assert model.name == "anthropic_messages"
    assert model.version == "2023-06-01"
    assert model.tags == {"llm", "anthropic"}


# -- the long page: usage patterns ---------------------------------------------------------


async def test_long_batch_with_gather_under_the_rate_limit(
    fp: FakeProvider, autojump_clock: trio.testing.MockClock
) -> None:
    model = iModel(
        provider="openai",
        api_key="OPENAI_API_KEY",
        limit_requests=50,
        limit_tokens=100000,
        capacity_refresh_time=60.0,
        base_url=url(fp),
        timeout=None,  # MockClock: see the short page's batch
    )
    results: list[Any] = [None] * 100

    async def task(i: int) -> None:  # asyncio.gather → a nursery
        results[i] = await model.invoke(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"Task {i}"}]
        )

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for i in range(100):
            nursery.start_soon(task, i)
    assert [r.response.text.rsplit(": ", 1)[1] for r in results] == [
        f"Task {i}" for i in range(100)
    ]
    assert trio.current_time() - start >= 59


async def test_long_circuit_breaker_and_retry_reach_the_endpoint(fp: FakeProvider) -> None:
    backend = AnthropicMessagesEndpoint(
        api_key="ANTHROPIC_API_KEY",
        circuit_breaker=CircuitBreaker(failure_threshold=5, recovery_time=30.0),
        retry_config=RetryConfig(max_retries=3, initial_delay=1.0, exponential_base=2.0),
        base_url=url(fp),
    )
    model = iModel(backend=backend)
    assert backend.config.retry == RetryPolicy(
        max_retries=3, base_delay=1.0, multiplier=2.0, max_delay=60.0
    )
    assert (backend.breaker.failure_threshold, backend.breaker.recovery_time) == (5, 30.0)
    calling = await model.invoke(model="claude-sonnet-4-5", messages=HELLO)
    assert calling.status is CallingStatus.COMPLETED


async def test_long_lifecycle_hooks_print_request_and_response(fp: FakeProvider) -> None:
    printed: list[str] = []

    async def log_request(event: Any, **kwargs: Any) -> None:
        printed.append(f"[PRE] Request: {event.payload}")

    async def log_response(event: Any, **kwargs: Any) -> None:
        # The page prints .data as the text; here data is the body (see the module doc).
        printed.append(f"[POST] Response: {event.execution.response.text}")

    hooks = HookRegistry()
    hooks.register(HookPhase.PreInvocation, log_request)
    hooks.register(HookPhase.PostInvocation, log_response)
    model = iModel(
        provider="openai", api_key="OPENAI_API_KEY", hook_registry=hooks, base_url=url(fp)
    )
    calling = await model.invoke(model="gpt-4o-mini", messages=HELLO)
    assert printed == [
        f"[PRE] Request: {calling.payload}",
        f"[POST] Response: {calling.response.text}",
    ]
    assert calling.execution.response.data == calling.response.data


async def test_long_serialization_keeps_limits_not_state(fp: FakeProvider) -> None:
    model = iModel(
        provider="anthropic",
        api_key="ANTHROPIC_API_KEY",
        limit_requests=50,
        limit_tokens=100000,
        base_url=url(fp),
    )
    for _ in range(3):
        await model.invoke(model="claude-sonnet-4-5", messages=HELLO)
    config = json.loads(json.dumps(model.to_dict()))
    restored = iModel.from_dict(config)
    assert restored.rate_limiter is not None and model.rate_limiter is not None
    assert restored.rate_limiter.capacity == 50
    # fresh buckets, not the 3 calls' state (smooth pacing: the burst a new model has)
    assert restored.rate_limiter.available > model.rate_limiter.available


# -- the long page: common pitfalls --------------------------------------------------------


async def test_long_pitfall_env_var_missing_after_deserialization(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLD_API_KEY_ENV_VAR", "test-key")
    model = iModel(provider="anthropic", api_key="OLD_API_KEY_ENV_VAR", base_url=url(fp))
    config = model.to_dict()
    monkeypatch.delenv("OLD_API_KEY_ENV_VAR")
    with pytest.raises(ValueError, match="OLD_API_KEY_ENV_VAR") as caught:
        iModel.from_dict(config)
    assert isinstance(caught.value, NotRestorable)


async def test_long_pitfall_poll_timeout_for_slow_models(fp: FakeProvider) -> None:
    model = iModel(provider="anthropic", limit_requests=10, base_url=url(fp))
    calling = await model.invoke(
        poll_timeout=180.0,
        model="claude-opus-4",
        messages=[{"role": "user", "content": "Write an essay"}],
    )
    assert calling.status is CallingStatus.COMPLETED and calling.timeout == 180.0


# -- the long page: examples ---------------------------------------------------------------


async def test_long_example_1_multi_provider_registry(fp: FakeProvider) -> None:
    registry = ServiceRegistry()
    for provider in ["anthropic", "openai", "groq"]:
        model = iModel(
            provider=provider,
            api_key=f"{provider.upper()}_API_KEY",
            limit_requests=50,
            limit_tokens=100000,
            base_url=url(fp),
        )
        registry.register(model)
    fast_model = registry.get("groq_chat")
    smart_model = registry.get("anthropic_messages")
    cheap_model = registry.get("openai_chat")
    assert registry.get("anthropic:chat") is smart_model  # callboard's spelling too
    assert {fast_model.name, cheap_model.name} == {"groq_chat", "openai_chat"}
    calling = await smart_model.invoke(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "Explain quantum computing"}],
    )
    assert calling.response.data["type"] == "message"


async def test_long_example_2_custom_timeout_and_retry(fp: FakeProvider) -> None:
    backend = AnthropicMessagesEndpoint(
        api_key="ANTHROPIC_API_KEY",
        retry_config=RetryConfig(max_retries=5, initial_delay=2.0, exponential_base=2.0),
        base_url=url(fp),
    )
    model = iModel(backend=backend)
    calling = await model.create_calling(
        timeout=180.0,
        model="claude-opus-4",
        messages=[{"role": "user", "content": "Write a detailed essay"}],
    )
    calling = await model.invoke(calling=calling, poll_timeout=200.0)
    assert calling.timeout == 180.0  # poll_timeout only ever shortens it
    assert backend.config.retry.max_retries == 5 and calling.response.text


async def test_long_example_3_streaming_with_multiple_consumers(
    fp: FakeProvider, tmp_path: Path
) -> None:
    model = iModel(provider="openai", api_key="OPENAI_API_KEY", base_url=url(fp))
    channel = await model.invoke_stream_with_channel(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Write a story about AI"}],
    )
    terminal_output: list[str] = []
    file_output: list[str] = []
    channel.add_consumer(lambda chunk: terminal_output.append(chunk.content))
    channel.add_consumer(lambda chunk: file_output.append(chunk.content))
    async for _chunk in channel:
        pass
    full_text = channel.get_accumulated()
    story = tmp_path / "story.txt"
    story.write_text("".join(file_output))
    assert story.read_text() == full_text == "".join(terminal_output)
    assert full_text.endswith(": Write a story about AI")
