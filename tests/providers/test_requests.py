"""Every provider × model type it offers builds the right request, and keys stay secret."""

from __future__ import annotations

import pytest

from callboard.errors import ConfigError
from callboard.providers import (
    PROVIDERS,
    MissingApiKey,
    ModelType,
    PayloadError,
    build_request,
    get_provider,
)

M = ModelType
KEY = "sk-live-SECRET-0123456789"
LOCAL = "http://127.0.0.1:7000/v1"

# Written out from each provider's public API reference, not derived from the specs.
EXPECTED_URLS: dict[tuple[str, ModelType], str] = {
    ("openai", M.CHAT): "https://api.openai.com/v1/chat/completions",
    ("openai", M.EMBEDDINGS): "https://api.openai.com/v1/embeddings",
    ("openai", M.MODERATION): "https://api.openai.com/v1/moderations",
    ("openai", M.IMAGE_GENERATION): "https://api.openai.com/v1/images/generations",
    ("openai", M.TEXT_TO_SPEECH): "https://api.openai.com/v1/audio/speech",
    ("openai", M.SPEECH_TO_TEXT): "https://api.openai.com/v1/audio/transcriptions",
    ("openai", M.RESPONSES): "https://api.openai.com/v1/responses",
    ("anthropic", M.CHAT): "https://api.anthropic.com/v1/messages",
    ("gemini", M.CHAT): "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
    ("gemini", M.EMBEDDINGS): "https://generativelanguage.googleapis.com/v1beta/openai/embeddings",
    (
        "gemini",
        M.IMAGE_GENERATION,
    ): "https://generativelanguage.googleapis.com/v1beta/openai/images/generations",
    ("groq", M.CHAT): "https://api.groq.com/openai/v1/chat/completions",
    ("groq", M.TEXT_TO_SPEECH): "https://api.groq.com/openai/v1/audio/speech",
    ("groq", M.SPEECH_TO_TEXT): "https://api.groq.com/openai/v1/audio/transcriptions",
    ("together", M.CHAT): "https://api.together.xyz/v1/chat/completions",
    ("together", M.EMBEDDINGS): "https://api.together.xyz/v1/embeddings",
    ("together", M.IMAGE_GENERATION): "https://api.together.xyz/v1/images/generations",
    ("together", M.TEXT_TO_SPEECH): "https://api.together.xyz/v1/audio/speech",
    ("together", M.SPEECH_TO_TEXT): "https://api.together.xyz/v1/audio/transcriptions",
    ("together", M.RERANK): "https://api.together.xyz/v1/rerank",
    ("openrouter", M.CHAT): "https://openrouter.ai/api/v1/chat/completions",
    ("openrouter", M.EMBEDDINGS): "https://openrouter.ai/api/v1/embeddings",
    ("deepseek", M.CHAT): "https://api.deepseek.com/chat/completions",
    ("mistral", M.CHAT): "https://api.mistral.ai/v1/chat/completions",
    ("mistral", M.EMBEDDINGS): "https://api.mistral.ai/v1/embeddings",
    ("mistral", M.MODERATION): "https://api.mistral.ai/v1/moderations",
    ("mistral", M.SPEECH_TO_TEXT): "https://api.mistral.ai/v1/audio/transcriptions",
    ("nvidia_nim", M.CHAT): "https://integrate.api.nvidia.com/v1/chat/completions",
    ("nvidia_nim", M.EMBEDDINGS): "https://integrate.api.nvidia.com/v1/embeddings",
    ("ollama", M.CHAT): "http://localhost:11434/v1/chat/completions",
    ("ollama", M.EMBEDDINGS): "http://localhost:11434/v1/embeddings",
    ("vllm", M.CHAT): "http://localhost:8000/v1/chat/completions",
    ("vllm", M.EMBEDDINGS): "http://localhost:8000/v1/embeddings",
    ("vllm", M.SPEECH_TO_TEXT): "http://localhost:8000/v1/audio/transcriptions",
    ("vllm", M.RERANK): "http://localhost:8000/v1/rerank",
    **{
        ("openai_compatible", kind): LOCAL + path
        for kind, path in [
            (M.CHAT, "/chat/completions"),
            (M.EMBEDDINGS, "/embeddings"),
            (M.MODERATION, "/moderations"),
            (M.IMAGE_GENERATION, "/images/generations"),
            (M.TEXT_TO_SPEECH, "/audio/speech"),
            (M.SPEECH_TO_TEXT, "/audio/transcriptions"),
            (M.RERANK, "/rerank"),
            (M.RESPONSES, "/responses"),
        ]
    },
}

