"""What an Endpoint says about itself to a model: its lionpride name, version and tags.

lionpride names a provider's endpoint ``<provider>_<what it is called>``
(``openai_chat``, ``anthropic_messages``), reports the API version the endpoint pins
(Anthropic's ``anthropic-version`` header) and tags it ``{"llm", <provider>}``. callboard
keeps its own ``<provider>:<model type>`` spelling for the Endpoint's config name; an
iModel built on a default-named Endpoint takes the lionpride name, and the registry
answers to both.
"""

from __future__ import annotations

from callboard.providers import Dialect, ModelType, ProviderSpec

__all__ = ["api_version", "seed_name", "service_tags"]

# The model types lionpride tags "llm": they produce text from a conversation.
_LLM = frozenset({ModelType.CHAT, ModelType.RESPONSES})


def seed_name(spec: ProviderSpec, model_type: ModelType) -> str:
    """lionpride's name for ``spec``'s ``model_type`` endpoint.

    Anthropic's chat endpoint is its Messages API (``anthropic_messages``); every other
    endpoint is named after its model type (``openai_chat``, ``openai_embeddings``).

    Example:
        >>> from callboard.providers import get_provider
        >>> seed_name(get_provider("anthropic"), ModelType.CHAT)
        'anthropic_messages'
    """
    if spec.dialect is Dialect.ANTHROPIC and model_type is ModelType.CHAT:
        return f"{spec.name}_messages"
    return f"{spec.name}_{model_type.value}"


def api_version(spec: ProviderSpec) -> str | None:
    """The API version the provider's requests pin (``anthropic-version``), or ``None``."""
    return spec.headers.get("anthropic-version")


def service_tags(spec: ProviderSpec, model_type: ModelType) -> frozenset[str]:
    """``{"llm", provider}`` for a chat endpoint, ``{model type, provider}`` otherwise."""
    kind = "llm" if model_type in _LLM else model_type.value
    return frozenset({kind, spec.name})
