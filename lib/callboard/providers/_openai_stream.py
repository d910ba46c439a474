"""The OpenAI chat stream: ``chat.completion.chunk`` events into deltas and a response."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from callboard.resilience import error_from_type

from ._body import (
    Body,
    as_int,
    get_str,
    openai_usage,
    opt_list,
    opt_map,
    stream_event_map,
    want_map,
)
from ._delta import StreamDelta, ToolCallDelta
from ._logprobs import chat_logprobs
from ._normalized import Choice
from ._openai_chat import chat_turn
from ._parts import Thinking
from ._stream import StreamDecoder

__all__ = ["OpenAIStreamDecoder"]


class OpenAIStreamDecoder(StreamDecoder):
    """Decodes OpenAI chat-completion chunks.

    Each ``data:`` line is a ``chat.completion.chunk`` whose ``choices[].delta`` carries
    text (``content``), a refusal (``refusal``), tool-call pieces and, when asked for,
    ``logprobs``; with ``n`` > 1 the choices' chunks interleave, told apart by
    ``index``. A final chunk with empty ``choices`` carries ``usage`` when
    ``include_usage`` was asked for; ``[DONE]`` ends the stream. A chunk with an
    ``error`` object raises it as a typed error. The stream also counts as complete once
    every choice has its ``finish_reason`` (a lost ``[DONE]`` does not lose a finished
    answer).
    """

    @property
    def done(self) -> bool:
        if self._done:
            return True
        states = self._choices.values()
        return bool(states) and all(state.finish_reason is not None for state in states)

    def _feed(self, event: str, data: str) -> list[StreamDelta]:
        stripped = data.strip()
        if stripped == "[DONE]":
            self._done = True
            return []
        if not stripped:
            return []
        chunk = stream_event_map(
            stripped, "stream chunk", provider=self.provider, calling_id=self.calling_id
        )
        error = chunk.get("error")
        if error is not None or event == "error":
            raise self._error(error if error is not None else chunk)
        model, ident = chunk.get("model"), chunk.get("id")
        if isinstance(model, str) and model:
            self._model = model
        if isinstance(ident, str) and ident:
            self._id = ident
        deltas: list[StreamDelta] = []
        for item in opt_list(chunk, "choices", "stream chunk"):
            choice = want_map(item, "stream chunk choice")
            deltas.extend(self._chunk_choice(choice))
        usage = openai_usage(chunk.get("usage"))
        extra = opt_map(chunk, "x_groq")
        if usage is None and extra is not None:
            usage = openai_usage(extra.get("usage"))
        if usage is not None:
            deltas.append(StreamDelta(usage=usage))
        return [self._record(delta) for delta in deltas]

    def _chunk_choice(self, choice: Body) -> list[StreamDelta]:
        index = as_int(choice.get("index"))
        deltas: list[StreamDelta] = []
        fields = opt_map(choice, "delta") or {}
        where = "stream chunk choice.delta"
        text = get_str(fields, "content", where, optional=True) or ""
        refused = get_str(fields, "refusal", where, optional=True) or ""
        logprobs = chat_logprobs(choice.get("logprobs"), "stream chunk choice.logprobs")
        if logprobs is not None and not (logprobs.content or logprobs.refusal):
            logprobs = None
        if text or refused or logprobs is not None:
            deltas.append(StreamDelta(text=text, refusal=refused, logprobs=logprobs, choice=index))
        calls = opt_list(fields, "tool_calls", where)
        for n, item in enumerate(calls):
            call = self._tool_delta(want_map(item, "tool call delta"), index, n)
            deltas.append(StreamDelta(tool_call=call, choice=index))
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            deltas.append(StreamDelta(finish_reason=finish, choice=index))
        elif not deltas:
            self._state(index)  # a choice's first chunk (role only) still counts it
        return deltas

    def _tool_delta(self, item: Body, choice: int, position: int) -> ToolCallDelta:
        raw_index = item.get("index")
        known = len(self._state(choice).tools)
        index = raw_index if type(raw_index) is int and raw_index >= 0 else known + position
        fields = opt_map(item, "function") or opt_map(item, "custom") or {}
        call_id, name = item.get("id"), fields.get("name")
        arguments = fields.get("arguments", fields.get("input"))
        return ToolCallDelta(
            index=index,
            id=call_id if isinstance(call_id, str) else None,
            name=name if isinstance(name, str) else None,
            arguments=arguments if isinstance(arguments, str) else "",
        )

    def _turn(
        self, choice: Choice, thinking: tuple[Thinking, ...]
    ) -> tuple[Mapping[str, object], ...]:
        del thinking
        return (chat_turn(choice),)

    def _error(self, error: object) -> Exception:
        if isinstance(error, Mapping):
            fields = cast(Body, error)
            code, kind = fields.get("code"), fields.get("type")
            error_type = code if isinstance(code, str) else kind if isinstance(kind, str) else None
            text = fields.get("message")
            message = text[:2000] if isinstance(text, str) else "no message"
        else:
            error_type = None
            message = (
                error[:2000] if isinstance(error, str) else f"an error ({type(error).__name__})"
            )
        return error_from_type(
            error_type, message, provider=self.provider, calling_id=self.calling_id
        )
