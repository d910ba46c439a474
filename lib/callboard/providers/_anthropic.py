"""The Anthropic Messages dialect: request bodies, responses and streams."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from callboard.resilience import InvalidResponse, error_from_type

from ._body import Body, as_int, get_list, get_map, get_str, stream_event_map, want_map
from ._normalized import NormalizedResponse, StreamDelta, ToolCall, ToolCallDelta, Usage
from ._spec import ProviderSpec
from ._stream import StreamDecoder

__all__ = ["AnthropicStreamDecoder", "anthropic_body", "anthropic_usage", "parse_anthropic"]


def anthropic_body(spec: ProviderSpec, payload: Mapping[str, object], stream: bool) -> Body:
    """The JSON body of a Messages request.

    ``role: "system"`` messages (the OpenAI habit) move to the top-level ``system`` field
    the Messages API wants; ``max_tokens``, which it requires, comes from the spec's
    defaults when the payload lacks it.
    """
    body = {**spec.default_fields, **payload}
    body.pop("stream", None)
    messages = body.get("messages")
    if isinstance(messages, list):
        kept: list[object] = []
        system: list[str] = []
        for message in cast(list[object], messages):
            fields = _fields(message)
            if fields.get("role") == "system":
                system.append(_text_of(fields.get("content")))
            else:
                kept.append(message)
        if system:
            existing = body.get("system")
            if isinstance(existing, str) and existing:
                system.insert(0, existing)
            body["system"] = "\n\n".join(system)
            body["messages"] = kept
    if stream:
        body["stream"] = True
    return body


def _fields(message: object) -> Body:
    return cast(Body, message) if isinstance(message, Mapping) else {}


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for block in cast(list[object], content):
            if isinstance(block, Mapping):
                text = cast(Body, block).get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "".join(texts)
    return ""


def anthropic_usage(value: object) -> Usage | None:
    """Usage from a Messages ``usage`` object.

    ``input_tokens`` excludes cache reads and writes; they are added back so
    ``prompt_tokens`` is the whole prompt, and cache reads are ``cached_tokens``.
    """
    if not isinstance(value, Mapping):
        return None
    usage = cast(Body, value)
    read = as_int(usage.get("cache_read_input_tokens"))
    written = as_int(usage.get("cache_creation_input_tokens"))
    prompt = as_int(usage.get("input_tokens")) + read + written
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=as_int(usage.get("output_tokens")),
        cached_tokens=read,
    )


def parse_anthropic(body: Body) -> NormalizedResponse:
    """Read a Messages response body into the normalized shape (provider left unset).

    Raises:
        InvalidResponse: the body is not a message or its content is malformed.
    """
    if body.get("type") != "message":
        raise InvalidResponse(f"expected a body of type 'message', got {body.get('type')!r}")
    texts: list[str] = []
    calls: list[ToolCall] = []
    for n, item in enumerate(get_list(body, "content", "body")):
        block = want_map(item, f"body.content[{n}]")
        kind = block.get("type")
        if kind == "text":
            texts.append(get_str(block, "text", f"body.content[{n}]") or "")
        elif kind == "tool_use":
            calls.append(
                ToolCall(
                    id=get_str(block, "id", f"body.content[{n}]") or "",
                    name=get_str(block, "name", f"body.content[{n}]") or "",
                    arguments=json.dumps(block.get("input", {})),
                )
            )
    return NormalizedResponse(
        text="".join(texts),
        tool_calls=tuple(calls),
        usage=anthropic_usage(body.get("usage")),
        finish_reason=get_str(body, "stop_reason", "body", optional=True),
        model=get_str(body, "model", "body", optional=True),
        raw=body,
    )


class AnthropicStreamDecoder(StreamDecoder):
    """Decodes a Messages stream.

    ``message_start`` brings the model and the input usage; ``content_block_start`` /
    ``content_block_delta`` / ``content_block_stop`` bring text and tool-use input JSON;
    ``message_delta`` brings the stop reason and *cumulative* usage; ``message_stop``
    ends the stream. ``ping`` and unknown event types (the API may add some) are
    ignored; an ``error`` event is raised as a typed error.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        calling_id: str | None = None,
        status_code: int | None = 200,
        rate_limit: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            provider=provider,
            calling_id=calling_id,
            status_code=status_code,
            rate_limit=rate_limit,
        )
        self._tool_index: dict[int, int] = {}
        self._empty_input: dict[int, str] = {}
        self._raw_usage: dict[str, object] = {}

    def feed(self, event: str, data: str) -> list[StreamDelta]:
        self._events += 1
        if not data.strip():
            return []
        payload = stream_event_map(
            data, f"{event} event", provider=self.provider, calling_id=self.calling_id
        )
        kind = payload.get("type", event)
        if kind == "message_start":
            message = get_map(payload, "message", "message_start")
            model = message.get("model")
            self._model = model if isinstance(model, str) else self._model
            return self._usage_delta(message.get("usage"))
        if kind == "content_block_start":
            return self._block_start(payload)
        if kind == "content_block_delta":
            return self._block_delta(payload)
        if kind == "message_delta":
            deltas: list[StreamDelta] = []
            delta = payload.get("delta")
            if isinstance(delta, Mapping):
                reason = cast(Body, delta).get("stop_reason")
                if isinstance(reason, str):
                    deltas.append(self._record(StreamDelta(finish_reason=reason)))
            return deltas + self._usage_delta(payload.get("usage"))
        if kind == "message_stop":
            self._finish_tools()
            self._done = True
            return []
        if kind == "error":
            error = payload.get("error")
            fields: Body = cast(Body, error) if isinstance(error, Mapping) else {}
            error_type = fields.get("type")
            raise error_from_type(
                error_type if isinstance(error_type, str) else None,
                str(fields.get("message", "no message")),
                provider=self.provider,
                calling_id=self.calling_id,
            )
        return []  # ping, content_block_stop, and event types added later

    def _usage_delta(self, value: object) -> list[StreamDelta]:
        if not isinstance(value, Mapping):
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
            text = block.get("text")
            return [self._record(StreamDelta(text=text))] if isinstance(text, str) and text else []
        if kind == "tool_use":
            ordinal = len(self._tool_index)
            self._tool_index[index] = ordinal
            self._empty_input[ordinal] = json.dumps(block.get("input") or {})
            call = ToolCallDelta(
                index=ordinal,
                id=get_str(block, "id", "content_block"),
                name=get_str(block, "name", "content_block"),
            )
            return [self._record(StreamDelta(tool_call=call))]
        return []

    def _block_delta(self, payload: Body) -> list[StreamDelta]:
        index = as_int(payload.get("index"))
        delta = get_map(payload, "delta", "content_block_delta")
        kind = delta.get("type")
        if kind == "text_delta":
            text = get_str(delta, "text", "content_block_delta.delta") or ""
            return [self._record(StreamDelta(text=text))] if text else []
        if kind == "input_json_delta" and index in self._tool_index:
            ordinal = self._tool_index[index]
            part = get_str(delta, "partial_json", "content_block_delta.delta") or ""
            if part:
                self._empty_input.pop(ordinal, None)
                call = ToolCallDelta(index=ordinal, arguments=part)
                return [self._record(StreamDelta(tool_call=call))]
        return []  # thinking and signature deltas are not part of the normalized shape

    def _finish_tools(self) -> None:
        # A tool call whose input streamed no JSON still has arguments: its start input.
        for ordinal, arguments in self._empty_input.items():
            self._record(StreamDelta(tool_call=ToolCallDelta(index=ordinal, arguments=arguments)))
        self._empty_input.clear()
