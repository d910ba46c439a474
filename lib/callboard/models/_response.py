"""What calling a model returns: a ModelResponse, or a ModelStreamResponse for a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Mapping
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import attrs

from callboard.calling import Calling, CallingStatus
from callboard.imodel import StreamChannel
from callboard.providers import NormalizedResponse, StreamDelta, Usage

__all__ = [
    "Classification",
    "ModelResponse",
    "ModelStreamResponse",
    "ModerationResult",
    "RankedDocument",
    "ResponseMetadata",
    "StreamConsumption",
]

T = TypeVar("T")


@attrs.frozen
class ResponseMetadata:
    """What came with an answer besides its content.

    Attributes:
        calling_id: the id of the Calling that carried the call (in every event and error).
        provider: the provider that answered.
        model: the model that answered, as the provider named it.
        usage: token counts, or ``None`` when the provider reported none (or a stream
            has not ended yet).
        finish_reason: why generation stopped (chat), in the provider's words.
    """

    calling_id: str
    provider: str | None = None
    model: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None

    @classmethod
    def of(cls, calling: Calling) -> ResponseMetadata:
        """The metadata of ``calling``'s answer (empty until it completed)."""
        response: object = calling.response if calling.status is CallingStatus.COMPLETED else None
        if not isinstance(response, NormalizedResponse):
            return cls(calling.id)
        return cls(
            calling.id,
            provider=response.provider,
            model=response.model,
            usage=response.usage,
            finish_reason=response.finish_reason,
        )


@attrs.frozen
class ModelResponse(Generic[T]):
    """A complete answer: ``consume()`` gives its content.

    Attributes:
        response_type: what the content is: ``"text_generation"`` (a str),
            ``"embedding"`` (vectors), ``"moderation"``, ``"image"`` (URLs),
            ``"audio"`` (bytes), ``"transcription"`` (a str) or ``"rerank"``.
        metadata: provider, model, usage, finish reason and the Calling's id.
        raw: the provider's answer in callboard's normalized shape (``raw.raw`` is the
            decoded body).
    """

    response_type: str
    content: T = attrs.field(repr=False)
    metadata: ResponseMetadata
    raw: NormalizedResponse | None = attrs.field(default=None, repr=False)

    def consume(self) -> T:
        """The content: text, vectors, moderation results, image URLs, audio bytes,
        a transcript or ranked documents, depending on ``response_type``."""
        return self.content


class ModelStreamResponse:
    """A streamed chat answer: iterate it for text chunks as they arrive.

    ``async for chunk in response.consume()`` (or ``async for chunk in response``) yields
    each text chunk; ``await response.consume()`` reads what is left and returns the
    whole text. ``metadata`` has the usage once
    the stream ended. ``async with response:`` (or ``aclose()``) cancels the call if you
    stop reading early. The stream is read once; ``channel`` is the underlying
    [`StreamChannel`][callboard.StreamChannel] (for extra consumers).

    Chunks arrive as the provider sends them when the model is started
    (``async with model:``); a model that is not started runs the call to its end first,
    then hands out the chunks (no task is spawned behind your back).

    A failed call raises its typed error (with ``error.calling`` attached) from the
    iteration or from ``consume()``.
    """

    response_type = "text_generation"

    def __init__(self, channel: StreamChannel) -> None:
        self.channel = channel
        self._deltas: AsyncIterator[StreamDelta] | None = None

    def __repr__(self) -> str:
        calling = self.channel.calling
        return f"<ModelStreamResponse calling={calling.id} {calling.status.name.lower()}>"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        if self._deltas is None:
            self._deltas = aiter(self.channel)  # the call starts on the first read
        while True:
            delta = await anext(self._deltas)  # StopAsyncIteration ends ours too
            if delta.text and delta.choice == 0:  # n > 1: the first choice's, as consume()
                return delta.text

    def consume(self) -> StreamConsumption:
        """The stream's text: iterate it for the chunks as they arrive
        (``async for chunk in response.consume()``), or await it for the whole text
        (chunks already iterated included).

        Raises:
            CallboardError: the call's typed error, from the iteration or the await.
        """
        return StreamConsumption(self)

    async def _read_all(self) -> str:
        async for _ in self:
            pass
        return self.channel.get_accumulated()

    async def aclose(self) -> None:
        """Stop reading; cancels the call if it is still running."""
        await self.channel.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def metadata(self) -> ResponseMetadata:
        """Provider, model, usage and finish reason; complete once the stream ended."""
        return ResponseMetadata.of(self.channel.calling)


class StreamConsumption:
    """What ``consume()`` returns: an async iterator of the text
    chunks, and an awaitable of the whole text; both read the one stream."""

    def __init__(self, response: ModelStreamResponse) -> None:
        self._response = response

    def __aiter__(self) -> ModelStreamResponse:
        return self._response

    def __await__(self) -> Generator[Any, None, str]:
        return self._response._read_all().__await__()  # pyright: ignore[reportPrivateUsage]


@attrs.frozen
class ModerationResult:
    """One input's moderation verdict.

    Attributes:
        flagged: whether any category was flagged.
        categories: each category's verdict.
        category_scores: each category's score in [0, 1].
    """

    flagged: bool
    categories: Mapping[str, bool] = attrs.field(factory=dict[str, bool])
    category_scores: Mapping[str, float] = attrs.field(factory=dict[str, float])


@attrs.frozen
class RankedDocument:
    """One document of a rerank answer, best first.

    Attributes:
        index: its position in the documents you sent.
        score: its relevance to the query (higher is more relevant).
        text: the document's text, when the provider returned it.
    """

    index: int
    score: float
    text: str | None = None


@attrs.frozen
class Classification:
    """One input's label, from a text or image classifier.

    Attributes:
        label: the best label (the provider's ``prediction``).
        score: its score in [0, 1].
        scores: every label's score, as the provider reported them.
    """

    label: str
    score: float
    scores: Mapping[str, float] = attrs.field(factory=dict[str, float])
