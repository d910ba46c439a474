"""Model: build a model from a ``"provider/model"`` id, one factory per model type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from callboard.endpoint._api_key import key_source
from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.providers import PROVIDERS, ProviderSpec, UnknownProvider, get_provider

from ._classifiers import ImageClassifier, TextClassifier
from ._errors import InvalidModelId, ModelTypeNotOffered, UnknownModelProvider
from ._images import ImageEmbedder, ImageTextToImage
from ._kinds import KINDS, Kind, providers_offering
from ._model import ProviderModel
from ._seed_state import read_seed_state
from ._serialized import TYPE_TAG, load_model
from ._typed import (
    ChatCompletion,
    Moderation,
    SpeechToText,
    TextEmbedder,
    TextReranker,
    TextToImage,
    TextToSpeech,
)

__all__ = ["Model"]

M = TypeVar("M", bound=ProviderModel[Any])

_CLASSES: Mapping[str, type[ProviderModel[Any]]] = {
    cls.model_type: cls
    for cls in (
        ChatCompletion,
        TextEmbedder,
        Moderation,
        TextToImage,
        TextToSpeech,
        SpeechToText,
        TextReranker,
        ImageTextToImage,
        TextClassifier,
        ImageClassifier,
        ImageEmbedder,
    )
}


def _split(model_path: str) -> tuple[str, str]:
    provider, _, model_id = str(model_path).partition("/")
    if not provider.strip() or not model_id.strip():
        raise InvalidModelId(
            f"a model id is 'provider/model', e.g. 'openai/gpt-4o'; got {model_path!r}",
            field="model",
        )
    return provider.strip(), model_id.strip()


def _spec(provider: str, kind: Kind, base_url: object) -> ProviderSpec:
    offering = ", ".join(providers_offering(kind))
    try:
        spec = get_provider(provider, base_url=base_url if isinstance(base_url, str) else None)
    except UnknownProvider:
        raise UnknownModelProvider(
            f"unknown provider {provider!r} for {kind.name}; providers offering "
            f"{kind.name}: {offering}",
            field="provider",
        ) from None
    if not spec.offers(kind.model_type):
        offered = ", ".join(k.name for k in KINDS.values() if spec.offers(k.model_type))
        raise ModelTypeNotOffered(
            f"provider {spec.name!r} does not offer {kind.name}; it offers: {offered}. "
            f"Providers offering {kind.name}: {offering}",
            field="model_type",
        )
    return spec


def _build(cls: type[M], model_path: str, kwargs: dict[str, Any]) -> M:
    kind = KINDS[cls.model_type]
    provider, model_id = _split(model_path)
    spec = _spec(provider, kind, kwargs.get("base_url"))
    if kwargs.get("api_key") is not None:
        # iModel's one rule, applied at once: a raw key is never held as plain text here
        kwargs["api_key"] = key_source(kwargs["api_key"])
    recipe: dict[str, Any] = {
        "name": f"{spec.name}/{model_id}",
        **kwargs,
        "provider": spec.name,
        "endpoint": kind.model_type.value,
        "model": model_id,
    }

    def rebuild() -> iModel:
        return iModel(**recipe)

    return cls(rebuild(), rebuild=rebuild)


class Model:
    """Build a model from ``"provider/model"``: one factory per model type.

    Every factory takes the model id and keyword arguments: request defaults
    (``temperature``, ``max_tokens``, ``voice``, ...), where and how to reach the
    provider (``base_url``, ``api_key`` — preferably the *name* of an environment
    variable such as ``"OPENAI_API_KEY"`` — ``timeout``, ``retry``, ...) and the
    model's limits and hooks (``limit_requests``, ``limit_tokens``,
    ``hook_registry``, ...), exactly as [`iModel`][callboard.iModel] takes them.

    Every factory raises the same errors:

    Raises:
        InvalidModelId: the id is not ``"provider/model"``.
        UnknownModelProvider: no such provider (lists those offering the model type).
        ModelTypeNotOffered: the provider does not offer this model type (lists what
            it offers and who offers the type).
        MissingApiKey: the provider needs a key and none was found.
        ConfigError: any other invalid option.

    Example::

        model = Model.chat_completion("openai/gpt-4o", temperature=0.7,
                                      api_key="OPENAI_API_KEY")
        response = await model(messages=[{"role": "user", "content": "Hello!"}])
        print(response.consume())
    """

    @staticmethod
    def chat_completion(model: str, **kwargs: Any) -> ChatCompletion:
        """A chat model (``"openai/gpt-4o"``, ``"anthropic/claude-sonnet-4-5"``)."""
        return _build(ChatCompletion, model, kwargs)

    @staticmethod
    def text_embedder(model: str, **kwargs: Any) -> TextEmbedder:
        """An embedding model (``"openai/text-embedding-3-small"``)."""
        return _build(TextEmbedder, model, kwargs)

    @staticmethod
    def moderation(model: str, **kwargs: Any) -> Moderation:
        """A moderation model (``"openai/omni-moderation-latest"``)."""
        return _build(Moderation, model, kwargs)

    @staticmethod
    def text_to_image(model: str, **kwargs: Any) -> TextToImage:
        """An image generation model (``"openai/dall-e-3"``)."""
        return _build(TextToImage, model, kwargs)

    @staticmethod
    def text_to_speech(model: str, **kwargs: Any) -> TextToSpeech:
        """A speech model (``"openai/tts-1"``; pass ``voice=`` here or per call)."""
        return _build(TextToSpeech, model, kwargs)

    @staticmethod
    def speech_to_text(model: str, **kwargs: Any) -> SpeechToText:
        """A transcription model (``"openai/whisper-1"``)."""
        return _build(SpeechToText, model, kwargs)

    @staticmethod
    def text_reranker(model: str, **kwargs: Any) -> TextReranker:
        """A reranker (``"together/Salesforce/Llama-Rank-V1"``, ``"vllm/..."``)."""
        return _build(TextReranker, model, kwargs)

    @staticmethod
    def image_text_to_image(model: str, **kwargs: Any) -> ImageTextToImage:
        """An image editor (``"openai/gpt-image-1"``, ``"replicate/owner/name"``)."""
        return _build(ImageTextToImage, model, kwargs)

    @staticmethod
    def text_classifier(model: str, **kwargs: Any) -> TextClassifier:
        """A text classifier (``"jinaai/jina-embeddings-v3"``; ``labels=[...]``)."""
        return _build(TextClassifier, model, kwargs)

    @staticmethod
    def image_classifier(model: str, **kwargs: Any) -> ImageClassifier:
        """An image classifier (``"jinaai/jina-clip-v2"``; ``labels=[...]``)."""
        return _build(ImageClassifier, model, kwargs)

    @staticmethod
    def image_embedder(model: str, **kwargs: Any) -> ImageEmbedder:
        """An image embedding model (``"jinaai/jina-clip-v2"``)."""
        return _build(ImageEmbedder, model, kwargs)

    @staticmethod
    def model_types() -> list[str]:
        """Every model type, by factory name.

        Example:
            >>> Model.model_types()[:3]
            ['chat_completion', 'text_embedder', 'text_to_image']
        """
        return list(KINDS)

    @staticmethod
    def providers() -> dict[str, list[str]]:
        """Each model type (by factory name) and the providers offering it, in the
        catalog's order.

        Example:
            >>> Model.providers()["text_classifier"]
            ['jinaai']
        """
        return {
            kind.name: [name for name, spec in PROVIDERS.items() if spec.offers(kind.model_type)]
            for kind in KINDS.values()
        }

    @staticmethod
    def from_serialized(
        data: Mapping[str, Any] | None = None,
        *,
        msgflux_type: str | None = None,
        provider: str | None = None,
        model_type: str | None = None,
        state: Mapping[str, Any] | None = None,
        **unexpected: object,
    ) -> ProviderModel[Any]:
        """Rebuild a model from what its ``serialize()`` returned (also after a trip
        through ``json.dumps`` / ``json.loads``): same type, provider, model, request
        defaults, limits and metadata; fresh identity and full rate-limit buckets.

        Takes the whole dict, ``Model.from_serialized(**data)``, or its parts
        (``provider=``, ``model_type=``, ``state=``); a state msgflux wrote (no
        ``callboard`` part) is rebuilt from its ``sampling_params`` and
        ``sampling_run_params``. callboard's earlier layout (``"type":
        "callboard.model"``) is read too.

        Raises:
            ConfigError: the data is not a serialized model, or a part of it is missing,
                of the wrong type or disagrees with another (the message names it).
            UnknownModelType: its model type is unknown.
            NotRestorable: its API key's environment variable is not set.
        """
        if unexpected:
            raise ConfigError(
                f"Model.from_serialized got unexpected parts {sorted(unexpected)}; a "
                "serialized model has 'msgflux_type', 'provider', 'model_type' and 'state'",
                field=sorted(unexpected)[0],
            )
        if data is not None:
            if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ConfigError(
                    "Model.from_serialized takes the dict serialize() returned, got "
                    f"{type(data).__name__}",
                    field="data",
                )
            if data.get("type") == TYPE_TAG:
                return _load(data)
            if "msgflux_type" not in data and "state" not in data:
                raise ConfigError(
                    "Model.from_serialized takes the dict serialize() returned: "
                    "{'msgflux_type': 'model', 'provider', 'model_type', 'state'}; got keys "
                    f"{sorted(map(str, data))}",
                    field="data",
                )
            msgflux_type = data.get("msgflux_type")
            provider, model_type, state = (
                data.get("provider"),
                data.get("model_type"),
                data.get("state"),
            )
        seed = read_seed_state(
            msgflux_type=msgflux_type, provider=provider, model_type=model_type, state=state
        )
        if seed.lossless is not None:
            return _load(seed.lossless)
        factory = _CLASSES[seed.model_type]
        return _build(factory, f"{seed.provider}/{seed.model_id}", dict(seed.options))


def _load(data: Mapping[str, Any]) -> ProviderModel[Any]:
    kind, imodel_data = load_model(data)

    def rebuild() -> iModel:
        return iModel.from_dict(imodel_data)

    return _CLASSES[kind.name](rebuild(), rebuild=rebuild)
