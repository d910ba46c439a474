"""The Anthropic Messages stream: message events into deltas and the final response."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from callboard.resilience import error_from_type

from ._anthropic import anthropic_refusal, anthropic_usage
from ._body import Body, as_int, get_map, get_str, opt_map, opt_str, stream_event_map
from ._delta import StreamDelta, ThinkingDelta, ToolCallDelta
from ._normalized import Choice, NormalizedResponse
from ._partial_json import parse_partial_json
from ._parts import Thinking
from ._stream import StreamDecoder

__all__ = ["AnthropicStreamDecoder"]


class AnthropicStreamDecoder(StreamDecoder):
    """Decodes a Messages stream.

    ``message_start`` brings the id, the model and the input usage;
    ``content_block_start`` / ``content_block_delta`` / ``content_block_stop`` bring
    text, tool-use input JSON, thinking text and its signature (``thinking_delta``,
    ``signature_delta``) and redacted thinking; ``message_delta`` brings the stop reason
    and *cumulative* usage; ``message_stop`` ends the stream. Once the stop reason and
    the usage arrived the message is complete even if ``message_stop`` is lost (as the
    OpenAI decoder does not need ``[DONE]``). ``ping`` and unknown event types (the API
    may add some) are ignored; an ``error`` event is raised as a typed error.
    """

    def _start(self) -> None:
        self._blocks: dict[int, tuple[str, int]] = {}  # content index -> (kind, ordinal)
        self._block_text: dict[int, list[str]] = {}
        self._start_input: dict[int, object] = {}
        self._raw_usage: dict[str, object] = {}
        self._stopped = False

    @property
    def done(self) -> bool:
        return self._done or (self._stopped and self._usage is not None)

    def _feed(self, event: str, data: str) -> list[StreamDelta]:
        if not data.strip():
            return []
        payload = stream_event_map(
            data, f"{event} event", provider=self.provider, calling_id=self.calling_id
        )
        kind = payload.get("type", event)
        if kind == "message_start":
            message = get_map(payload, "message", "message_start")
            self._model = opt_str(message, "model") or self._model
            self._id = opt_str(message, "id") or self._id
            return self._usage_delta(message.get("usage"))
        if kind == "content_block_start":
            return [self._record(d) for d in self._block_start(payload)]
        if kind == "content_block_delta":
            return [self._record(d) for d in self._block_delta(payload)]
        if kind == "message_delta":
            return self._message_delta(payload)
        if kind == "message_stop":
            self._done = True
            return []
        if kind == "error":
            fields = opt_map(payload, "error") or {}
            message = opt_str(fields, "message") or "no message"
            raise error_from_type(
                opt_str(fields, "type"),
                message[:2000],
                provider=self.provider,
                calling_id=self.calling_id,
            )
        return []  # ping, content_block_stop, and event types added later

    def _message_delta(self, payload: Body) -> list[StreamDelta]:
        deltas: list[StreamDelta] = []
        delta = opt_map(payload, "delta")
        reason = opt_str(delta, "stop_reason") if delta is not None else None
        if reason is not None:
            self._stopped = True
            refusal = anthropic_refusal(reason, delta.get("stop_details") if delta else None)
            if refusal is not None:
                state = self._state(0)
                state.refusal = state.refusal or []
                if refusal:
                    deltas.append(self._record(StreamDelta(refusal=refusal)))
            deltas.append(self._record(StreamDelta(finish_reason=reason)))
        return deltas + self._usage_delta(payload.get("usage"))

    def _usage_delta(self, value: object) -> list[StreamDelta]:
        if type(value) is not dict and not isinstance(value, Mapping):
            return []
        # message_delta repeats only the counts that changed: merge into what
        # message_start reported.
        self._raw_usage.update({k: v for k, v in cast(Body, value).items() if v is not None})
        usage = anthropic_usage(self._raw_usage)
        return [self._record(StreamDelta(usage=usage))] if usage is not None else []

    def _block_start(self, payload: Body) -> list[StreamDelta]:
        index = as_int(payload.get("index"))
        block = get_map(payload, "content_block", "content_block_start")
        kind = block.get("type")
        if kind == "text":
            self._blocks[index] = ("text", 0)
            text = opt_str(block, "text") or ""
            self._block_text[index] = [text]
            return [StreamDelta(text=text)] if text else []
        if kind == "tool_use":
            ordinal = sum(1 for k, _ in self._blocks.values() if k == "tool_use")
            self._blocks[index] = ("tool_use", ordinal)
            self._start_input[index] = block.get("input") or {}
            call = ToolCallDelta(
                index=ordinal,
                id=get_str(block, "id", "content_block"),
                name=get_str(block, "name", "content_block"),
            )
            return [StreamDelta(tool_call=call)]
        if kind in ("thinking", "redacted_thinking"):
            ordinal = sum(1 for k, _ in self._blocks.values() if k == "thinking")
            self._blocks[index] = ("thinking", ordinal)
            thought = ThinkingDelta(
                index=ordinal,
                kind=kind,
                text=opt_str(block, "thinking") or "",
                signature=opt_str(block, "signature") or "",
                data=opt_str(block, "data") if kind == "redacted_thinking" else None,
            )
            return [StreamDelta(thinking=thought)]
        return []

    def _block_delta(self, payload: Body) -> list[StreamDelta]:
        index = as_int(payload.get("index"))
        delta = get_map(payload, "delta", "content_block_delta")
        kind = delta.get("type")
        if kind == "text_delta" and index not in self._blocks:
            self._blocks[index] = ("text", 0)  # a text block whose start went missing
            self._block_text[index] = []
        block, ordinal = self._blocks.get(index, ("", 0))
        where = "content_block_delta.delta"
        if kind == "text_delta" and block == "text":
            text = get_str(delta, "text", where) or ""
            self._block_text[index].append(text)
            return [StreamDelta(text=text)] if text else []
        if kind == "input_json_delta" and block == "tool_use":
            part = get_str(delta, "partial_json", where) or ""
            return (
                [StreamDelta(tool_call=ToolCallDelta(index=ordinal, arguments=part))]
                if part
                else []
            )
        if kind == "thinking_delta" and block == "thinking":
            text = get_str(delta, "thinking", where) or ""
            return [StreamDelta(thinking=ThinkingDelta(index=ordinal, text=text))] if text else []
        if kind == "signature_delta" and block == "thinking":
            signature = get_str(delta, "signature", where) or ""
            thought = ThinkingDelta(index=ordinal, signature=signature)
            return [StreamDelta(thinking=thought)] if signature else []
        return []  # citations and deltas added later

    def result(self) -> NormalizedResponse:
        if self.done:
            self._fill_empty_inputs()
        return super().result()

    def _fill_empty_inputs(self) -> None:
        # A tool call whose input streamed no JSON still has arguments: its start input.
        state = self._state(0)
        for index, (kind, ordinal) in self._blocks.items():
            part = state.tools.get(ordinal)
            if kind == "tool_use" and part is not None and not part.arguments:
                try:
                    start = json.dumps(self._start_input.get(index) or {})
                except (TypeError, ValueError, RecursionError):
                    start = "{}"
                part.arguments.append(start)

    def _turn(
        self, choice: Choice, thinking: tuple[Thinking, ...]
    ) -> tuple[Mapping[str, object], ...]:
        content: list[object] = []
        for index, (kind, ordinal) in sorted(self._blocks.items()):
            if kind == "text":
                content.append({"type": "text", "text": "".join(self._block_text[index])})
            elif kind == "tool_use" and ordinal < len(choice.tool_calls):
                call = choice.tool_calls[ordinal]
                content.append(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": _input(call.arguments),
                    }
                )
            elif kind == "thinking" and ordinal < len(thinking):
                content.append(_thinking_block(thinking[ordinal]))
        return ({"role": "assistant", "content": content},)


def _input(arguments: str) -> object:
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except (ValueError, RecursionError):
        try:
            value = parse_partial_json(arguments)
        except ValueError:
            return {}
    return cast(object, value) if isinstance(value, dict) else {}


def _thinking_block(thought: Thinking) -> Mapping[str, object]:
    if thought.kind == "redacted_thinking":
        return {"type": "redacted_thinking", "data": thought.data or ""}
    return {"type": "thinking", "thinking": thought.text, "signature": thought.signature or ""}
