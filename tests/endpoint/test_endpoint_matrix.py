"""Every provider spec x every model type it offers, end to end over loopback.

match_endpoint -> Endpoint -> Executor -> FakeProvider (its OpenAI-shaped routes stand in
for every OpenAI-compatible provider through a base_url override, its Messages route for
Anthropic). Each case checks what the fake derived from the request came back in the
NormalizedResponse, with usage and status.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import pytest
import trio

from callboard.calling import Calling
from callboard.endpoint import match_endpoint
from callboard.executor import Executor
from callboard.providers import PROVIDERS, ModelType, NormalizedResponse
from callboard.resilience import RetryPolicy
from callboard.testing import FakeProvider

CASES = [(name, kind) for name, spec in sorted(PROVIDERS.items()) for kind in sorted(spec.paths)]
AUDIO = b"RIFF" + bytes(range(256)) * 4


def _tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def _chat(provider: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    question = f"matrix question for {provider}"
    model = "claude-haiku-4-5" if provider == "anthropic" else "gpt-4o"
    payload = {"model": model, "messages": [{"role": "user", "content": question}]}

    def check(response: NormalizedResponse) -> None:
        assert response.text.endswith(question)  # the fake's reply ends with the question
        assert response.model == model
        assert response.finish_reason in ("stop", "end_turn")
        assert response.usage is not None
        assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0

    return payload, check


def _embeddings(_: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    texts = ["alpha", "beta gamma"]
    payload = {"model": "text-embedding-3-small", "input": texts, "dimensions": 8}

    def check(response: NormalizedResponse) -> None:
        data = response.raw["data"]
        assert [item["index"] for item in data] == [0, 1]
        vectors = [item["embedding"] for item in data]
        assert all(len(vector) == 8 for vector in vectors)
        assert all(math.isclose(sum(v * v for v in vector), 1.0) for vector in vectors)
        assert vectors[0] != vectors[1]
        assert response.usage is not None
        assert response.usage.prompt_tokens == sum(_tokens(t) for t in texts)

    return payload, check


def _moderation(_: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    payload = {"model": "omni-moderation-latest", "input": ["a calm text", "FLAGME please"]}

    def check(response: NormalizedResponse) -> None:
        assert [r["flagged"] for r in response.raw["results"]] == [False, True]
        assert response.raw["results"][1]["categories"]["violence"] is True

    return payload, check


def _images(provider: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    prompt = f"a red square for {provider}"
    payload = {"model": "dall-e-2", "prompt": prompt, "n": 2}

    def check(response: NormalizedResponse) -> None:
        data = response.raw["data"]
        assert len(data) == 2
        assert all(item["revised_prompt"] == prompt and item["b64_json"] for item in data)

    return payload, check


def _speech(provider: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    text = f"say hello from {provider}"
    payload = {"model": "tts-1", "input": text, "voice": "alloy"}

    def check(response: NormalizedResponse) -> None:
        audio = response.raw
        assert isinstance(audio, bytes)
        # The fake's audio: a tag, the text's digest, 80 bytes per character.
        assert audio == b"FAKEAUDIO" + hashlib.sha256(text.encode()).digest() + bytes(
            80 * len(text)
        )
        assert response.text == ""

    return payload, check


def _transcription(_: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    payload = {"model": "whisper-1", "file": ("clip.wav", AUDIO, "audio/wav")}
    digest = hashlib.sha256(AUDIO).hexdigest()[:8]

    def check(response: NormalizedResponse) -> None:
        assert response.text == f"transcript of clip.wav ({len(AUDIO)} bytes, {digest})"

    return payload, check


def _rerank(_: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    query = "red apple"
    documents = ["green pear", "red apple pie", "apple"]
    payload = {"model": "rerank-v3.5", "query": query, "documents": documents}

    def check(response: NormalizedResponse) -> None:
        results = response.raw["results"]
        assert [r["index"] for r in results] == [1, 2, 0]  # by word overlap, best first
        assert [r["relevance_score"] for r in results] == [1.0, 0.5, 0.0]
        assert response.usage is not None
        expected = _tokens(query) * len(documents) + sum(_tokens(d) for d in documents)
        assert response.usage.total_tokens == expected

    return payload, check


def _responses(provider: str) -> tuple[dict[str, Any], Callable[[NormalizedResponse], None]]:
    question = f"responses question for {provider}"
    payload = {"model": "o4-mini", "input": question, "reasoning": {"effort": "low"}}

    def check(response: NormalizedResponse) -> None:
        assert response.text.endswith(question)
        assert response.finish_reason == "completed"
        assert response.id is not None and response.id.startswith("resp_")
        assert [t.kind for t in response.thinking] == ["reasoning"]
        assert response.usage is not None and response.usage.reasoning_tokens == 16

    return payload, check


CASE_BUILDERS: dict[ModelType, Callable[[str], tuple[dict[str, Any], Any]]] = {
    ModelType.CHAT: _chat,
    ModelType.EMBEDDINGS: _embeddings,
    ModelType.MODERATION: _moderation,
    ModelType.IMAGE_GENERATION: _images,
    ModelType.TEXT_TO_SPEECH: _speech,
    ModelType.SPEECH_TO_TEXT: _transcription,
    ModelType.RERANK: _rerank,
    ModelType.RESPONSES: _responses,
}


def test_the_matrix_covers_every_model_type_and_provider() -> None:
    assert {kind for _, kind in CASES} == set(ModelType)
    assert {name for name, _ in CASES} == set(PROVIDERS)


async def _call(fp: FakeProvider, provider: str, kind: ModelType) -> NormalizedResponse:
    options: dict[str, Any] = {}
    if PROVIDERS[provider].auth.value == "none":
        options["auth"] = "bearer"  # the fake provider always checks a key
    endpoint = match_endpoint(
        provider,
        kind.value,
        base_url=f"{fp.base_url}/v1",
        api_key="test-key",
        timeout=None,
        retry=RetryPolicy.disabled(),
        **options,
    )
    executor = Executor(endpoint, concurrency_limit=4)
    endpoint.attach(executor)
    payload, check = CASE_BUILDERS[kind](provider)
    async with trio.open_nursery() as nursery:
        await nursery.start(endpoint.run)
        await nursery.start(executor.run)
        try:
            response = await executor.call(Calling(payload))
        finally:
            executor.ref.stop()
            endpoint.ref.stop()
    assert isinstance(response, NormalizedResponse)
    assert response.status_code == 200
    assert response.provider == provider
    check(response)
    return response


@pytest.mark.parametrize("provider", sorted(PROVIDERS), ids=lambda name: name)
async def test_every_model_type_of_a_provider_answers_through_the_executor(
    provider: str,
) -> None:
    kinds = sorted(PROVIDERS[provider].paths)
    failures: list[str] = []
    async with FakeProvider() as fp:
        for kind in kinds:
            try:
                await _call(fp, provider, kind)
            except Exception as error:  # collected so one run names every broken case
                failures.append(f"{provider} x {kind.value}: {type(error).__name__}: {error}")
        routes = [request.path for request in fp.requests]
    assert not failures, "\n".join(failures)
    assert len(routes) == len(kinds)  # one request per model type, no retries
