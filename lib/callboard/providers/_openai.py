"""The OpenAI-compatible dialect: request bodies, and reading each model type's answer.

Spoken by OpenAI and by every provider that imitates it (Gemini's compatibility
endpoint, Groq, Together, OpenRouter, DeepSeek, Mistral, NVIDIA NIM, Ollama, vLLM,
Cerebras, SambaNova, ImageRouter), and by Jina AI's embeddings, rerank and classify.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from ._body import Body, get_list, get_str, openai_usage
from ._errors import PayloadError
from ._file_parts import FilePart, FileParts
from ._normalized import NormalizedResponse
from ._openai_chat import parse_chat
from ._responses import parse_responses
from ._spec import ModelType, ProviderSpec

__all__ = ["build_multipart", "openai_chat_body", "parse_openai", "responses_body"]

FormData = dict[str, str | list[str]]


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


def build_multipart(
    payload: Mapping[str, object], *, required: str = "file", what: str = "speech-to-text"
) -> tuple[FormData, FileParts]:
    """Form fields and uploaded files of a multipart request (speech to text, image edits).

    A file is ``(filename, content)`` or ``(filename, content, content_type)``: the
    ``file`` of a transcription (providers read the audio format from the filename's
    extension), the ``image`` and ``mask`` of an image edit. A list of files is sent as
    repeated ``name[]`` parts, as OpenAI's image edits take several images
    (``image[]``); a single file keeps its plain name.

    Args:
        payload: the request fields.
        required: the file field the request cannot go without.
        what: the kind of request, for error messages.

    Raises:
        PayloadError: no usable ``required`` file, or a field that cannot be a form value.
    """
    data: FormData = {}
    files: list[tuple[str, FilePart]] = []
    for key, value in payload.items():
        if key in _FILE_FIELDS and isinstance(value, list):
            many = cast(list[object], value)
            files += [(f"{key}[]", _file(key, item)) for item in many]
        elif key in _FILE_FIELDS:
            files.append((key, _file(key, value)))
        elif isinstance(value, bool):
            data[key] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            data[key] = str(value)
        elif isinstance(value, list | tuple):
            data[f"{key}[]"] = [str(item) for item in cast(list[object], value)]
        elif value is not None:
            raise PayloadError(
                f"field {key!r} of a {what} payload must be text, a number, a bool "
                f"or a list; got {type(value).__name__}",
                field=key,
            )
    if not any(name in (required, f"{required}[]") for name, _ in files):
        raise PayloadError(
            f"a {what} payload needs {required!r}: (filename, bytes[, content type]), "
            "or a list of them",
            field=required,
        )
    return data, FileParts(files)


_FILE_FIELDS = frozenset({"file", "image", "mask"})


def _file(key: str, value: object) -> tuple[str, bytes, str]:
    if isinstance(value, tuple):
        parts = cast(tuple[object, ...], value)
        if len(parts) in (2, 3) and isinstance(parts[0], str) and isinstance(parts[1], bytes):
            kind = parts[2] if len(parts) == 3 else "application/octet-stream"
            if isinstance(kind, str):
                return parts[0], parts[1], kind
    raise PayloadError(
        f"{key!r} must be (filename, bytes) or (filename, bytes, content_type), "
        "e.g. ('speech.mp3', data, 'audio/mpeg')",
        field=key,
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
    # Every other type (embeddings of text or images, images made or edited, Jina's
    # classifications) answers with a list of items at ``data``.
    get_list(body, key, "body")
    return NormalizedResponse(usage=usage, model=model_name, raw=body)
