"""endpoint_model_type: the model type an endpoint name stands for, on one provider.

An endpoint can be named by its model type (``"chat"``), by the provider's own path
(``"messages"`` on Anthropic) or by what another provider calls it
(``"chat/completions"``), so one name works across providers. ``match_endpoint``, the
[`EndpointConfig`][callboard.EndpointConfig] check and the Endpoint all resolve a name here,
so a config that validates is one the Endpoint can build.
"""

from __future__ import annotations

from ._errors import UnsupportedModelType
from ._spec import ModelType, ProviderSpec

__all__ = ["endpoint_model_type"]

# What other providers call their endpoints, so a name written for one provider
# ("chat/completions") finds the same model type on another ("/messages").
_ALIASES: dict[str, ModelType] = {
    "chat/completions": ModelType.CHAT,
    "messages": ModelType.CHAT,
    "completions": ModelType.CHAT,
    "embeddings": ModelType.EMBEDDINGS,
    "moderations": ModelType.MODERATION,
    "images/generations": ModelType.IMAGE_GENERATION,
    "audio/speech": ModelType.TEXT_TO_SPEECH,
    "audio/transcriptions": ModelType.SPEECH_TO_TEXT,
    "rerank": ModelType.RERANK,
    "images/edits": ModelType.IMAGE_EDIT,
    "classify": ModelType.CLASSIFICATION,
    "responses": ModelType.RESPONSES,
}


def _alias(endpoint: str) -> ModelType | None:
    return _ALIASES.get(endpoint.strip("/").removeprefix("v1/"))


def endpoint_model_type(spec: ProviderSpec, endpoint: str, *, own_path: bool = False) -> ModelType:
    """The model type ``endpoint`` names on ``spec``'s provider.

    Args:
        spec: the provider.
        endpoint: a model type (``"embeddings"``), the provider's path for it, or another
            provider's name for it (``"chat/completions"``, ``"messages"``).
        own_path: the caller gives its own request path, so the provider need not offer
            the model type: the name only says how the request and response look.

    Raises:
        UnsupportedModelType: the provider does not offer it (``field="endpoint"``), or
            with ``own_path`` the name is neither a model type nor a known endpoint.

    Example:
        >>> from callboard.providers import get_provider
        >>> endpoint_model_type(get_provider("anthropic"), "chat/completions").value
        'chat'
    """
    if own_path:
        try:
            return ModelType(endpoint)
        except ValueError:
            pass
        kind = _alias(endpoint)
        if kind is None:
            types = ", ".join(repr(t.value) for t in ModelType)
            raise UnsupportedModelType(
                f"with path= the endpoint must name a model type ({types}) or a known "
                f"endpoint such as 'chat/completions', so the request and response can be "
                f"read; got {endpoint!r}",
                field="endpoint",
            )
        return kind
    try:
        return spec.model_type_for(endpoint)
    except UnsupportedModelType:
        kind = _alias(endpoint)
        if kind is None or not spec.offers(kind):
            raise
        return kind
