"""Image inputs: editing an image with a prompt, and embedding images."""

from __future__ import annotations

import base64
import mimetypes
import os
from typing import Any, overload

import trio

from ._model import ProviderModel
from ._response import ModelResponse
from ._typed import embedding_vectors, image_urls

__all__ = ["Image", "ImageEmbedder", "ImageTextToImage", "image_input", "image_upload"]

Image = bytes | str | os.PathLike[str] | tuple[str, bytes]
"""An image: its bytes, ``(filename, bytes)``, a file's path (``pathlib``/``trio.Path``)
or, where the provider takes a reference (embeddings, classification), a URL or base64
text as a ``str``."""


async def image_upload(image: Image, filename: str | None = None) -> tuple[str, bytes, str]:
    """``image`` as an uploaded file: ``(filename, bytes, content type)``; a ``str`` is a
    file's path here (an upload needs the bytes)."""
    if isinstance(image, tuple):
        name, content = image
    elif isinstance(image, bytes):
        name, content = filename or "image.png", image
    else:
        path = trio.Path(image)
        name, content = filename or path.name, await path.read_bytes()
    kind = mimetypes.guess_type(name)[0] or "image/png"
    return name, content, kind


async def image_input(image: Image) -> str:
    """``image`` as a JSON input: a ``str`` (URL or base64) as given, bytes and files as
    base64."""
    if isinstance(image, str):
        return image
    _, content, _ = await image_upload(image)
    return base64.b64encode(content).decode()


class ImageTextToImage(ProviderModel[ModelResponse[str | list[str]]]):
    """An image editor: an image (or several) and a prompt in, the edited image's URL out
    (a ``data:`` URL when the provider returns the image itself; a list for several).

    OpenAI and ImageRouter get a multipart upload (``/images/edits``): one image as the
    ``image`` part, a list of images as repeated ``image[]`` parts (gpt-image-1 edits
    several at once); Replicate gets each image as a ``data:`` URI in the prediction's
    ``input`` (a list of them for a list).

    Example::

        editor = Model.image_text_to_image("openai/gpt-image-1")
        url = (await editor(trio.Path("cat.png"), "give the cat a hat")).consume()
    """

    model_type = "image_text_to_image"

    async def acall(
        self,
        image: Image | list[Image],
        prompt: str,
        *,
        mask: Image | None = None,
        filename: str | None = None,
        **fields: Any,
    ) -> ModelResponse[str | list[str]]:
        """Edit ``image`` as ``prompt`` says.

        Args:
            image: the image (bytes, ``(filename, bytes)`` or a file's path), or a list
                of them (sent as ``image[]`` parts; bare bytes named ``image-<n>.png``).
            prompt: what to change.
            mask: where to change it (transparent pixels), same forms as ``image``.
            filename: the name sent with bytes (its extension gives the content type).
            **fields: ``n``, ``size``, ``response_format`` ... (or a Replicate model's
                inputs).
        """
        payload: dict[str, Any] = {**fields, "prompt": prompt}
        if isinstance(image, list):
            payload["image"] = [
                await image_upload(item, f"image-{number}.png" if isinstance(item, bytes) else None)
                for number, item in enumerate(image, 1)
            ]
        else:
            payload["image"] = await image_upload(image, filename)
        if mask is not None:
            payload["mask"] = await image_upload(mask, "mask.png")
        calling, response = await self._invoke(payload)
        urls = image_urls(response, str(fields.get("output_format", "png")))
        return self._respond(calling, response, urls[0] if len(urls) == 1 else urls)


class ImageEmbedder(ProviderModel[ModelResponse[Any]]):
    """An image embedding model (Jina AI's CLIP models): an image in, a vector out (a
    list of vectors for a list of images).

    Example::

        embedder = Model.image_embedder("jinaai/jina-clip-v2")
        vector = (await embedder("https://example.com/cat.png")).consume()
    """

    model_type = "image_embedder"

    @overload
    async def acall(self, image: Image, **fields: Any) -> ModelResponse[list[float]]: ...

    @overload
    async def acall(
        self, image: list[Image], **fields: Any
    ) -> ModelResponse[list[list[float]]]: ...

    async def acall(self, image: Image | list[Image], **fields: Any) -> ModelResponse[Any]:
        """Embed ``image`` (``dimensions`` ... as ``fields``)."""
        images = image if isinstance(image, list) else [image]
        inputs = [{"image": await image_input(item)} for item in images]
        calling, response = await self._invoke({**fields, "input": inputs})
        vectors = embedding_vectors(response)
        if isinstance(image, list):
            return self._respond(calling, response, vectors)
        return self._respond(calling, response, vectors[0] if vectors else [])
