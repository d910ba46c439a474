"""The OpenAI-compatible dialect: request bodies, and reading each model type's answer.

Spoken by OpenAI and by every provider that imitates it (Gemini's compatibility
endpoint, Groq, Together, OpenRouter, DeepSeek, Mistral, NVIDIA NIM, Ollama, vLLM).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from ._body import Body, get_list, get_str, openai_usage
from ._errors import PayloadError
from ._normalized import NormalizedResponse
from ._openai_chat import parse_chat
from ._responses import parse_responses
from ._spec import ModelType, ProviderSpec

__all__ = ["build_multipart", "openai_chat_body", "parse_openai", "responses_body"]

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


def responses_body(spec: ProviderSpec, payload: Mapping[str, object], stream: bool) -> Body:
    """The JSON body of a Responses API request (``POST /responses``): the payload as
    given (``model``, ``input``, ``instructions``, ``tools``, ``reasoning``, ...)."""
    body = {**spec.default_fields, **payload}
    body.pop("stream", None)
    if stream:
        body["stream"] = True
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
    if model_type is ModelType.RESPONSES:
        return parse_responses(body)
    usage = openai_usage(body.get("usage"))
    if model_type is ModelType.CHAT:
        return parse_chat(body, model_name, usage)
    if model_type is ModelType.SPEECH_TO_TEXT:
        text = get_str(body, "text", "body") or ""
        return NormalizedResponse(text=text, usage=usage, model=model_name, raw=body)
    key = "results" if model_type in (ModelType.MODERATION, ModelType.RERANK) else "data"
    get_list(body, key, "body")
    return NormalizedResponse(usage=usage, model=model_name, raw=body)
