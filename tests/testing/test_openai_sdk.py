"""The official openai SDK parses every OpenAI-shaped response and stream without error."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx2
import openai
import pytest

from callboard.testing import FakeProvider, Fault

from .conftest import KEY, sdk_stream


@pytest.fixture
async def sdk(fp: FakeProvider) -> AsyncIterator[openai.AsyncOpenAI]:
    async with httpx2.AsyncClient(timeout=None) as http:
        yield openai.AsyncOpenAI(
            api_key=KEY, base_url=f"{fp.base_url}/v1", http_client=http, max_retries=0
        )


async def test_chat_completion(sdk: openai.AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "tell me a joke"}]
    )
    text = reply.choices[0].message.content
    assert text is not None
    assert text.startswith("echo ") and text.endswith(": tell me a joke")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert reply.usage.completion_tokens == len(text.split())
    # 3 per request + 4 per message + ceil(14 / 4)
    assert reply.usage.prompt_tokens == 3 + 4 + 4


async def test_same_request_same_reply_different_request_different_reply(
    sdk: openai.AsyncOpenAI,
) -> None:
    async def ask(content: str) -> str | None:
        reply = await sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": content}]
        )
        return reply.choices[0].message.content

    assert await ask("a") == await ask("a")
    assert await ask("a") != await ask("b")


async def test_max_tokens_cuts_the_reply(sdk: openai.AsyncOpenAI) -> None:
    reply = await sdk.chat.completions.create(
        model="gpt-4o", max_tokens=3, messages=[{"role": "user", "content": "one two three four"}]
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3


@sdk_stream
async def test_stream_with_usage(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "stream me"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces: list[str] = []
    finish: list[str] = []
    usages: list[openai.types.CompletionUsage] = []
    async with stream:
        async for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            for choice in chunk.choices:
                pieces.append(choice.delta.content or "")
                if choice.finish_reason:
                    finish.append(choice.finish_reason)
            if chunk.usage is not None:
                usages.append(chunk.usage)
    text = "".join(pieces)
    assert text.endswith(": stream me")
    assert finish == ["stop"]
    assert len(usages) == 1 and usages[0].completion_tokens == len(text.split())


@sdk_stream
async def test_stream_helper_final_completion(sdk: openai.AsyncOpenAI) -> None:
    async with sdk.chat.completions.stream(
        model="gpt-4o", messages=[{"role": "user", "content": "helper"}]
    ) as stream:
        final = await stream.get_final_completion()
    assert final.choices[0].message.content is not None
    assert final.choices[0].message.content.endswith(": helper")


@sdk_stream
async def test_sse_error_event_raises_api_error(fp: FakeProvider, sdk: openai.AsyncOpenAI) -> None:
    fp.script("/v1/chat/completions", [Fault.sse_error()])
    stream = await sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "a b c d e f"}], stream=True
    )
    with pytest.raises(openai.APIError, match="server had an error"):
        async for _ in stream:
            pass


async def test_errors_map_to_sdk_exceptions(fp: FakeProvider, sdk: openai.AsyncOpenAI) -> None:
    messages: list[openai.types.chat.ChatCompletionMessageParam] = [
        {"role": "user", "content": "x"}
    ]
    with pytest.raises(openai.NotFoundError):
        await sdk.models.list()  # an unknown route: 404 in OpenAI's shape
    assert (await sdk.chat.completions.create(model="no-such-model", messages=messages)).model
    async with FakeProvider(models=["gpt-4o"]) as strict, httpx2.AsyncClient() as http:
        client = openai.AsyncOpenAI(
            api_key=KEY, base_url=f"{strict.base_url}/v1", http_client=http, max_retries=0
        )
        with pytest.raises(openai.NotFoundError) as missing:
            await client.chat.completions.create(model="no-such-model", messages=messages)
    assert missing.value.code == "model_not_found"
    assert missing.value.param == "model"
    wrong = sdk.with_options(api_key="wrong")
    with pytest.raises(openai.AuthenticationError) as auth:
        await wrong.chat.completions.create(model="gpt-4o", messages=messages)
    assert auth.value.code == "invalid_api_key"
    assert "wrong" not in str(auth.value)
    fp.script("*", [Fault.rate_limited(), Fault.error(503)])
    with pytest.raises(openai.RateLimitError) as limited:
        await sdk.chat.completions.create(model="gpt-4o", messages=messages)
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(openai.InternalServerError) as server:
        await sdk.chat.completions.create(model="gpt-4o", messages=messages)
    assert server.value.status_code == 503
    assert server.value.response.headers["x-should-retry"] == "true"


async def test_embeddings_float_and_base64(sdk: openai.AsyncOpenAI) -> None:
    floats = await sdk.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], encoding_format="float", dimensions=8
    )
    assert [len(item.embedding) for item in floats.data] == [8, 8]
    assert floats.usage.prompt_tokens == 2
    # The SDK asks for base64 by default and decodes it itself.
    decoded = await sdk.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
    assert decoded.data[0].embedding == pytest.approx(floats.data[0].embedding, rel=1e-6)
    assert sum(x * x for x in decoded.data[0].embedding) == pytest.approx(1.0, rel=1e-5)


async def test_moderations(sdk: openai.AsyncOpenAI) -> None:
    result = await sdk.moderations.create(input=["fine", "FLAGME please"])
    assert [r.flagged for r in result.results] == [False, True]
    assert result.results[1].categories.violence is True


async def test_images(sdk: openai.AsyncOpenAI) -> None:
    result = await sdk.images.generate(
        model="dall-e-3", prompt="a cat", response_format="b64_json", n=2
    )
    assert result.data is not None and len(result.data) == 2
    assert result.data[0].b64_json is not None
    assert base64.b64decode(result.data[0].b64_json).startswith(b"\x89PNG")
    assert result.data[0].revised_prompt == "a cat"


async def test_speech_returns_audio_bytes(sdk: openai.AsyncOpenAI) -> None:
    speech = await sdk.audio.speech.create(
        model="tts-1", voice="alloy", input="hello", response_format="wav"
    )
    audio = speech.content
    assert audio.startswith(b"RIFF") and audio[8:12] == b"WAVE"
    assert len(audio) == 44 + 80 * len("hello")


async def test_transcription_multipart_upload(sdk: openai.AsyncOpenAI) -> None:
    result = await sdk.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", b"0123456789", "audio/wav")
    )
    assert result.text.startswith("transcript of clip.wav (10 bytes, ")
    text = await sdk.audio.transcriptions.create(
        model="whisper-1", file=("clip.wav", b"01", "audio/wav"), response_format="text"
    )
    assert isinstance(text, str) and "(2 bytes" in text
