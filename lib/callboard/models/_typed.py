"""The factory's text, audio and image-generation models: how each shapes its request
and reads its answer (image inputs are in ``_images``, classifiers in ``_classifiers``)."""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast, overload

import trio

from callboard.providers import NormalizedResponse
from callboard.resilience import InvalidResponse

from ._model import ProviderModel
from ._response import ModelResponse, ModelStreamResponse, ModerationResult, RankedDocument

__all__ = [
    "ChatCompletion",
    "Moderation",
    "SpeechToText",
    "TextEmbedder",
    "TextReranker",
    "TextToImage",
    "TextToSpeech",
    "body_items",
    "embedding_vectors",
    "image_urls",
    "vector",
]

Messages = Sequence[Mapping[str, Any]]
Audio = bytes | str | os.PathLike[str] | tuple[str, bytes]


def body_items(response: NormalizedResponse, key: str) -> list[Mapping[str, Any]]:
    """The list of objects at ``raw[key]`` of a JSON answer."""
    raw = response.raw
    items = cast(Mapping[str, object], raw).get(key) if isinstance(raw, Mapping) else None
    if not isinstance(items, list):
        raise InvalidResponse(f"expected a list at body.{key}", provider=response.provider)
    found: list[Mapping[str, Any]] = []
    for item in cast(list[object], items):
        if not isinstance(item, Mapping):
            raise InvalidResponse(f"expected objects in body.{key}", provider=response.provider)
        found.append(cast(Mapping[str, Any], item))
    return found


class ChatCompletion(ProviderModel[ModelResponse[str] | ModelStreamResponse]):
    """A chat model: messages in, text out (or a stream of text chunks).

    Example::

        model = Model.chat_completion("openai/gpt-4o", temperature=0.7)
        response = await model(messages=[{"role": "user", "content": "Hello!"}])
        print(response.consume())
    """

    model_type = "chat_completion"

    @overload
    async def __call__(
        self,
        messages: Messages | str | None = None,
        *,
        stream: Literal[False] = False,
        **fields: Any,
    ) -> ModelResponse[str]: ...

    @overload
    async def __call__(
        self, messages: Messages | str | None = None, *, stream: Literal[True], **fields: Any
    ) -> ModelStreamResponse: ...

    async def __call__(
        self, messages: Messages | str | None = None, *, stream: bool = False, **fields: Any
    ) -> ModelResponse[str] | ModelStreamResponse:
        """The same as ``acall()`` (typed per ``stream``)."""
        if stream:
            return await self.acall(messages, stream=True, **fields)
        return await self.acall(messages, stream=False, **fields)

    @overload
    async def acall(
        self,
        messages: Messages | str | None = None,
        *,
        stream: Literal[False] = False,
        **fields: Any,
    ) -> ModelResponse[str]: ...

    @overload
    async def acall(
        self, messages: Messages | str | None = None, *, stream: Literal[True], **fields: Any
    ) -> ModelStreamResponse: ...

    async def acall(
        self, messages: Messages | str | None = None, *, stream: bool = False, **fields: Any
    ) -> ModelResponse[str] | ModelStreamResponse:
        """Ask the model.

        Args:
            messages: the conversation; a str is one user message.
            stream: return a [`ModelStreamResponse`][callboard.ModelStreamResponse] of text chunks.
            **fields: any other request field (``max_tokens``, ``tools``, ...), over the
                factory's defaults.

        Returns:
            A [`ModelResponse`][callboard.ModelResponse] whose ``consume()`` is the text, or a
            [`ModelStreamResponse`][callboard.ModelStreamResponse] when ``stream=True``.
        """
        payload = dict(fields)
        if isinstance(messages, str):
            payload["messages"] = [{"role": "user", "content": messages}]
        elif messages is not None:
            payload["messages"] = [dict(message) for message in messages]
        if stream:
            channel = await self.imodel.invoke_stream_with_channel(**payload)
            return ModelStreamResponse(channel)
        calling, response = await self._invoke(payload)
        return self._respond(calling, response, response.text)


