"""The OpenAI-compatible dialect: request bodies, responses and chat streams.

Spoken by OpenAI and by every provider that imitates it (Gemini's compatibility
endpoint, Groq, Together, OpenRouter, DeepSeek, Mistral, NVIDIA NIM, Ollama, vLLM).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from callboard.resilience import InvalidResponse, error_from_type

from ._body import (
    Body,
    as_int,
    get_list,
    get_map,
    get_str,
    openai_usage,
    stream_event_map,
    want_map,
)
from ._errors import PayloadError
from ._normalized import NormalizedResponse, StreamDelta, ToolCall, ToolCallDelta, Usage
from ._spec import ModelType, ProviderSpec
from ._stream import StreamDecoder

__all__ = ["OpenAIStreamDecoder", "build_multipart", "openai_chat_body", "parse_openai"]

FormData = dict[str, str | list[str]]
Files = dict[str, tuple[str, bytes, str]]


def openai_chat_body(spec: ProviderSpec, payload: Mapping[str, object], stream: bool) -> Body:
    """The JSON body of a chat request, asking for the final usage chunk when streaming."""
    body = {**spec.default_fields, **payload}
    body.pop("stream", None)
    if stream:
        body["stream"] = True
        if spec.stream_usage:
            options = body.get("stream_options")
            merged = dict(cast(Body, options)) if isinstance(options, Mapping) else {}
            merged.setdefault("include_usage", True)
            body["stream_options"] = merged
    return body


def build_multipart(payload: Mapping[str, object]) -> tuple[FormData, Files]:
    """Form fields and the uploaded file of a speech-to-text request.

    ``payload["file"]`` is ``(filename, content)`` or ``(filename, content, content_type)``;
    the filename matters because providers read the audio format from its extension.

    Raises:
        PayloadError: no usable file, or a field that cannot be a form value.
    """
    data: FormData = {}
    files: Files = {}
    for key, value in payload.items():
        if key == "file":
            files["file"] = _file(value)
        elif isinstance(value, bool):
            data[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            data[key] = str(value)
        elif isinstance(value, list | tuple):
            data[f"{key}[]"] = [str(item) for item in cast(list[object], value)]
        elif value is not None:
            raise PayloadError(
                f"field {key!r} of a speech-to-text payload must be text, a number, a bool "
                f"or a list; got {type(value).__name__}"
            )
    if "file" not in files:
        raise PayloadError(
            "a speech-to-text payload needs 'file': (filename, audio bytes[, content type])"
        )
    return data, files


def _file(value: object) -> tuple[str, bytes, str]:
    if isinstance(value, tuple):
        parts = cast(tuple[object, ...], value)
        if len(parts) in (2, 3) and isinstance(parts[0], str) and isinstance(parts[1], bytes):
            kind = parts[2] if len(parts) == 3 else "application/octet-stream"
            if isinstance(kind, str):
                return parts[0], parts[1], kind
    raise PayloadError(
        "'file' must be (filename, bytes) or (filename, bytes, content_type), "
        "e.g. ('speech.mp3', data, 'audio/mpeg')"
    )


def parse_openai(model_type: ModelType, body: Body) -> NormalizedResponse:
    """Read an OpenAI-style success body into the normalized shape (provider left unset).

    Raises:
        InvalidResponse: a field the model type must have is missing or mistyped.
    """
    model = body.get("model")
    model_name = model if isinstance(model, str) else None
    usage = openai_usage(body.get("usage"))
    if model_type is ModelType.CHAT:
        return _parse_chat(body, model_name, usage)
    if model_type is ModelType.SPEECH_TO_TEXT:
        text = get_str(body, "text", "body") or ""
        return NormalizedResponse(text=text, usage=usage, model=model_name, raw=body)
    key = "results" if model_type in (ModelType.MODERATION, ModelType.RERANK) else "data"
    get_list(body, key, "body")
    return NormalizedResponse(usage=usage, model=model_name, raw=body)


def _parse_chat(body: Body, model: str | None, usage: Usage | None) -> NormalizedResponse:
    choices = get_list(body, "choices", "body")
    if not choices:
        raise InvalidResponse("the chat response has no choices")
    choice = want_map(choices[0], "body.choices[0]")
    message = get_map(choice, "message", "body.choices[0]")
    calls = tuple(
        _tool_call(want_map(item, f"body.choices[0].message.tool_calls[{n}]"))
        for n, item in enumerate(cast(list[object], message.get("tool_calls") or []))
    )
    return NormalizedResponse(
        text=_content_text(message.get("content")),
        tool_calls=calls,
        usage=usage,
        finish_reason=get_str(choice, "finish_reason", "body.choices[0]", optional=True),
        model=model,
        raw=body,
    )


def _content_text(content: object) -> str:
    """Message content is a string, null, or (some providers) a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for part in cast(list[object], content):
            text = want_map(part, "content part").get("text")
            if isinstance(text, str):
                texts.append(text)
        return "".join(texts)
    return ""


