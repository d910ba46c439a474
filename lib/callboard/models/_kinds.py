"""The model types the factory builds, by their user-facing names.

The providers layer names what a provider offers by wire endpoint (``ModelType.CHAT``,
``ModelType.EMBEDDINGS``, ...); users of a model factory think in tasks
(``chat_completion``, ``text_embedder``). This table is the one place the two meet, and
also says what ``response_type`` each kind of model answers with.
"""

from __future__ import annotations

from types import MappingProxyType

import attrs

from callboard.providers import PROVIDERS, ModelType

from ._errors import UnknownModelType

__all__ = ["KINDS", "Kind", "kind_named", "providers_offering"]


@attrs.frozen
class Kind:
    """One model type: its factory name, the endpoint type behind it, its response type."""

    name: str
    model_type: ModelType
    response_type: str


KINDS = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            Kind("chat_completion", ModelType.CHAT, "text_generation"),
            Kind("text_embedder", ModelType.EMBEDDINGS, "text_embedding"),
            Kind("text_to_image", ModelType.IMAGE_GENERATION, "image_generation"),
            Kind("image_text_to_image", ModelType.IMAGE_EDIT, "image_generation"),
            Kind("text_to_speech", ModelType.TEXT_TO_SPEECH, "audio_generation"),
            Kind("speech_to_text", ModelType.SPEECH_TO_TEXT, "transcript"),
            Kind("moderation", ModelType.MODERATION, "moderation"),
            Kind("text_classifier", ModelType.CLASSIFICATION, "text_classification"),
            Kind("image_classifier", ModelType.IMAGE_CLASSIFICATION, "image_classification"),
            Kind("image_embedder", ModelType.IMAGE_EMBEDDINGS, "image_embedding"),
            Kind("text_reranker", ModelType.RERANK, "text_reranked"),
        )
    }
)
"""Every model type the factory builds, in the order ``model_types()`` lists."""

_BY_ENDPOINT = {kind.model_type: kind for kind in KINDS.values()}


def kind_named(name: str) -> Kind:
    """The kind called ``name``.

    Raises:
        UnknownModelType: no model type has that name (the message lists them).
    """
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownModelType(
            f"unknown model type {name!r}; model types: {', '.join(KINDS)}", field="model_type"
        ) from None


def kind_of(model_type: ModelType) -> Kind:
    """The kind behind endpoint type ``model_type``."""
    return _BY_ENDPOINT[model_type]


def providers_offering(kind: Kind) -> list[str]:
    """The providers offering ``kind``, sorted by name."""
    return sorted(name for name, spec in PROVIDERS.items() if spec.offers(kind.model_type))