def vector(value: object, response: NormalizedResponse) -> list[float]:
    if isinstance(value, str):  # encoding_format="base64": little-endian float32
        packed = base64.b64decode(value)
        return list(struct.unpack(f"<{len(packed) // 4}f", packed))
    if isinstance(value, list):
        return [float(x) for x in cast(list[float], value)]
    raise InvalidResponse("expected an embedding vector", provider=response.provider)


def embedding_vectors(response: NormalizedResponse) -> list[list[float]]:
    """The vectors of an embeddings answer, in input order."""
    items = sorted(body_items(response, "data"), key=lambda item: int(item.get("index", 0)))
    return [vector(item.get("embedding"), response) for item in items]


class TextEmbedder(ProviderModel[ModelResponse[Any]]):
    """An embedding model: text in, a vector out (a list of vectors for a list of texts).

    Example::

        embedder = Model.text_embedder("openai/text-embedding-3-small")
        vector = (await embedder("Hello, world!")).consume()
    """

    model_type = "text_embedder"

    @overload
    async def acall(self, input: str, **fields: Any) -> ModelResponse[list[float]]: ...

    @overload
    async def acall(self, input: list[str], **fields: Any) -> ModelResponse[list[list[float]]]: ...

    async def acall(
        self, input: str | list[str], **fields: Any
    ) -> ModelResponse[list[float]] | ModelResponse[list[list[float]]]:
        """Embed ``input`` (``dimensions``, ``encoding_format`` ... as ``fields``)."""
        calling, response = await self._invoke({**fields, "input": input})
        vectors = embedding_vectors(response)
        if isinstance(input, str):
            return self._respond(calling, response, vectors[0] if vectors else [])
        return self._respond(calling, response, vectors)


def _verdict(item: Mapping[str, Any]) -> ModerationResult:
    categories = cast(Mapping[str, object], item.get("categories") or {})
    scores = cast(Mapping[str, object], item.get("category_scores") or {})
    return ModerationResult(
        flagged=bool(item.get("flagged")),
        categories={name: bool(hit) for name, hit in categories.items()},
        category_scores={
            name: float(score)
            for name, score in scores.items()
            if isinstance(score, int | float) and not isinstance(score, bool)
        },
    )


class Moderation(ProviderModel[ModelResponse[Any]]):
    """A moderation model: text in, a ``ModerationResult`` out (a list for a list).

    Example::

        moderation = Model.moderation("openai/omni-moderation-latest")
        print((await moderation("some text")).consume().flagged)
    """

    model_type = "moderation"

    @overload
    async def acall(self, input: str, **fields: Any) -> ModelResponse[ModerationResult]: ...

    @overload
    async def acall(
        self, input: list[str], **fields: Any
    ) -> ModelResponse[list[ModerationResult]]: ...

    async def acall(
        self, input: str | list[str], **fields: Any
    ) -> ModelResponse[ModerationResult] | ModelResponse[list[ModerationResult]]:
        """Moderate ``input``."""
        calling, response = await self._invoke({**fields, "input": input})
        results = [_verdict(item) for item in body_items(response, "results")]
        if isinstance(input, str):
            if not results:
                raise InvalidResponse("the moderation answer has no result", provider=self.provider)
            return self._respond(calling, response, results[0])
        return self._respond(calling, response, results)


class TextToImage(ProviderModel[ModelResponse[str | list[str]]]):
    """An image model: a prompt in, an image URL out (``data:`` URLs when the provider
    returns the image itself); a list when several images were asked for (``n``).

    Example::

        painter = Model.text_to_image("openai/dall-e-3")
        url = (await painter("A cat wearing a space suit", size="1024x1024")).consume()
    """

    model_type = "text_to_image"

    async def acall(self, prompt: str, **fields: Any) -> ModelResponse[str | list[str]]:
        """Generate images for ``prompt`` (``n``, ``size``, ``quality`` ... as ``fields``)."""
        calling, response = await self._invoke({**fields, "prompt": prompt})
        urls = image_urls(response, str(fields.get("output_format", "png")))
        return self._respond(calling, response, urls[0] if len(urls) == 1 else urls)


