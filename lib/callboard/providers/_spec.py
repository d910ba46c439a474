"""What a provider is, as data: where it lives, how it authenticates, what it offers.

Adding an OpenAI-compatible provider is adding one ``ProviderSpec`` value; no code
path changes. The two wire *dialects* (OpenAI-compatible and Anthropic Messages) are the
only code, in their own modules.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ._errors import UnsupportedModelType

__all__ = ["AuthStyle", "Dialect", "ModelType", "ProviderSpec", "RateLimitDialect"]


class ModelType(enum.StrEnum):
    """The kinds of model call callboard knows how to make.

    ``RESPONSES`` is OpenAI's Responses API (``POST /v1/responses``), its recommended
    interface for new work; ``CHAT`` is chat completions (or Anthropic's Messages).
    ``IMAGE_EDIT`` is an image and a prompt in, an image out (OpenAI's multipart
    ``/images/edits``, or a Replicate prediction). ``CLASSIFICATION`` and
    ``IMAGE_CLASSIFICATION`` are Jina AI's ``/classify`` with text or image inputs;
    ``IMAGE_EMBEDDINGS`` is ``/embeddings`` with image inputs (Jina's CLIP models).
    Two model types may share a path: what differs is the input they carry.
    """

    CHAT = "chat"
    EMBEDDINGS = "embeddings"
    MODERATION = "moderation"
    IMAGE_GENERATION = "image_generation"
    TEXT_TO_SPEECH = "text_to_speech"
    SPEECH_TO_TEXT = "speech_to_text"
    RERANK = "rerank"
    RESPONSES = "responses"
    IMAGE_EDIT = "image_edit"
    CLASSIFICATION = "classification"
    IMAGE_CLASSIFICATION = "image_classification"
    IMAGE_EMBEDDINGS = "image_embeddings"


class AuthStyle(enum.StrEnum):
    """How the API key travels: ``Authorization: Bearer``, ``x-api-key``, or not at all."""

    BEARER = "bearer"
    X_API_KEY = "x-api-key"
    NONE = "none"


class Dialect(enum.StrEnum):
    """The request, response and stream format a provider speaks."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    REPLICATE = "replicate"


class RateLimitDialect(enum.StrEnum):
    """Which rate-limit headers a provider sends.

    ``openai``: ``x-ratelimit-*`` with Go-style durations; ``anthropic``:
    ``anthropic-ratelimit-*`` with RFC 3339 resets; ``none``: only ``retry-after``.
    """

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    NONE = "none"


def _frozen_paths(value: Mapping[ModelType, str]) -> Mapping[ModelType, str]:
    return MappingProxyType({ModelType(kind): path for kind, path in value.items()})


def _frozen_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType(dict(value))


def _frozen_headers(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({name.lower(): header for name, header in value.items()})


@attrs.frozen
class ProviderSpec:
    """Everything callboard needs to know to call one provider.

    Attributes:
        name: the provider's name (``"openai"``, ``"groq"``, ...).
        base_url: the API root every path is appended to.
        auth: how the API key is sent.
        paths: the path of each model type the provider offers.
        dialect: the wire format of requests, responses and streams.
        rate_limit_dialect: which rate-limit headers to read.
        api_key_env: the environment variable conventionally holding the key.
        api_key_required: whether calling without a key is an error (local servers
            accept calls without one).
        headers: extra non-secret headers every request carries
            (``anthropic-version``).
        default_fields: request fields filled in when the payload lacks them
            (Anthropic requires ``max_tokens``).
        stream_usage: whether to ask for a final usage chunk when streaming
            (OpenAI's ``stream_options.include_usage``); off for providers that reject
            the option or always send usage anyway.

    Example:
        >>> from callboard.providers import get_provider
        >>> spec = get_provider("groq")
        >>> spec.url_for(ModelType.CHAT)
        'https://api.groq.com/openai/v1/chat/completions'
    """

    name: str
    base_url: str
    auth: AuthStyle
    paths: Mapping[ModelType, str] = attrs.field(converter=_frozen_paths)
    dialect: Dialect = Dialect.OPENAI
    rate_limit_dialect: RateLimitDialect = RateLimitDialect.NONE
    api_key_env: str | None = None
    api_key_required: bool = True
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str], converter=_frozen_headers)
    default_fields: Mapping[str, object] = attrs.field(
        factory=dict[str, object], converter=_frozen_mapping
    )
    stream_usage: bool = True

    @property
    def model_types(self) -> tuple[ModelType, ...]:
        """The model types this provider offers, in declaration order."""
        return tuple(self.paths)

    def offers(self, model_type: ModelType | str) -> bool:
        """Whether the provider offers ``model_type``."""
        return model_type in self.paths

    def path_for(self, model_type: ModelType | str) -> str:
        """The path of ``model_type``.

        Raises:
            UnsupportedModelType: the provider does not offer it.
        """
        kind = _model_type(model_type)
        try:
            return self.paths[kind]
        except KeyError:
            offered = ", ".join(self.paths)
            raise UnsupportedModelType(
                f"provider {self.name!r} does not offer {kind.value!r}; it offers: {offered}",
                field="model_type",
            ) from None

    def url_for(self, model_type: ModelType | str) -> str:
        """The full URL of ``model_type``."""
        return self.base_url.rstrip("/") + self.path_for(model_type)

    def model_type_for(self, endpoint: str) -> ModelType:
        """The model type whose path ends with ``endpoint`` (``"chat/completions"``).

        Lets callers name an endpoint the way the provider's docs do.

        Raises:
            UnsupportedModelType: no offered path matches.
        """
        wanted = "/" + endpoint.strip("/")
        for kind, path in self.paths.items():
            if path.endswith(wanted):
                return kind
        try:
            kind = ModelType(endpoint)
        except ValueError:
            pass
        else:
            if kind in self.paths:
                return kind
        offered = ", ".join(p.lstrip("/") for p in self.paths.values())
        raise UnsupportedModelType(
            f"provider {self.name!r} has no endpoint {endpoint!r}; it offers: {offered}",
            field="endpoint",
        )


def _model_type(value: ModelType | str) -> ModelType:
    try:
        return ModelType(value)
    except ValueError:
        known = ", ".join(m.value for m in ModelType)
        raise UnsupportedModelType(
            f"unknown model type {value!r}; known model types: {known}", field="model_type"
        ) from None
