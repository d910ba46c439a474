"""The Model factory: ``Model.chat_completion("openai/gpt-4o")`` and friends.

A model id ``"provider/model"`` becomes a model object for one model type, backed by an
[`iModel`][callboard.iModel] on the provider's matching Endpoint (so limits,
hooks, retries and lifecycle events all apply). Call it with ``await model(...)`` for a
``ModelResponse`` (or a ``ModelStreamResponse`` when streaming), or with
``model.call_sync(...)`` from a plain script. ``serialize()`` gives JSON-safe data that
``from_serialized()`` turns back into a model. See ``docs/models.md``.
"""

from __future__ import annotations

from ._classifiers import ImageClassifier as ImageClassifier
from ._classifiers import TextClassifier as TextClassifier
from ._errors import InvalidModelId as InvalidModelId
from ._errors import ModelTypeNotOffered as ModelTypeNotOffered
from ._errors import SyncCallInsideTrio as SyncCallInsideTrio
from ._errors import UnknownModelProvider as UnknownModelProvider
from ._errors import UnknownModelType as UnknownModelType
from ._factory import Model as Model
from ._images import ImageEmbedder as ImageEmbedder
from ._images import ImageTextToImage as ImageTextToImage
from ._model import ProviderModel as ProviderModel
from ._response import Classification as Classification
from ._response import ModelResponse as ModelResponse
from ._response import ModelStreamResponse as ModelStreamResponse
from ._response import ModerationResult as ModerationResult
from ._response import RankedDocument as RankedDocument
from ._response import ResponseMetadata as ResponseMetadata
from ._serialized import SerializedModel as SerializedModel
from ._typed import ChatCompletion as ChatCompletion
from ._typed import Moderation as Moderation
from ._typed import SpeechToText as SpeechToText
from ._typed import TextEmbedder as TextEmbedder
from ._typed import TextReranker as TextReranker
from ._typed import TextToImage as TextToImage
from ._typed import TextToSpeech as TextToSpeech

__all__ = [
    "ChatCompletion",
    "Classification",
    "ImageClassifier",
    "ImageEmbedder",
    "ImageTextToImage",
    "InvalidModelId",
    "Model",
    "ModelResponse",
    "ModelStreamResponse",
    "ModelTypeNotOffered",
    "Moderation",
    "ModerationResult",
    "ProviderModel",
    "RankedDocument",
    "ResponseMetadata",
    "SerializedModel",
    "SpeechToText",
    "SyncCallInsideTrio",
    "TextClassifier",
    "TextEmbedder",
    "TextReranker",
    "TextToImage",
    "TextToSpeech",
    "UnknownModelProvider",
    "UnknownModelType",
]