def _tool_call(item: Body) -> ToolCall:
    function = get_map(item, "function", "tool_call")
    return ToolCall(
        id=get_str(item, "id", "tool_call") or "",
        name=get_str(function, "name", "tool_call.function") or "",
        arguments=get_str(function, "arguments", "tool_call.function", optional=True) or "",
    )


class OpenAIStreamDecoder(StreamDecoder):
    """Decodes OpenAI chat-completion chunks.

    Each ``data:`` line is a ``chat.completion.chunk``; a final chunk with empty
    ``choices`` carries ``usage`` when ``include_usage`` was asked for; ``[DONE]`` ends
    the stream. A chunk with an ``error`` object raises it as a typed error. The stream
    also counts as complete once a ``finish_reason`` arrived (a lost ``[DONE]`` does not
    lose a finished answer).
    """

    @property
    def done(self) -> bool:
        return self._done or self._finish_reason is not None

    def result(self) -> NormalizedResponse:
        self._done = self.done
        return super().result()

    def feed(self, event: str, data: str) -> list[StreamDelta]:
        self._events += 1
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
        model = chunk.get("model")
        if isinstance(model, str) and model:
            self._model = model
        deltas: list[StreamDelta] = []
        for item in cast(list[object], chunk.get("choices") or []):
            choice = want_map(item, "stream chunk choice")
            if as_int(choice.get("index")) != 0:
                continue
            deltas.extend(self._choice(choice))
        usage = openai_usage(chunk.get("usage"))
        extra = chunk.get("x_groq")
        if usage is None and isinstance(extra, Mapping):
            usage = openai_usage(cast(Body, extra).get("usage"))
        if usage is not None:
            deltas.append(StreamDelta(usage=usage))
        return [self._record(delta) for delta in deltas]

    def _choice(self, choice: Body) -> list[StreamDelta]:
        deltas: list[StreamDelta] = []
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            fields = cast(Body, delta)
            content = fields.get("content")
            if isinstance(content, str) and content:
                deltas.append(StreamDelta(text=content))
            for n, item in enumerate(cast(list[object], fields.get("tool_calls") or [])):
                deltas.append(StreamDelta(tool_call=self._tool_delta(want_map(item, "tool"), n)))
        finish = choice.get("finish_reason")
        if isinstance(finish, str) and finish:
            deltas.append(StreamDelta(finish_reason=finish))
        return deltas

    def _tool_delta(self, item: Body, position: int) -> ToolCallDelta:
        raw_index = item.get("index")
        index = raw_index if isinstance(raw_index, int) else len(self._tools) + position
        function = item.get("function")
        fields: Body = cast(Body, function) if isinstance(function, Mapping) else {}
        call_id, name, arguments = item.get("id"), fields.get("name"), fields.get("arguments")
        return ToolCallDelta(
            index=index,
            id=call_id if isinstance(call_id, str) else None,
            name=name if isinstance(name, str) else None,
            arguments=arguments if isinstance(arguments, str) else "",
        )

    def _error(self, error: object) -> Exception:
        if isinstance(error, Mapping):
            fields = cast(Body, error)
            code, kind = fields.get("code"), fields.get("type")
            error_type = code if isinstance(code, str) else kind if isinstance(kind, str) else None
            message = str(fields.get("message", "no message"))
        else:
            error_type, message = None, str(error)
        return error_from_type(
            error_type, message, provider=self.provider, calling_id=self.calling_id
        )
