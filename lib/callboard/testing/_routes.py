"""The routes the fake provider serves, and the models it knows of (served by name
when a provider is given ``models=DEFAULT_MODELS``; by default any name is served)."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._anthropic_messages import messages
from ._audio import speech, transcriptions
from ._openai_chat import chat_completions
from ._openai_endpoints import embeddings, images, moderations
from ._openai_responses import responses
from ._request import RouteContext
from ._rerank import rerank
from ._wire import Family, Prepared

__all__ = ["DEFAULT_MODELS", "ROUTES", "Route"]


@attrs.frozen
class Route:
    """A path, the provider family whose auth and error shapes it uses, and its handler."""

    path: str
    family: Family
    handler: Callable[[bytes, RouteContext], Prepared]


ROUTES: dict[str, Route] = {
    route.path: route
    for route in (
        Route("/v1/chat/completions", "openai", chat_completions),
        Route("/v1/responses", "openai", responses),
        Route("/v1/embeddings", "openai", embeddings),
        Route("/v1/moderations", "openai", moderations),
        Route("/v1/images/generations", "openai", images),
        Route("/v1/audio/speech", "openai", speech),
        Route("/v1/audio/transcriptions", "openai", transcriptions),
        Route("/v1/rerank", "openai", rerank),
        Route("/v1/messages", "anthropic", messages),
    )
}

DEFAULT_MODELS = frozenset(
    {
        # OpenAI chat
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4.1-nano",
        "gpt-5",
        "gpt-5-mini",
        "o3",
        "o4-mini",
        # OpenAI embeddings, moderation, images, audio
        "text-embedding-3-small",
        "text-embedding-3-large",
        "text-embedding-ada-002",
        "omni-moderation-latest",
        "text-moderation-latest",
        "dall-e-2",
        "dall-e-3",
        "gpt-image-1",
        "tts-1",
        "tts-1-hd",
        "gpt-4o-mini-tts",
        "whisper-1",
        "gpt-4o-transcribe",
        # rerankers (Jina, Cohere)
        "jina-reranker-v2-base-multilingual",
        "rerank-v3.5",
        "rerank-english-v3.0",
        # Anthropic
        "claude-opus-4-1",
        "claude-opus-4-5",
        "claude-opus-4-6",
        "claude-opus-4-7",
        "claude-opus-5",
        "claude-sonnet-4-5",
        "claude-sonnet-4-6",
        "claude-sonnet-5",
        "claude-sonnet-4-0",
        "claude-haiku-4-5",
        "claude-3-7-sonnet-latest",
        "claude-3-5-haiku-latest",
        # for tests that want a neutral name
        "fake-model",
    }
)
