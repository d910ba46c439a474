"""What every stream decoder shares: folding deltas into the final response.

A decoder turns one provider's server-sent events into :class:`StreamDelta` values; the
caller forwards them as they come and, at the end, asks for the final
:class:`NormalizedResponse`. A stream that ends without its terminal event raises
:class:`StreamInterrupted` carrying the text that did arrive, so it can be shown and
charged.
"""

from __future__ import annotations

import abc

import attrs

from callboard.resilience import StreamInterrupted

from ._normalized import NormalizedResponse, StreamDelta, ToolCall, Usage

__all__ = ["StreamDecoder"]


@attrs.define
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = attrs.field(factory=list[str])


class StreamDecoder(abc.ABC):
    """Decodes one streamed response; create a fresh one per stream.

    Args:
        provider: the provider's name, put on the result and on errors.
        calling_id: the Calling's id, put on errors.
        status_code: the HTTP status the stream arrived with.
        rate_limit: the response's rate-limit headers, for the final response.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        calling_id: str | None = None,
        status_code: int | None = 200,
        rate_limit: dict[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.calling_id = calling_id
        self._status_code = status_code
        self._rate_limit = rate_limit
        self._text: list[str] = []
        self._tools: dict[int, _PartialToolCall] = {}
        self._usage: Usage | None = None
        self._finish_reason: str | None = None
        self._model: str | None = None
        self._done = False
        self._events = 0

    @abc.abstractmethod
    def feed(self, event: str, data: str) -> list[StreamDelta]:
        """Decode one server-sent event (its ``event`` name and ``data`` text).

        Returns:
            The deltas it carried, in order (often one, sometimes none).

        Raises:
            ProviderError: the stream reported an error (typed by the error's kind).
            InvalidResponse: the event's data is not what the dialect allows.
        """

    @property
    def done(self) -> bool:
        """Whether the terminal event has arrived."""
        return self._done

    @property
    def text(self) -> str:
        """The text received so far."""
        return "".join(self._text)

    @property
    def usage(self) -> Usage | None:
        """The latest (cumulative) usage reported, if any."""
        return self._usage

    def result(self) -> NormalizedResponse:
        """The final response, once the stream has ended.

        Raises:
            StreamInterrupted: the terminal event never came; ``partial_text`` holds
                what did.
        """
        if not self._done:
            raise StreamInterrupted(
                f"the stream from {self.provider or 'the provider'} ended after "
                f"{self._events} events and {len(self.text)} characters without its final "
                "event; the partial text is kept on this error",
                partial_text=self.text,
                provider=self.provider,
                calling_id=self.calling_id,
                status=self._status_code,
            )
        calls = tuple(
            ToolCall(id=part.id, name=part.name, arguments="".join(part.arguments))
            for _, part in sorted(self._tools.items())
        )
        return NormalizedResponse(
            text=self.text,
            tool_calls=calls,
            usage=self._usage,
            finish_reason=self._finish_reason,
            provider=self.provider,
            model=self._model,
            status_code=self._status_code,
            rate_limit=self._rate_limit,
            raw=None,
        )

    def _record(self, delta: StreamDelta) -> StreamDelta:
        """Fold ``delta`` into the running result and hand it back."""
        if delta.text:
            self._text.append(delta.text)
        if delta.tool_call is not None:
            part = self._tools.setdefault(delta.tool_call.index, _PartialToolCall())
            part.id = delta.tool_call.id or part.id
            part.name = delta.tool_call.name or part.name
            if delta.tool_call.arguments:
                part.arguments.append(delta.tool_call.arguments)
        if delta.usage is not None:
            self._usage = delta.usage
        if delta.finish_reason is not None:
            self._finish_reason = delta.finish_reason
        return delta