PAYLOADS: dict[ModelType, dict[str, object]] = {
    M.CHAT: {"model": "m", "messages": [{"role": "user", "content": "Hi"}]},
    M.EMBEDDINGS: {"model": "m", "input": ["a", "b"]},
    M.MODERATION: {"model": "m", "input": "text"},
    M.IMAGE_GENERATION: {"model": "m", "prompt": "a red fox", "n": 1, "size": "1024x1024"},
    M.TEXT_TO_SPEECH: {"model": "m", "input": "Hello", "voice": "alloy"},
    M.SPEECH_TO_TEXT: {"model": "m", "file": ("clip.wav", b"RIFF....WAVE", "audio/wav")},
    M.RERANK: {"model": "m", "query": "q", "documents": ["x", "y"], "top_n": 1},
    M.RESPONSES: {"model": "m", "input": "Hi", "reasoning": {"effort": "low"}},
}


def spec_for(name: str):
    return get_provider(name, base_url=LOCAL) if name == "openai_compatible" else get_provider(name)


def test_the_table_covers_every_offered_model_type() -> None:
    offered = {(name, kind) for name, spec in PROVIDERS.items() for kind in spec.model_types}
    assert offered == set(EXPECTED_URLS)


@pytest.mark.parametrize(("provider", "model_type"), sorted(EXPECTED_URLS))
def test_every_provider_and_model_type_builds_its_request(
    provider: str, model_type: ModelType
) -> None:
    spec = spec_for(provider)
    payload = PAYLOADS[model_type]
    request = build_request(spec, model_type, payload, api_key=KEY, idempotency_key="callboard-1")
    assert request.method == "POST"
    assert request.url == EXPECTED_URLS[(provider, model_type)]
    assert request.model_type is model_type
    assert request.headers["idempotency-key"] == "callboard-1"
    # The key is in the auth header only.
    if provider == "ollama":
        assert request.auth_headers == {}
    elif provider == "anthropic":
        assert request.auth_headers == {"x-api-key": KEY}
        assert request.headers["anthropic-version"] == "2023-06-01"
    else:
        assert request.auth_headers == {"authorization": f"Bearer {KEY}"}
    assert KEY not in repr(request)
    assert KEY not in str(dict(request.headers))
    assert KEY not in str(request.json) + str(request.data)
    if model_type is M.SPEECH_TO_TEXT:
        assert request.json is None
        assert request.files == {"file": ("clip.wav", b"RIFF....WAVE", "audio/wav")}
        assert request.data == {"model": "m"}
    else:
        assert request.files is None
        assert request.json is not None
        for field, value in payload.items():
            assert request.json[field] == value


def test_all_headers_merges_auth() -> None:
    request = build_request(get_provider("groq"), "chat", PAYLOADS[M.CHAT], api_key=KEY)
    assert request.all_headers() == {
        "accept": "application/json",
        "authorization": f"Bearer {KEY}",
    }


def test_openai_stream_asks_for_usage() -> None:
    request = build_request(
        get_provider("openai"),
        "chat",
        {**PAYLOADS[M.CHAT], "stream": False, "stream_options": {"foo": 1}},
        api_key=KEY,
        stream=True,
    )
    assert request.stream
    assert request.headers["accept"] == "text/event-stream"
    assert request.json is not None
    assert request.json["stream"] is True
    assert request.json["stream_options"] == {"foo": 1, "include_usage": True}


def test_providers_that_reject_stream_options_do_not_get_them() -> None:
    request = build_request(
        get_provider("mistral"), "chat", PAYLOADS[M.CHAT], api_key=KEY, stream=True
    )
    assert request.json is not None
    assert request.json["stream"] is True
    assert "stream_options" not in request.json


