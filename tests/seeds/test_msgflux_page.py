"""msgflux's Model page, snippet by snippet, as its users would run it on callboard.

Each test is one snippet of ``/work/shared/seeds/002_*`` (in the page's order, named
after its section), translated only as callboard needs: ``import callboard as mf``,
``await`` on calls (callboard is Trio-native; pytest-trio runs each test in
``trio.run``), ``base_url=`` pointing at a FakeProvider on loopback, and for msgflux's
own helpers the standard library: ``mf.set_envs(...)`` is setting the environment
variable, ``mf.save`` / ``mf.load`` is ``json`` to a file, ``F.map_gather`` is a trio
nursery. Each asserts what the page says the snippet prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trio

import callboard as mf
from callboard.testing import FakeProvider, Fault

KEY = "test-key"  # the fake provider's key: what "sk-..." stands for on the page


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "JINA_API_KEY"):
        monkeypatch.setenv(name, KEY)  # mf.set_envs(OPENAI_API_KEY="sk-...")


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[KEY]) as provider:
        yield provider


def at(fp: FakeProvider) -> str:
    return f"{fp.base_url}/v1"


# -- Overview ---------------------------------------------------------------------------


async def test_overview_one_factory_for_every_provider(fp: FakeProvider) -> None:
    # OpenAI
    model = mf.Model.chat_completion("openai/gpt-4o", temperature=0.7, base_url=at(fp))
    assert (model.provider, model.model_id) == ("openai", "gpt-4o")
    # Google
    model = mf.Model.chat_completion(
        "google/gemini-2.0-flash-exp", temperature=0.7, base_url=at(fp)
    )
    assert (model.provider, model.model_id) == ("gemini", "gemini-2.0-flash-exp")
    # Anthropic
    model = mf.Model.chat_completion(
        "anthropic/claude-3-5-sonnet-20241022", temperature=0.7, base_url=at(fp)
    )
    assert (model.provider, model.model_id) == ("anthropic", "claude-3-5-sonnet-20241022")
    response = await model(messages=[{"role": "user", "content": "Hi"}])
    assert response.consume().endswith("Hi")
    assert fp.requests[-1].json()["temperature"] == 0.7


# -- Quick Start ------------------------------------------------------------------------


async def test_basic_usage(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    os.environ["OPENAI_API_KEY"] = KEY  # mf.set_envs(OPENAI_API_KEY="sk-..."); undone after
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    response = await model(messages=[{"role": "user", "content": "Hello!"}])
    print(response.consume())  # "Hello! How can I help you today?"
    printed = capsys.readouterr().out
    assert printed.startswith("echo ") and printed.endswith(": Hello!\n")  # the fake's reply


# -- Model Types ------------------------------------------------------------------------


def test_available_model_types(capsys: pytest.CaptureFixture[str]) -> None:
    types = mf.Model.model_types()
    print(types)
    assert (
        capsys.readouterr().out
        == str(
            [
                "chat_completion",
                "text_embedder",
                "text_to_image",
                "image_text_to_image",
                "text_to_speech",
                "speech_to_text",
                "moderation",
                "text_classifier",
                "image_classifier",
                "image_embedder",
                "text_reranker",
            ]
        )
        + "\n"
    )


def test_factory_methods_one_per_model_type() -> None:
    table = {
        "chat_completion": mf.Model.chat_completion,
        "text_embedder": mf.Model.text_embedder,
        "text_to_image": mf.Model.text_to_image,
        "image_text_to_image": mf.Model.image_text_to_image,
        "text_to_speech": mf.Model.text_to_speech,
        "speech_to_text": mf.Model.speech_to_text,
        "moderation": mf.Model.moderation,
        "text_classifier": mf.Model.text_classifier,
        "image_classifier": mf.Model.image_classifier,
        "image_embedder": mf.Model.image_embedder,
        "text_reranker": mf.Model.text_reranker,
    }
    assert list(table) == mf.Model.model_types()
    examples = {
        "chat_completion": "openai/gpt-4o",
        "text_embedder": "openai/text-embedding-3-small",
        "text_to_image": "openai/dall-e-3",
        "image_text_to_image": "openai/gpt-image-1",
        "text_to_speech": "openai/tts-1",
        "speech_to_text": "openai/whisper-1",
        "moderation": "openai/omni-moderation-latest",
        "text_classifier": "jinaai/jina-embeddings-v3",
        "image_classifier": "jinaai/jina-clip-v2",
        "image_embedder": "jinaai/jina-clip-v2",
        "text_reranker": "jinaai/jina-reranker-v2-base-multilingual",
    }
    for name, factory in table.items():
        model = factory(examples[name])
        assert model.model_type == name
        assert model.instance_type() == {"model_type": name}


# -- Providers --------------------------------------------------------------------------


def test_available_providers_by_model_type(capsys: pytest.CaptureFixture[str]) -> None:
    providers = mf.Model.providers()
    print(providers)
    assert capsys.readouterr().out.startswith("{'chat_completion': ['openai', ")
    assert {"openai", "gemini", "anthropic", "groq", "together"} <= set(
        providers["chat_completion"]
    )
    assert {"openai", "gemini", "jinaai"} <= set(providers["text_embedder"])
    assert {"openai", "replicate"} <= set(providers["text_to_image"])
    assert list(providers) == mf.Model.model_types()


def test_supported_providers_all_thirteen() -> None:
    page = [
        "openai", "google", "anthropic", "groq", "together", "replicate", "ollama",
        "cerebras", "sambanova", "jinaai", "openrouter", "imagerouter", "vllm",
    ]  # fmt: skip
    offered = {name for names in mf.Model.providers().values() for name in names}
    for name in page:
        assert mf.get_provider(name).name in offered  # "google" is gemini's other name


# -- Usage Examples ---------------------------------------------------------------------


async def test_chat_completion(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    model = mf.Model.chat_completion(
        "openai/gpt-4o", temperature=0.7, max_tokens=1000, base_url=at(fp)
    )
    response = await model(
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"},
        ]
    )
    print(response.consume())  # "The capital of France is Paris."
    assert capsys.readouterr().out.endswith(": What is the capital of France?\n")
    body = fp.requests[-1].json()
    assert (body["temperature"], body["max_tokens"]) == (0.7, 1000)
    assert body["messages"][0] == {"role": "system", "content": "You are a helpful assistant."}


async def test_text_embeddings(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    embedder = mf.Model.text_embedder("openai/text-embedding-3-small", base_url=at(fp))
    response = await embedder("Hello, world!")
    embedding = response.consume()
    print(len(embedding))  # 1536
    print(embedding[:5])  # [0.123, -0.456, 0.789, ...]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1536"
    assert len(json.loads(lines[1])) == 5 and all(-1 <= x <= 1 for x in json.loads(lines[1]))


async def test_speech_to_text(
    fp: FakeProvider, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    audio = tmp_path / "path" / "to" / "audio.mp3"
    audio.parent.mkdir(parents=True)
    audio.write_bytes(b"ID3" + bytes(61))
    model = mf.Model.speech_to_text("openai/whisper-1", base_url=at(fp))
    response = await model(str(audio))  # "path/to/audio.mp3"
    transcription = response.consume()
    print(transcription)  # "Hello, this is a test."
    assert capsys.readouterr().out.startswith("transcript of audio.mp3 (64 bytes")


async def test_text_to_image(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    model = mf.Model.text_to_image("openai/dall-e-3", base_url=at(fp))
    response = await model(
        prompt="A cat wearing a space suit", size="1024x1024", quality="standard"
    )
    image_url = response.consume()
    print(image_url)  # "https://..."
    assert capsys.readouterr().out.startswith("data:image/png;base64,")  # the fake's image
    body = fp.requests[-1].json()
    assert (body["size"], body["quality"]) == ("1024x1024", "standard")


# -- Model Information ------------------------------------------------------------------


def test_getting_model_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    model = mf.Model.chat_completion("openai/gpt-4o", api_key="OPENAI_API_KEY")
    print(model.model_type)  # "chat_completion"
    print(model.instance_type())  # {'model_type': 'chat_completion'}
    print(model.get_model_info())  # {'model_id': 'gpt-4o', 'provider': 'openai'}
    assert capsys.readouterr().out.splitlines() == [
        "chat_completion",
        "{'model_type': 'chat_completion'}",
        "{'model_id': 'gpt-4o', 'provider': 'openai'}",
    ]


# -- Serialization ----------------------------------------------------------------------


def test_serializing_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    model = mf.Model.chat_completion(
        "openai/gpt-4o", temperature=0.7, max_tokens=500, api_key="OPENAI_API_KEY"
    )
    state = model.serialize()
    print(state)
    assert state["msgflux_type"] == "model"
    assert (state["provider"], state["model_type"]) == ("openai", "chat_completion")
    assert state["state"]["model_id"] == "gpt-4o"
    assert isinstance(state["state"]["sampling_params"], dict)
    assert state["state"]["sampling_run_params"] == {"temperature": 0.7, "max_tokens": 500}
    Path("model_config.json").write_text(json.dumps(state))  # mf.save(state, ...)
    assert json.loads(Path("model_config.json").read_text()) == state


async def test_deserializing_a_model(
    fp: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    saved = mf.Model.chat_completion("openai/gpt-4o", temperature=0.7, base_url=at(fp))
    await trio.Path("model_config.json").write_text(json.dumps(saved.serialize()))
    state = json.loads(await trio.Path("model_config.json").read_text())  # mf.load(...)
    model = mf.Model.from_serialized(
        provider=state["provider"], model_type=state["model_type"], state=state["state"]
    )
    response = await model(messages=[{"role": "user", "content": "Hello"}])
    assert response.consume().endswith(": Hello")
    assert fp.requests[-1].json()["temperature"] == 0.7


# -- Response Types ---------------------------------------------------------------------


async def test_model_response(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    embedder = mf.Model.text_embedder("openai/text-embedding-3-small", base_url=at(fp))
    response = await embedder("Hello")
    print(type(response))  # <class 'msgflux.models.response.ModelResponse'>
    print(response.response_type)  # "text_embedding"
    result = response.consume()
    print(result)  # [0.123, -0.456, ...]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "<class 'callboard.models._response.ModelResponse'>"
    assert isinstance(response, mf.ModelResponse)
    assert lines[1] == "text_embedding"
    assert json.loads(lines[2]) == result and len(result) == 1536


async def test_model_stream_response(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    response = await model(messages=[{"role": "user", "content": "Count to 5"}], stream=True)
    print(type(response))  # <class 'msgflux.models.response.ModelStreamResponse'>
    async for chunk in response.consume():
        print(chunk, end="", flush=True)
    out = capsys.readouterr().out
    first, _, streamed = out.partition("\n")
    assert first == "<class 'callboard.models._response.ModelStreamResponse'>"
    assert streamed.startswith("echo ") and streamed.endswith(": Count to 5")
    assert fp.requests[-1].json()["stream"] is True


# -- Error Handling ---------------------------------------------------------------------


async def test_retry_mechanism(fp: FakeProvider, autojump_clock: trio.testing.MockClock) -> None:
    fp.script("/v1/chat/completions", [Fault.error(500), Fault.error(503)])
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    try:
        response = await model(messages=[{"role": "user", "content": "Hello"}])
    except Exception as e:
        pytest.fail(f"Failed after retries: {e}")
    assert response.consume().endswith(": Hello")
    assert [r.status for r in fp.requests] == [500, 503, 200]  # retried twice, then answered


async def test_retry_mechanism_gives_up_with_a_typed_error(
    fp: FakeProvider, autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    fp.script("/v1/chat/completions", [Fault.error(500)] * 5)
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    try:
        await model(messages=[{"role": "user", "content": "Hello"}])
    except Exception as e:
        print(f"Failed after retries: {e}")
    assert capsys.readouterr().out.startswith("Failed after retries: openai returned HTTP 500")
    assert len(fp.requests) == 3  # the default policy: two retries


def test_provider_not_available_never_happens() -> None:
    # callboard speaks each provider's HTTP API itself: no client package to install.
    try:
        model = mf.Model.chat_completion("openai/gpt-4o", api_key="OPENAI_API_KEY")
    except ImportError as e:  # pragma: no cover - the point is that it is not raised
        pytest.fail(str(e))
    assert model.provider == "openai"


def test_invalid_model_path(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        mf.Model.chat_completion("invalid-provider/model")
    except ValueError as e:
        print(e)
    # "Provider `invalid-provider` not registered for type `chat_completion`"
    out = capsys.readouterr().out
    assert out.startswith("unknown provider 'invalid-provider' for chat_completion;")
    assert "providers offering chat_completion: " in out


# -- Best Practices ---------------------------------------------------------------------


async def test_use_environment_variables_for_api_keys(fp: FakeProvider) -> None:
    os.environ["OPENAI_API_KEY"] = KEY  # mf.set_envs(OPENAI_API_KEY="sk-...")
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    response = await model(messages=[{"role": "user", "content": "uses the variable"}])
    assert response.consume().endswith(": uses the variable")  # the fake took the key


async def test_reuse_model_instances(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    queries = ["one", "two", "three"]
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    for query in queries:
        response = await model(messages=[{"role": "user", "content": query}])
        print(response.consume())
    for query in queries:
        model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
        response = await model(messages=[{"role": "user", "content": query}])
    lines = capsys.readouterr().out.splitlines()
    assert [line.rpartition(": ")[2] for line in lines] == queries
    assert len(fp.requests) == 6


async def test_specify_model_parameters(fp: FakeProvider) -> None:
    model = mf.Model.chat_completion(
        "openai/gpt-4o", temperature=0.7, max_tokens=1000, top_p=0.9, base_url=at(fp)
    )
    await model(messages=[{"role": "user", "content": "explicit"}])
    body = fp.requests[-1].json()
    assert (body["temperature"], body["max_tokens"], body["top_p"]) == (0.7, 1000, 0.9)
    model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
    await model(messages=[{"role": "user", "content": "defaults"}])
    assert "temperature" not in fp.requests[-1].json()


async def test_handle_errors_gracefully(fp: FakeProvider) -> None:
    async def safe_completion(prompt: str) -> str:
        try:
            model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp))
            response = await model(messages=[{"role": "user", "content": prompt}])
            return response.consume()
        except ImportError:
            return "Provider not installed"
        except ValueError as e:
            return f"Configuration error: {e}"
        except Exception as e:
            return f"Unexpected error: {e}"

    result = await safe_completion("Hello!")
    assert result.endswith(": Hello!")


async def test_save_configurations(
    fp: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    configs = {
        "creative": {"temperature": 0.9, "max_tokens": 2000},
        "precise": {"temperature": 0.3, "max_tokens": 500},
    }
    for name, params in configs.items():
        model = mf.Model.chat_completion("openai/gpt-4o", base_url=at(fp), **params)
        state = model.serialize()
        await trio.Path(f"{name}_model.json").write_text(json.dumps(state))  # mf.save(...)
    state = json.loads(await trio.Path("creative_model.json").read_text())  # mf.load(...)
    model = mf.Model.from_serialized(**state)
    await model(messages=[{"role": "user", "content": "be creative"}])
    body = fp.requests[-1].json()
    assert (body["temperature"], body["max_tokens"]) == (0.9, 2000)


# -- Common Patterns --------------------------------------------------------------------


async def test_multi_provider_fallback(
    fp: FakeProvider, capsys: pytest.CaptureFixture[str]
) -> None:
    async def get_completion(prompt: str, providers: list[str] | None = None) -> str:
        """Try multiple providers in order."""
        if providers is None:
            providers = [
                "openai/gpt-4o",
                "anthropic/claude-3-5-sonnet-20241022",
                "google/gemini-2.0-flash-exp",
            ]
        for provider_path in providers:
            try:
                model = mf.Model.chat_completion(provider_path, base_url=at(fp))
                response = await model(messages=[{"role": "user", "content": prompt}])
                return response.consume()
            except Exception as e:
                print(f"Failed with {provider_path}: {e}")
                continue
        raise RuntimeError("All providers failed")

    result = await get_completion("What is AI?")
    assert result.endswith(": What is AI?") and len(fp.requests) == 1
    # The fallback itself: the first path names no provider, the second answers.
    result = await get_completion("What is AI?", ["nowhere/gpt-4o", "anthropic/claude-haiku-4-5"])
    assert capsys.readouterr().out.startswith("Failed with nowhere/gpt-4o: unknown provider")
    assert result.endswith("What is AI?") and fp.requests[-1].path == "/v1/messages"


async def test_batch_processing(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    embedder = mf.Model.text_embedder("openai/text-embedding-3-small", base_url=at(fp))
    texts = ["Hello", "World", "AI", "Embedding"]
    results: list[Any] = [None] * len(texts)

    async def one(index: int, text: str) -> None:
        results[index] = await embedder(text)

    async with trio.open_nursery() as nursery:  # F.map_gather(embedder, args_list=...)
        for index, text in enumerate(texts):
            nursery.start_soon(one, index, text)
    embeddings = [r.consume() for r in results]
    print(f"Generated {len(embeddings)} embeddings")
    assert capsys.readouterr().out == "Generated 4 embeddings\n"
    assert all(isinstance(r, mf.ModelResponse) for r in results)
    assert len({tuple(e) for e in embeddings}) == 4  # each text its own vector


async def test_model_comparison(fp: FakeProvider, capsys: pytest.CaptureFixture[str]) -> None:
    async def compare_models(prompt: str, model_paths: list[str]) -> dict[str, str]:
        """Compare responses from different models."""
        results: dict[str, str] = {}
        for path in model_paths:
            model = mf.Model.chat_completion(path, temperature=0.7, base_url=at(fp))
            response = await model(messages=[{"role": "user", "content": prompt}])
            results[path] = response.consume()
        return results

    models = [
        "openai/gpt-4o",
        "anthropic/claude-3-5-sonnet-20241022",
        "google/gemini-2.0-flash-exp",
    ]
    responses = await compare_models("Explain quantum computing", models)
    for model, response in responses.items():
        print(f"\n{model}:\n{response}\n")
    out = capsys.readouterr().out
    for model in models:
        assert f"\n{model}:\necho " in out
    assert list(responses) == models
    assert all(r.endswith("Explain quantum computing") for r in responses.values())
    assert [r.path for r in fp.requests] == [
        "/v1/chat/completions",
        "/v1/messages",
        "/v1/chat/completions",
    ]
