"""What every stream decoder shares: folding deltas into the final response.

A decoder turns one provider's server-sent events into ``StreamDelta`` values; the
caller forwards them as they come and, at the end, asks for the final
``NormalizedResponse``. A stream that ends without what makes it complete raises
``StreamInterrupted`` carrying the text and the tool calls that did arrive, so they
can be shown and charged.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping

import attrs

from callboard.resilience import InvalidResponse, StreamInterrupted

from ._delta import StreamDelta
from ._normalized import Choice, NormalizedResponse, Usage
from ._parts import Logprobs, Thinking, ToolCall, mark_cut, mark_unfinished

__all__ = ["StreamDecoder"]


@attrs.define
class _PartialToolCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = attrs.field(factory=list[str])


@attrs.define
class _ChoiceState:
    text: list[str] = attrs.field(factory=list[str])
    refusal: list[str] | None = None
    tools: dict[int, _PartialToolCall] = attrs.field(factory=dict[int, _PartialToolCall])
    finish_reason: str | None = None
    logprobs: Logprobs | None = None

    def calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            ToolCall(id=part.id, name=part.name, arguments="".join(part.arguments))
            for _, part in sorted(self.tools.items())
        )

    def add_logprobs(self, more: Logprobs) -> None:
        old = self.logprobs or Logprobs()
        self.logprobs = Logprobs(old.content + more.content, old.refusal + more.refusal)


@attrs.define
class _ThinkingState:
    kind: str
    id: str | None = None
    text: list[str] = attrs.field(factory=list[str])
    signature: str | None = None
    data: str | None = None

    def value(self) -> Thinking:
        return Thinking(
            kind=self.kind,
            text="".join(self.text),
            signature=self.signature,
            data=self.data,
            id=self.id,
        )


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
        self._choices: dict[int, _ChoiceState] = {}
        self._thinking: dict[int, _ThinkingState] = {}
        self._usage: Usage | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._done = False
        self._events = 0
        self._start()

    def _start(self) -> None:  # noqa: B027 - a hook, optional to override
        """Set up a dialect's own state (a hook for subclasses)."""

    def feed(self, event: str, data: str) -> list[StreamDelta]:
        """Decode one server-sent event (its ``event`` name and ``data`` text).

        Returns:
            The deltas it carried, in order (often one, sometimes none).

        Raises:
            ProviderError: the stream reported an error (typed by the error's kind).
            InvalidResponse: the event's data is not what the dialect allows (not
                JSON, nested too deeply, or of the wrong shape at any level).
        """
        self._events += 1
        try:
            return self._feed(event, data)
        except RecursionError:
            raise InvalidResponse(
                f"a stream event from {self.provider or 'the provider'} is nested too deeply",
                provider=self.provider,
                calling_id=self.calling_id,
            ) from None

    @abc.abstractmethod
    def _feed(self, event: str, data: str) -> list[StreamDelta]:
        """Decode one event (what ``feed()`` does, in the dialect's words)."""

    @property
    def done(self) -> bool:
        """Whether the stream has said all it will (its final event, or what makes it
        complete without it: the stop reason and the usage)."""
        return self._done

    @property
    def text(self) -> str:
        """The text received so far (of the first choice)."""
        state = self._choices.get(0)
        return "".join(state.text) if state is not None else ""

    @property
    def usage(self) -> Usage | None:
        """The latest (cumulative) usage reported, if any."""
        return self._usage

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls received so far (of the first choice); a call whose arguments
        are not whole JSON yet is marked incomplete."""
        state = self._choices.get(0)
        return mark_unfinished(state.calls()) if state is not None else ()

    def interrupted(self, message: str | None = None) -> StreamInterrupted:
        """The error for a stream that ended early: what arrived is kept on it."""
        return StreamInterrupted(
            message
            or (
                f"the stream from {self.provider or 'the provider'} ended after "
                f"{self._events} events and {len(self.text)} characters without its final "
                "event; the partial text is kept on this error, and so are the tool calls"
            ),
            partial_text=self.text,
            partial_tool_calls=self.tool_calls,
            provider=self.provider,
            calling_id=self.calling_id,
            status=self._status_code,
        )

    def result(self) -> NormalizedResponse:
        """The final response, once the stream has ended.

        Raises:
            StreamInterrupted: the stream ended before it was complete;
                ``partial_text`` and ``partial_tool_calls`` hold what did arrive.
        """
        if not self.done:
            raise self.interrupted()
        choices = tuple(self._choice(n, state) for n, state in sorted(self._choices.items()))
        first = choices[0] if choices else Choice()
        thinking = tuple(state.value() for _, state in sorted(self._thinking.items()))
        return NormalizedResponse(
            text=first.text,
            tool_calls=first.tool_calls,
            usage=self._usage,
            finish_reason=first.finish_reason,
            provider=self.provider,
            model=self._model,
            status_code=self._status_code,
            rate_limit=self._rate_limit,
            raw=None,
            id=self._id,
            refusal=first.refusal,
            thinking=thinking,
            logprobs=first.logprobs,
            choices=choices or (first,),
            turn=self._turn(first, thinking),
        )

    def _choice(self, index: int, state: _ChoiceState) -> Choice:
        return Choice(
            index=index,
            text="".join(state.text),
            tool_calls=mark_cut(state.calls(), state.finish_reason),
            refusal="".join(state.refusal) if state.refusal is not None else None,
            finish_reason=state.finish_reason,
            logprobs=state.logprobs,
        )

    def _turn(
        self, choice: Choice, thinking: tuple[Thinking, ...]
    ) -> tuple[Mapping[str, object], ...]:
        """The model's turn in the request format of the dialect (see each decoder)."""
        del choice, thinking
        return ()

    def _state(self, choice: int) -> _ChoiceState:
        state = self._choices.get(choice)
        if state is None:
            state = self._choices[choice] = _ChoiceState()
        return state

    def _record(self, delta: StreamDelta) -> StreamDelta:
        """Fold ``delta`` into the running result and hand it back."""
        state = self._state(delta.choice)
        if delta.text:
            state.text.append(delta.text)
        if delta.refusal:
            if state.refusal is None:
                state.refusal = []
            state.refusal.append(delta.refusal)
        call = delta.tool_call
        if call is not None:
            part = state.tools.setdefault(call.index, _PartialToolCall())
            part.id = call.id or part.id
            part.name = call.name or part.name
            if call.arguments:
                part.arguments.append(call.arguments)
        thought = delta.thinking
        if thought is not None:
            block = self._thinking.get(thought.index)
            if block is None:
                block = self._thinking[thought.index] = _ThinkingState(thought.kind, thought.id)
            if thought.text:
                block.text.append(thought.text)
            if thought.signature:
                block.signature = thought.signature  # sent whole, just before the block ends
            if thought.data is not None:
                block.data = thought.data
        if delta.logprobs is not None:
            state.add_logprobs(delta.logprobs)
        if delta.usage is not None:
            self._usage = delta.usage
        if delta.finish_reason is not None:
            state.finish_reason = delta.finish_reason
        return delta