def test_non_stream_request_drops_a_stray_stream_flag() -> None:
    request = build_request(get_provider("openai"), "chat", {"stream": True}, api_key=KEY)
    assert request.json is not None
    assert "stream" not in request.json


def test_streaming_is_chat_only() -> None:
    with pytest.raises(PayloadError):
        build_request(get_provider("openai"), "embeddings", {}, api_key=KEY, stream=True)


def test_anthropic_moves_system_messages_and_defaults_max_tokens() -> None:
    payload = {
        "model": "claude-sonnet-4-5",
        "system": "Be brief.",
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Hello"},
            {"role": "system", "content": [{"type": "text", "text": "No emoji."}]},
        ],
    }
    request = build_request(get_provider("anthropic"), "chat", payload, api_key=KEY, stream=True)
    assert request.json == {
        "max_tokens": 4096,
        "model": "claude-sonnet-4-5",
        "system": "Be brief.\n\nAnswer in French.\n\nNo emoji.",
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": True,
    }
    assert payload["messages"][0]["role"] == "system"  # type: ignore[index]  # not mutated
    explicit = build_request(get_provider("anthropic"), "chat", {"max_tokens": 10}, api_key=KEY)
    assert explicit.json == {"max_tokens": 10}


def test_missing_key_names_the_environment_variable() -> None:
    with pytest.raises(MissingApiKey) as info:
        build_request(get_provider("anthropic"), "chat", {})
    assert "ANTHROPIC_API_KEY" in str(info.value)
    assert info.value.field == "api_key"


@pytest.mark.parametrize("name", ["ollama", "vllm", "openai_compatible"])
def test_local_servers_work_without_a_key(name: str) -> None:
    request = build_request(spec_for(name), "chat", PAYLOADS[M.CHAT])
    assert request.auth_headers == {}


@pytest.mark.parametrize("header", ["Authorization", "x-api-key", "Api-Key"])
def test_credentials_in_extra_headers_are_refused(header: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_request(get_provider("openai"), "chat", {}, api_key=KEY, headers={header: KEY})
    assert KEY not in str(info.value)
    assert info.value.field == "headers"


def test_extra_headers_are_sent_lower_cased() -> None:
    request = build_request(
        get_provider("openrouter"), "chat", {}, api_key=KEY, headers={"HTTP-Referer": "https://x"}
    )
    assert request.headers["http-referer"] == "https://x"


def test_multipart_fields() -> None:
    request = build_request(
        get_provider("openai"),
        "speech_to_text",
        {
            "model": "whisper-1",
            "file": ("a.mp3", b"ID3", "audio/mpeg"),
            "temperature": 0.2,
            "response_format": "verbose_json",
            "timestamp_granularities": ["word", "segment"],
            "stream": False,
            "prompt": None,
        },
        api_key=KEY,
    )
    assert request.data == {
        "model": "whisper-1",
        "temperature": "0.2",
        "response_format": "verbose_json",
        "timestamp_granularities[]": ["word", "segment"],
        "stream": "false",
    }
    two = build_request(
        get_provider("groq"), "speech_to_text", {"file": ("b.wav", b"x")}, api_key=KEY
    )
    assert two.files == {"file": ("b.wav", b"x", "application/octet-stream")}


@pytest.mark.parametrize(
    "payload",
    [
        {"model": "whisper-1"},
        {"file": b"raw bytes without a name"},
        {"file": ("a.wav", "not bytes")},
        {"file": ("a.wav", b"x"), "extra": {"nested": True}},
    ],
)
def test_bad_multipart_payloads(payload: dict[str, object]) -> None:
    with pytest.raises(PayloadError):
        build_request(get_provider("openai"), "speech_to_text", payload, api_key=KEY)


def test_text_to_speech_accepts_audio() -> None:
    request = build_request(
        get_provider("openai"), "text_to_speech", PAYLOADS[M.TEXT_TO_SPEECH], api_key=KEY
    )
    assert request.headers["accept"] == "*/*"
