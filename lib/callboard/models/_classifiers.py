"""Text and image classifiers: inputs and labels in, the best label and its score out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast, overload

from callboard.providers import NormalizedResponse
from callboard.resilience import InvalidResponse

from ._images import Image, image_input
from ._model import ProviderModel
from ._response import Classification, ModelResponse
from ._typed import body_items

__all__ = ["ImageClassifier", "TextClassifier"]


def _classification(item: Mapping[str, Any], response: NormalizedResponse) -> Classification:
    label, score = item.get("prediction"), item.get("score")
    if not isinstance(label, str) or not isinstance(score, int | float):
        raise InvalidResponse(
            "expected a prediction and a score in each classification",
            provider=response.provider,
        )
    scores: dict[str, float] = {}
    entries = item.get("predictions")
    for entry in cast(list[object], entries) if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            found = cast(Mapping[str, object], entry)
            name, value = found.get("label"), found.get("score")
            if isinstance(name, str) and isinstance(value, int | float):
                scores[name] = float(value)
    return Classification(label=label, score=float(score), scores=scores)


class _Classifier(ProviderModel[ModelResponse[Any]]):
    async def _classify(
        self, inputs: list[object], single: bool, fields: dict[str, Any]
    ) -> ModelResponse[Any]:
        calling, response = await self._invoke({**fields, "input": inputs})
        items = sorted(body_items(response, "data"), key=lambda item: int(item.get("index", 0)))
        results = [_classification(item, response) for item in items]
        if single:
            if not results:
                raise InvalidResponse("the classifier answered no result", provider=self.provider)
            return self._respond(calling, response, results[0])
        return self._respond(calling, response, results)


class TextClassifier(_Classifier):
    """A zero-shot text classifier (Jina AI's ``/classify``): give ``labels`` to the
    factory or per call; a text in, a ``Classification`` out (a list for a list).

    Example::

        classifier = Model.text_classifier("jinaai/jina-embeddings-v3",
                                           labels=["sports", "cooking"])
        print((await classifier("a recipe for soup")).consume().label)
    """

    model_type = "text_classifier"

    @overload
    async def acall(self, input: str, **fields: Any) -> ModelResponse[Classification]: ...

    @overload
    async def acall(
        self, input: Sequence[str], **fields: Any
    ) -> ModelResponse[list[Classification]]: ...

    async def acall(self, input: str | Sequence[str], **fields: Any) -> ModelResponse[Any]:
        """Classify ``input`` (``labels`` ... as ``fields``)."""
        texts = [input] if isinstance(input, str) else list(input)
        return await self._classify(list[object](texts), isinstance(input, str), fields)


class ImageClassifier(_Classifier):
    """A zero-shot image classifier (Jina AI's CLIP models): an image (a URL, base64,
    bytes or a file's path) in, a ``Classification`` out (a list for a list).

    Example::

        classifier = Model.image_classifier("jinaai/jina-clip-v2", labels=["cat", "dog"])
        print((await classifier("https://example.com/cat.png")).consume().label)
    """

    model_type = "image_classifier"

    @overload
    async def acall(self, image: Image, **fields: Any) -> ModelResponse[Classification]: ...

    @overload
    async def acall(
        self, image: list[Image], **fields: Any
    ) -> ModelResponse[list[Classification]]: ...

    async def acall(self, image: Image | list[Image], **fields: Any) -> ModelResponse[Any]:
        """Classify ``image`` (``labels`` ... as ``fields``)."""
        images = image if isinstance(image, list) else [image]
        inputs: list[object] = []
        for item in images:
            inputs.append({"image": await image_input(item)})
        return await self._classify(inputs, not isinstance(image, list), fields)
