"""The providers callboard knows, as data, and how to look one up by name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from callboard.errors import ConfigError

from ._errors import UnknownProvider
from ._spec import AuthStyle, Dialect, ModelType, ProviderSpec, RateLimitDialect

__all__ = ["PROVIDERS", "get_provider", "known_providers"]

_CHAT = "/chat/completions"
_EMBEDDINGS = "/embeddings"
_MODERATION = "/moderations"
_IMAGES = "/images/generations"
_SPEECH = "/audio/speech"
_TRANSCRIPTIONS = "/audio/transcriptions"
_RERANK = "/rerank"
_RESPONSES = "/responses"
_IMAGE_EDITS = "/images/edits"
_CLASSIFY = "/classify"
_PREDICTIONS = "/predictions"

M = ModelType

_OPENAI_PATHS = {
    M.CHAT: _CHAT,
    M.EMBEDDINGS: _EMBEDDINGS,
    M.MODERATION: _MODERATION,
    M.IMAGE_GENERATION: _IMAGES,
    M.TEXT_TO_SPEECH: _SPEECH,
    M.SPEECH_TO_TEXT: _TRANSCRIPTIONS,
    M.RESPONSES: _RESPONSES,
    M.IMAGE_EDIT: _IMAGE_EDITS,
}

_SPECS = (
    ProviderSpec(
        name="openai",
        base_url="https://api.openai.com/v1",
        auth=AuthStyle.BEARER,
        paths=_OPENAI_PATHS,
        rate_limit_dialect=RateLimitDialect.OPENAI,
        api_key_env="OPENAI_API_KEY",
    ),
    ProviderSpec(
        name="anthropic",
        base_url="https://api.anthropic.com/v1",
        auth=AuthStyle.X_API_KEY,
        paths={M.CHAT: "/messages"},
        dialect=Dialect.ANTHROPIC,
        rate_limit_dialect=RateLimitDialect.ANTHROPIC,
        api_key_env="ANTHROPIC_API_KEY",
        headers={"anthropic-version": "2023-06-01"},
        default_fields={"max_tokens": 4096},
    ),
    ProviderSpec(
        name="gemini",
        base_url="https://generativelanguage.googleapis.com/v1beta/openai",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT, M.EMBEDDINGS: _EMBEDDINGS, M.IMAGE_GENERATION: _IMAGES},
        api_key_env="GEMINI_API_KEY",
    ),
    ProviderSpec(
        name="groq",
        base_url="https://api.groq.com/openai/v1",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT, M.TEXT_TO_SPEECH: _SPEECH, M.SPEECH_TO_TEXT: _TRANSCRIPTIONS},
        rate_limit_dialect=RateLimitDialect.OPENAI,
        api_key_env="GROQ_API_KEY",
        stream_usage=False,  # usage arrives in the last chunk's ``x_groq`` field
    ),
    ProviderSpec(
        name="together",
        base_url="https://api.together.xyz/v1",
        auth=AuthStyle.BEARER,
        paths={
            M.CHAT: _CHAT,
            M.EMBEDDINGS: _EMBEDDINGS,
            M.IMAGE_GENERATION: _IMAGES,
            M.TEXT_TO_SPEECH: _SPEECH,
            M.SPEECH_TO_TEXT: _TRANSCRIPTIONS,
            M.RERANK: _RERANK,
        },
        rate_limit_dialect=RateLimitDialect.OPENAI,
        api_key_env="TOGETHER_API_KEY",
        stream_usage=False,  # the last chunk always carries usage
    ),
    ProviderSpec(
        name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT, M.EMBEDDINGS: _EMBEDDINGS},
        api_key_env="OPENROUTER_API_KEY",
        stream_usage=False,  # the last chunk always carries usage
    ),
    ProviderSpec(
        name="deepseek",
        base_url="https://api.deepseek.com",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT},
        api_key_env="DEEPSEEK_API_KEY",
    ),
    ProviderSpec(
        name="mistral",
        base_url="https://api.mistral.ai/v1",
        auth=AuthStyle.BEARER,
        paths={
            M.CHAT: _CHAT,
            M.EMBEDDINGS: _EMBEDDINGS,
            M.MODERATION: _MODERATION,
            M.SPEECH_TO_TEXT: _TRANSCRIPTIONS,
        },
        api_key_env="MISTRAL_API_KEY",
        stream_usage=False,  # rejects unknown fields; the last chunk carries usage
    ),
    ProviderSpec(
        name="nvidia_nim",
        base_url="https://integrate.api.nvidia.com/v1",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT, M.EMBEDDINGS: _EMBEDDINGS},
        api_key_env="NVIDIA_API_KEY",
    ),
    ProviderSpec(
        name="ollama",
        base_url="http://localhost:11434/v1",
        auth=AuthStyle.NONE,
        paths={M.CHAT: _CHAT, M.EMBEDDINGS: _EMBEDDINGS},
        api_key_required=False,
    ),
    ProviderSpec(
        name="vllm",
        base_url="http://localhost:8000/v1",
        auth=AuthStyle.BEARER,
        paths={
            M.CHAT: _CHAT,
            M.EMBEDDINGS: _EMBEDDINGS,
            M.SPEECH_TO_TEXT: _TRANSCRIPTIONS,
            M.RERANK: _RERANK,
        },
        api_key_env="VLLM_API_KEY",
        api_key_required=False,
    ),
    ProviderSpec(
        name="cerebras",
        base_url="https://api.cerebras.ai/v1",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT},
        api_key_env="CEREBRAS_API_KEY",
    ),
    ProviderSpec(
        name="sambanova",
        base_url="https://api.sambanova.ai/v1",
        auth=AuthStyle.BEARER,
        paths={M.CHAT: _CHAT, M.EMBEDDINGS: _EMBEDDINGS, M.SPEECH_TO_TEXT: _TRANSCRIPTIONS},
        api_key_env="SAMBANOVA_API_KEY",
    ),
    ProviderSpec(
        name="jinaai",
        base_url="https://api.jina.ai/v1",
        auth=AuthStyle.BEARER,
        # One /embeddings and one /classify for text and for images (CLIP models): the
        # inputs differ ({"text": ...} or {"image": url or base64}), the answers do not.
        paths={
            M.EMBEDDINGS: _EMBEDDINGS,
            M.IMAGE_EMBEDDINGS: _EMBEDDINGS,
            M.RERANK: _RERANK,
            M.CLASSIFICATION: _CLASSIFY,
            M.IMAGE_CLASSIFICATION: _CLASSIFY,
        },
        api_key_env="JINA_API_KEY",
    ),
    ProviderSpec(
        name="replicate",
        base_url="https://api.replicate.com/v1",
        auth=AuthStyle.BEARER,
        paths={M.IMAGE_GENERATION: _PREDICTIONS, M.IMAGE_EDIT: _PREDICTIONS},
        dialect=Dialect.REPLICATE,
        api_key_env="REPLICATE_API_TOKEN",
        # Hold the response until the prediction finished (up to 60 s): one request per
        # call, no polling. ``headers={"prefer": "wait=30"}`` shortens the wait.
        headers={"prefer": "wait"},
    ),
    ProviderSpec(
        name="imagerouter",
        base_url="https://api.imagerouter.io/v1/openai",
        auth=AuthStyle.BEARER,
        paths={M.IMAGE_GENERATION: _IMAGES, M.IMAGE_EDIT: _IMAGE_EDITS},
        api_key_env="IMAGEROUTER_API_KEY",
    ),
    ProviderSpec(
        name="openai_compatible",
        base_url="",
        auth=AuthStyle.BEARER,
        paths={**_OPENAI_PATHS, M.RERANK: _RERANK},
        api_key_required=False,
    ),
)

PROVIDERS: Mapping[str, ProviderSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every built-in provider spec by name."""