def image_urls(response: NormalizedResponse, kind: str = "png") -> list[str]:
    """The images of an answer as URLs: OpenAI-style ``data`` items (``url``, or
    ``b64_json`` as a ``data:`` URL) or a Replicate prediction's ``output`` files.

    Raises:
        InvalidResponse: the answer holds no image.
    """
    raw = response.raw
    output = cast(Mapping[str, object], raw).get("output") if isinstance(raw, Mapping) else None
    urls: list[str] = []
    if isinstance(output, str):
        urls.append(output)
    elif isinstance(output, list):
        urls.extend(url for url in cast(list[object], output) if isinstance(url, str))
    else:
        for item in body_items(response, "data"):
            url, data = item.get("url"), item.get("b64_json")
            if isinstance(url, str):
                urls.append(url)
            elif isinstance(data, str):
                urls.append(f"data:image/{kind};base64,{data}")
    if not urls:
        raise InvalidResponse("the image answer has no image", provider=response.provider)
    return urls


class TextToSpeech(ProviderModel[ModelResponse[bytes]]):
    """A speech model: text in, audio bytes out.

    Example::

        voice = Model.text_to_speech("openai/tts-1", voice="alloy")
        audio = (await voice("Hello!")).consume()
    """

    model_type = "text_to_speech"

    async def acall(self, input: str, **fields: Any) -> ModelResponse[bytes]:
        """Speak ``input`` (``voice``, ``response_format`` ... as ``fields``)."""
        calling, response = await self._invoke({**fields, "input": input})
        audio = response.raw
        if not isinstance(audio, bytes):
            raise InvalidResponse("the speech answer has no audio", provider=self.provider)
        return self._respond(calling, response, audio)


class SpeechToText(ProviderModel[ModelResponse[str]]):
    """A transcription model: audio in, text out.

    Example::

        transcriber = Model.speech_to_text("openai/whisper-1")
        text = (await transcriber("meeting.mp3")).consume()
    """

    model_type = "speech_to_text"

    async def acall(
        self, audio: Audio, *, filename: str | None = None, **fields: Any
    ) -> ModelResponse[str]:
        """Transcribe ``audio``.

        Args:
            audio: a file's path, its bytes, or ``(filename, bytes)``.
            filename: the name sent with bytes; providers read the audio format from
                its extension (``"audio.mp3"`` by default).
            **fields: ``language``, ``response_format``, ...
        """
        if isinstance(audio, tuple):
            name, content = audio
        elif isinstance(audio, bytes):
            name, content = filename or "audio.mp3", audio
        else:
            path = trio.Path(audio)
            name, content = filename or path.name, await path.read_bytes()
        calling, response = await self._invoke({**fields, "file": (name, content)})
        return self._respond(calling, response, response.text)


def _ranked(item: Mapping[str, Any]) -> RankedDocument:
    document = item.get("document")
    text = document.get("text") if isinstance(document, Mapping) else document  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    score = item.get("relevance_score", item.get("score", 0.0))
    return RankedDocument(
        index=int(item.get("index", 0)),
        score=float(score),
        text=text if isinstance(text, str) else None,
    )


class TextReranker(ProviderModel[ModelResponse[list[RankedDocument]]]):
    """A reranker: a query and documents in, the documents ranked best first out.

    Example::

        reranker = Model.text_reranker("vllm/jina-reranker-v2-base-multilingual")
        ranked = (await reranker("trio", ["asyncio", "trio nurseries"])).consume()
    """

    model_type = "text_reranker"

    async def acall(
        self, query: str, documents: Sequence[str], **fields: Any
    ) -> ModelResponse[list[RankedDocument]]:
        """Rank ``documents`` by relevance to ``query`` (``top_n`` ... as ``fields``)."""
        payload = {**fields, "query": query, "documents": list(documents)}
        calling, response = await self._invoke(payload)
        ranked = [_ranked(item) for item in body_items(response, "results")]
        ranked.sort(key=lambda doc: -doc.score)
        return self._respond(calling, response, ranked)
