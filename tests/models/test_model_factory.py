"""The Model factory end to end: every model type against the fake provider on loopback."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from callboard.calling import CallingStatus
from callboard.errors import ConfigError
from callboard.imodel import HookPhase, HookRegistry
from callboard.models import (
    ChatCompletion,
    InvalidModelId,
    Model,
    ModelResponse,
    ModelStreamResponse,
    ModelTypeNotOffered,
    ModerationResult,
    RankedDocument,
    SyncCallInsideTrio,
    TextEmbedder,
    UnknownModelProvider,
)
from callboard.providers import PROVIDERS, MissingApiKey, UnknownProvider, UnsupportedModelType
from callboard.resilience import AuthenticationError, ProviderError, RetryPolicy
from callboard.testing import FakeProvider, Fault, Latency

KEY = "test-key"


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[KEY]) as provider:
        yield provider


def where(fp: FakeProvider) -> dict[str, str]:
    return {"base_url": f"{fp.base_url}/v1", "api_key": KEY}


# -- what the factory knows --------------------------------------------------------------


def test_model_types_are_the_pages_eleven_in_its_order() -> None:
    assert Model.model_types() == [
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
    for name in Model.model_types():
        assert callable(getattr(Model, name))


def test_providers_are_keyed_by_model_type() -> None:
    providers = Model.providers()
    assert list(providers) == Model.model_types()
    assert providers["chat_completion"][:3] == ["openai", "anthropic", "gemini"]  # catalog order
    assert {"cerebras", "sambanova", "groq", "together", "ollama"} <= set(
        providers["chat_completion"]
    )
    assert "anthropic" not in providers["text_embedder"]
    assert {"openai", "jinaai"} <= set(providers["text_embedder"])
    assert {"openai", "replicate", "imagerouter"} <= set(providers["text_to_image"])
    assert {"openai", "replicate", "imagerouter"} <= set(providers["image_text_to_image"])
    for kind in ("text_classifier", "image_classifier", "image_embedder"):
        assert providers[kind] == ["jinaai"]
    offered = {name for names in providers.values() for name in names}
    assert offered == set(PROVIDERS)  # every provider offers something


# -- every model type, end to end --------------------------------------------------------


async def test_chat_completion_sends_its_defaults_and_reads_the_answer(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", temperature=0.7, max_tokens=50, **where(fp))
    assert isinstance(model, ChatCompletion)
    assert (model.provider, model.model_id, model.model_type) == (
        "openai",
        "gpt-4o",
        "chat_completion",
    )
    response = await model(messages=[{"role": "user", "content": "What is trio?"}])
    assert isinstance(response, ModelResponse)
    assert response.response_type == "text_generation"
    assert "What is trio?" in response.consume()  # the fake provider echoes
    assert response.metadata.usage is not None and response.metadata.usage.total_tokens > 0
    assert response.metadata.finish_reason == "stop"
    assert response.metadata.provider == "openai"
    body = fp.requests[-1].json()
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o", 0.7, 50)
    # a per-call field overrides the factory's default; a str is one user message
    await model.acall("again", temperature=0.1)
    body = fp.requests[-1].json()
    assert body["temperature"] == 0.1
    assert body["messages"] == [{"role": "user", "content": "again"}]


async def test_chat_completion_on_anthropic(fp: FakeProvider) -> None:
    model = Model.chat_completion("anthropic/claude-sonnet-4-5", **where(fp))
    response = await model.acall("hello there")
    assert "hello there" in response.consume()
    assert fp.requests[-1].path == "/v1/messages"
    assert response.metadata.usage is not None


async def test_a_stream_inline_yields_chunks_and_final_usage(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", **where(fp))
    stream = await model("count to five", stream=True)
    assert isinstance(stream, ModelStreamResponse)
    assert stream.metadata.usage is None  # nothing ran yet
    chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1
    assert "count to five" in "".join(chunks)
    assert await stream.consume() == "".join(chunks)
    assert stream.metadata.usage is not None and stream.metadata.usage.completion_tokens > 0
    assert fp.requests[-1].json()["stream"] is True


async def test_a_started_model_streams_and_consume_returns_the_rest(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", **where(fp))
    async with model:
        assert model.imodel.is_started
        stream = await model.acall("one two three four", stream=True)
        first = await stream.__aiter__().__anext__()
        text = await stream.consume()
    assert not model.imodel.is_started
    assert text.startswith(first)
    assert "one two three four" in text
    assert stream.metadata.finish_reason == "stop"


async def test_text_embedder_one_text_one_vector_a_list_a_list(fp: FakeProvider) -> None:
    embedder = Model.text_embedder("openai/text-embedding-3-small", **where(fp))
    assert isinstance(embedder, TextEmbedder)
    one = await embedder("Hello, world!")
    assert one.response_type == "text_embedding"
    vector = one.consume()
    assert len(vector) == 1536 and all(isinstance(x, float) for x in vector)
    several = (await embedder.acall(["Hello, world!", "other"])).consume()
    assert len(several) == 2
    assert several[0] == pytest.approx(vector)
    assert several[1] != pytest.approx(vector)
    packed = (await embedder.acall("Hello, world!", encoding_format="base64")).consume()
    assert packed == pytest.approx(vector, abs=1e-6)  # base64 float32 decoded
    assert one.metadata.usage is not None


async def test_moderation_flags_what_the_provider_flags(fp: FakeProvider) -> None:
    moderation = Model.moderation("openai/omni-moderation-latest", **where(fp))
    flagged = await moderation("FLAGME now")
    assert flagged.response_type == "moderation"
    verdict = flagged.consume()
    assert isinstance(verdict, ModerationResult)
    assert verdict.flagged and verdict.categories["violence"]
    assert verdict.category_scores["violence"] > 0.9
    both = (await moderation.acall(["fine text", "FLAGME"])).consume()
    assert [v.flagged for v in both] == [False, True]


async def test_text_to_image_returns_a_data_url_of_the_image(fp: FakeProvider) -> None:
    painter = Model.text_to_image("openai/dall-e-3", **where(fp))
    response = await painter("A cat wearing a space suit", size="1024x1024")
    assert response.response_type == "image_generation"
    url = response.consume()
    assert isinstance(url, str) and url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]).startswith(b"\x89PNG")
    assert fp.requests[-1].json()["size"] == "1024x1024"
    urls = (await painter.acall("two cats", n=2, response_format="url")).consume()
    assert isinstance(urls, list) and len(urls) == 2


async def test_text_to_speech_returns_audio_bytes(fp: FakeProvider) -> None:
    voice = Model.text_to_speech("openai/tts-1", voice="alloy", **where(fp))
    response = await voice("Hello!")
    assert response.response_type == "audio_generation"
    audio = response.consume()
    assert isinstance(audio, bytes) and audio.startswith(b"FAKEAUDIO")
    assert fp.requests[-1].json() == {"model": "tts-1", "voice": "alloy", "input": "Hello!"}
    wav = (await voice.acall("Hi", response_format="wav")).consume()
    assert wav.startswith(b"RIFF")


async def test_speech_to_text_reads_a_path_or_bytes(fp: FakeProvider, tmp_path: Path) -> None:
    transcriber = Model.speech_to_text("openai/whisper-1", **where(fp))
    audio = tmp_path / "meeting.wav"
    audio.write_bytes(b"RIFF" + bytes(96))
    from_path = await transcriber(str(audio))
    assert from_path.response_type == "transcript"
    assert from_path.consume().startswith("transcript of meeting.wav (100 bytes")
    from_bytes = await transcriber.acall(b"abc", filename="note.mp3")
    assert from_bytes.consume().startswith("transcript of note.mp3 (3 bytes")
    from_tuple = await transcriber.acall(("x.ogg", b"abcd"), language="en")
    assert "x.ogg (4 bytes" in from_tuple.consume()


async def test_text_reranker_ranks_best_first(fp: FakeProvider) -> None:
    reranker = Model.text_reranker("vllm/jina-reranker-v2-base-multilingual", **where(fp))
    documents = ["asyncio event loop", "a trio nursery", "nursery rhymes"]
    response = await reranker("trio nursery", documents)
    assert response.response_type == "text_reranked"
    ranked = response.consume()
    assert ranked[0] == RankedDocument(index=1, score=1.0, text="a trio nursery")
    assert [doc.index for doc in ranked] == [1, 2, 0]
    assert fp.requests[-1].path == "/v1/rerank"


async def test_hooks_and_limits_reach_the_imodel(fp: FakeProvider) -> None:
    seen: list[str] = []
    hooks = HookRegistry()

    async def before(calling: object, **_: object) -> None:
        seen.append("pre")

    hooks.register(HookPhase.PreInvocation, before)
    model = Model.chat_completion(
        "openai/gpt-4o", hook_registry=hooks, limit_requests=10, tags={"demo"}, **where(fp)
    )
    await model("hi")
    assert seen == ["pre"]
    assert model.imodel.limit_requests == 10
    assert model.imodel.name == "openai/gpt-4o"
    assert model.imodel.tags == frozenset({"demo"})


# -- errors ------------------------------------------------------------------------------


def test_unknown_provider_lists_the_providers_offering_the_type() -> None:
    with pytest.raises(UnknownModelProvider) as caught:
        Model.text_embedder("nosuch/some-model")
    message = str(caught.value)
    assert "'nosuch'" in message and "text_embedder" in message
    assert "openai" in message and "mistral" in message and "anthropic" not in message
    assert isinstance(caught.value, UnknownProvider) and isinstance(caught.value, ConfigError)


def test_a_type_the_provider_does_not_offer_lists_what_it_offers() -> None:
    with pytest.raises(ModelTypeNotOffered) as caught:
        Model.text_embedder("anthropic/claude-sonnet-4-5", api_key="ANTHROPIC_API_KEY")
    message = str(caught.value)
    assert "'anthropic' does not offer text_embedder" in message
    assert "it offers: chat_completion" in message
    assert "openai" in message  # who does offer it
    assert isinstance(caught.value, UnsupportedModelType)
    with pytest.raises(ModelTypeNotOffered, match="together, vllm"):
        Model.text_reranker("openai/rerank-v3.5")


@pytest.mark.parametrize("bad", ["gpt-4o", "/gpt-4o", "openai/", ""])
def test_a_model_id_without_provider_and_model_is_refused(bad: str) -> None:
    with pytest.raises(InvalidModelId, match="provider/model"):
        Model.chat_completion(bad)


def test_a_missing_key_is_reported_when_the_model_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingApiKey, match="OPENAI_API_KEY"):
        Model.chat_completion("openai/gpt-4o")


async def test_a_provider_error_is_raised_typed_with_its_calling() -> None:
    async with FakeProvider(keys=["the-right-key"]) as server:
        model = Model.chat_completion(
            "openai/gpt-4o", base_url=f"{server.base_url}/v1", api_key="wrong-key-1234"
        )
        with pytest.raises(AuthenticationError) as caught:
            await model("hi")
    calling = getattr(caught.value, "calling", None)
    assert calling is not None and calling.status is CallingStatus.FAILED
    assert "wrong-key-1234" not in str(caught.value)


# -- the sync entry point ----------------------------------------------------------------


async def test_call_sync_works_from_a_plain_function_in_a_thread(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", **where(fp))
    embedder = Model.text_embedder("openai/text-embedding-3-small", **where(fp))

    def script() -> tuple[str, int, str]:  # what a plain script does: no trio in sight
        first = model.call_sync(messages=[{"role": "user", "content": "sync hello"}])
        second = model.call_sync("sync again")  # a second loop: nothing stale from the first
        vector = embedder.call_sync("text")
        return first.consume(), len(vector.consume()), second.consume()

    first, dimensions, second = await trio.to_thread.run_sync(script)
    assert "sync hello" in first and "sync again" in second
    assert dimensions == 1536
    assert fp.stats.succeeded == 3


async def test_call_sync_refuses_inside_a_running_trio_loop(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", **where(fp))
    with pytest.raises(SyncCallInsideTrio, match=r"await model\.acall"):
        model.call_sync("hi")
    assert fp.stats.succeeded == 0


def test_call_sync_refuses_to_stream() -> None:
    model = Model.chat_completion("ollama/llama3")
    with pytest.raises(ConfigError, match="cannot stream"):
        model.call_sync("hi", stream=True)


# -- streams: failures and leaving early -------------------------------------------------


async def test_a_failed_stream_raises_its_typed_error_with_the_calling(fp: FakeProvider) -> None:
    model = Model.chat_completion("openai/gpt-4o", retry=RetryPolicy(max_retries=0), **where(fp))
    fp.script("/v1/chat/completions", [Fault.sse_error()])
    stream = await model.acall("this stream breaks", stream=True)
    with pytest.raises(ProviderError) as caught:
        await stream.consume()
    calling = getattr(caught.value, "calling", None)
    assert calling is not None and calling.status is CallingStatus.FAILED
    assert stream.metadata.calling_id == calling.id


async def test_leaving_a_stream_early_cancels_the_call() -> None:
    async with FakeProvider(keys=[KEY], latency=Latency(per_chunk=0.05)) as server:
        model = Model.chat_completion("openai/gpt-4o", **where(server))
        async with model:
            async with await model.acall("a b c d e f g h i j k l", stream=True) as stream:
                async for _ in stream:
                    break
            calling = stream.channel.calling
            await calling.wait_finished()
    assert calling.status is CallingStatus.CANCELLED
