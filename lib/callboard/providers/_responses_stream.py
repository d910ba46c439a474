"""The Responses API's stream: typed events into deltas, and the final response.

Every event's data names its ``type``: ``response.created``, then for each output item
``response.output_item.added`` and its pieces (``response.output_text.delta``,
``response.refusal.delta``, ``response.function_call_arguments.delta``,
``response.reasoning_summary_text.delta``, ...), then ``response.completed`` (or
``response.incomplete``) with the whole response, usage included, which becomes the
final response. ``response.failed`` and ``error`` events raise the typed error.
"""

from __future__ import annotations

import attrs

from ._body import Body, as_int, get_map, opt_str, stream_event_map
from ._delta import StreamDelta, ThinkingDelta, ToolCallDelta
from ._logprobs import token_logprobs
from ._normalized import NormalizedResponse
from ._parts import Logprobs
from ._responses import parse_responses, responses_error
from ._stream import StreamDecoder

__all__ = ["ResponsesStreamDecoder"]

_TERMINAL = frozenset({"response.completed", "response.incomplete"})


class ResponsesStreamDecoder(StreamDecoder):
    """Decodes a Responses API stream (``stream: true`` on ``POST /v1/responses``)."""

    def _start(self) -> None:
        self._tool_of: dict[int, int] = {}  # output_index -> tool call ordinal
        self._thought_of: dict[int, int] = {}  # output_index -> reasoning ordinal
        self._final: NormalizedResponse | None = None

    def _feed(self, event: str, data: str) -> list[StreamDelta]:
        if not data.strip():
            return []
        payload = stream_event_map(
            data, f"{event} event", provider=self.provider, calling_id=self.calling_id
        )
        kind = opt_str(payload, "type") or event
        if kind == "error" or kind == "response.failed":
            error = payload if kind == "error" else get_map(payload, "response", kind).get("error")
            raise responses_error(error, provider=self.provider, calling_id=self.calling_id)
        if kind in ("response.created", "response.in_progress"):
            response = get_map(payload, "response", kind)
            self._id = opt_str(response, "id") or self._id
            self._model = opt_str(response, "model") or self._model
            return []
        if kind in _TERMINAL:
            final = parse_responses(get_map(payload, "response", kind), where=kind)
            self._final = final
            self._done = True
            deltas = [StreamDelta(usage=final.usage)] if final.usage is not None else []
            deltas.append(StreamDelta(finish_reason=final.finish_reason))
            return [self._record(delta) for delta in deltas]
        return [self._record(delta) for delta in self._piece(kind, payload)]

    def _piece(self, kind: str, payload: Body) -> list[StreamDelta]:
        output = as_int(payload.get("output_index"))
        if kind == "response.output_item.added":
            item = get_map(payload, "item", kind)
            if item.get("type") == "function_call":
                ordinal = self._tool_of.setdefault(output, len(self._tool_of))
                call = ToolCallDelta(
                    index=ordinal, id=opt_str(item, "call_id"), name=opt_str(item, "name")
                )
                return [StreamDelta(tool_call=call)]
            if item.get("type") == "reasoning":
                ordinal = self._thought_of.setdefault(output, len(self._thought_of))
                thought = ThinkingDelta(index=ordinal, kind="reasoning", id=opt_str(item, "id"))
                return [StreamDelta(thinking=thought)]
            return []
        delta = opt_str(payload, "delta") or ""
        if kind == "response.output_text.delta":
            found = token_logprobs(payload.get("logprobs"), f"{kind}.logprobs")
            logprobs = Logprobs(content=found) if found else None
            return [StreamDelta(text=delta, logprobs=logprobs)] if delta or logprobs else []
        if kind == "response.refusal.delta":
            return [StreamDelta(refusal=delta)] if delta else []
        if kind == "response.function_call_arguments.delta" and output in self._tool_of:
            call = ToolCallDelta(index=self._tool_of[output], arguments=delta)
            return [StreamDelta(tool_call=call)] if delta else []
        if kind == "response.reasoning_summary_part.added" and output in self._thought_of:
            if as_int(payload.get("summary_index")) > 0:  # parts read as paragraphs
                thought = ThinkingDelta(
                    index=self._thought_of[output], kind="reasoning", text="\n\n"
                )
                return [StreamDelta(thinking=thought)]
            return []
        reasoning = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
        if kind in reasoning and output in self._thought_of and delta:
            thought = ThinkingDelta(index=self._thought_of[output], kind="reasoning", text=delta)
            return [StreamDelta(thinking=thought)]
        return []  # done events, annotations, other tools' progress, events added later

    def result(self) -> NormalizedResponse:
        final = self._final
        if final is None:
            raise self.interrupted()
        return attrs.evolve(
            final,
            provider=self.provider,
            status_code=self._status_code,
            rate_limit=self._rate_limit,
            raw=None,
        )
