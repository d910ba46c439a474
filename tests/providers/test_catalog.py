"""The provider catalog: names, lookups, base URL overrides and model types."""

from __future__ import annotations

import pytest

from callboard.errors import ConfigError
from callboard.providers import (
    PROVIDERS,
    AuthStyle,
    Dialect,
    ModelType,
    RateLimitDialect,
    UnknownProvider,
    UnsupportedModelType,
    get_provider,
    known_providers,
)

ALL = (
    "anthropic",
    "cerebras",
    "deepseek",
    "gemini",
    "groq",
    "imagerouter",
    "jinaai",
    "mistral",
    "nvidia_nim",
    "ollama",
    "openai",
    "openai_compatible",
    "openrouter",
    "replicate",
    "sambanova",
    "together",
    "vllm",
)


def test_every_required_provider_is_known() -> None:
    assert known_providers() == ALL
    assert set(PROVIDERS) == set(ALL)


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProvider) as info:
        get_provider("opneai")
    message = str(info.value)
    assert "'opneai'" in message
    for name in ALL:
        assert name in message
    assert info.value.field == "provider"
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("OpenAI", "openai"),
        ("nvidia-nim", "nvidia_nim"),
        ("google", "gemini"),
        ("nim", "nvidia_nim"),
        ("jina", "jinaai"),
        ("Jina-AI", "jinaai"),
    ],
)
def test_names_are_forgiving(name: str, expected: str) -> None:
    assert get_provider(name).name == expected


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(ConfigError) as info:
        get_provider("openai_compatible")
    assert info.value.field == "base_url"
    spec = get_provider("openai_compatible", base_url="http://127.0.0.1:9999/v1/")
    assert spec.url_for("chat") == "http://127.0.0.1:9999/v1/chat/completions"
    assert spec.url_for(ModelType.RERANK) == "http://127.0.0.1:9999/v1/rerank"


def test_base_url_override_keeps_everything_else() -> None:
    spec = get_provider("anthropic", base_url="http://127.0.0.1:8080/v1")
    assert spec.url_for("chat") == "http://127.0.0.1:8080/v1/messages"
    assert spec.headers == {"anthropic-version": "2023-06-01"}
    assert PROVIDERS["anthropic"].base_url == "https://api.anthropic.com/v1"


def test_base_url_must_be_http() -> None:
    with pytest.raises(ConfigError) as info:
        get_provider("vllm", base_url="localhost:8000")
    assert info.value.field == "base_url"


def test_unsupported_model_type_lists_what_is_offered() -> None:
    with pytest.raises(UnsupportedModelType) as info:
        get_provider("anthropic").url_for(ModelType.EMBEDDINGS)
    assert "'embeddings'" in str(info.value)
    assert "chat" in str(info.value)
    with pytest.raises(UnsupportedModelType) as unknown:
        get_provider("openai").url_for("telepathy")
    assert "text_to_speech" in str(unknown.value)


def test_endpoint_names_map_to_model_types() -> None:
    openai = get_provider("openai")
    assert openai.model_type_for("chat/completions") is ModelType.CHAT
    assert openai.model_type_for("/audio/transcriptions") is ModelType.SPEECH_TO_TEXT
    assert openai.model_type_for("embeddings") is ModelType.EMBEDDINGS
    assert get_provider("anthropic").model_type_for("messages") is ModelType.CHAT
    assert get_provider("together").model_type_for("rerank") is ModelType.RERANK
    with pytest.raises(UnsupportedModelType):
        get_provider("deepseek").model_type_for("embeddings")


def test_styles_and_dialects() -> None:
    assert PROVIDERS["anthropic"].auth is AuthStyle.X_API_KEY
    assert PROVIDERS["anthropic"].dialect is Dialect.ANTHROPIC
    assert PROVIDERS["anthropic"].rate_limit_dialect is RateLimitDialect.ANTHROPIC
    assert PROVIDERS["openai"].rate_limit_dialect is RateLimitDialect.OPENAI
    assert PROVIDERS["ollama"].auth is AuthStyle.NONE
    assert PROVIDERS["replicate"].dialect is Dialect.REPLICATE
    assert PROVIDERS["replicate"].headers == {"prefer": "wait"}
    others = set(ALL) - {"anthropic", "replicate"}
    assert all(PROVIDERS[name].dialect is Dialect.OPENAI for name in others)
    assert all(PROVIDERS[name].auth is AuthStyle.BEARER for name in others - {"ollama"})


def test_specs_are_read_only() -> None:
    spec = PROVIDERS["openai"]
    with pytest.raises(TypeError):
        spec.paths[ModelType.RERANK] = "/rerank"  # type: ignore[index]