_ALIASES = {
    "google": "gemini",
    "nvidia": "nvidia_nim",
    "nim": "nvidia_nim",
    "jina": "jinaai",
    "jina_ai": "jinaai",
}


def known_providers() -> tuple[str, ...]:
    """The names [`get_provider`][callboard.get_provider] accepts (aliases aside), sorted."""
    return tuple(sorted(PROVIDERS))


def get_provider(name: str, *, base_url: str | None = None) -> ProviderSpec:
    """The spec of provider ``name``, optionally pointed at another ``base_url``.

    Names are case-insensitive and ``-`` equals ``_``. ``"openai_compatible"`` describes
    any server speaking the OpenAI API and needs ``base_url``; any other provider takes
    ``base_url`` as an override (a proxy, a local vLLM on another port, the fake
    provider in tests).

    Args:
        name: the provider's name.
        base_url: where its API lives, if not the default.

    Raises:
        UnknownProvider: no provider has that name (the message lists the known ones).
        ConfigError: ``openai_compatible`` without a ``base_url``, or a ``base_url``
            that is not an http(s) URL.

    Example:
        >>> get_provider("vllm", base_url="http://127.0.0.1:9000/v1").url_for("embeddings")
        'http://127.0.0.1:9000/v1/embeddings'
    """
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    try:
        spec = PROVIDERS[key]
    except KeyError:
        raise UnknownProvider(
            f"unknown provider {name!r}; known providers: {', '.join(known_providers())} "
            "(use 'openai_compatible' with base_url for any other OpenAI-compatible server)",
            field="provider",
        ) from None
    if base_url is None:
        if not spec.base_url:
            raise ConfigError(
                f"provider {spec.name!r} needs base_url, e.g. 'http://127.0.0.1:8000/v1'",
                field="base_url",
            )
        return spec
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"base_url must start with http:// or https://, got {base_url!r}", field="base_url"
        )
    return attrs.evolve(spec, base_url=base_url.rstrip("/"))
