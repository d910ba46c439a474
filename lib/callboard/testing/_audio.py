"""OpenAI's audio endpoints: text to speech (bytes out) and transcription (multipart in)."""

from __future__ import annotations

import hashlib
import struct
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from ._request import RouteContext, check_model, field, parse_json
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["form_fields", "form_parts", "speech", "transcriptions"]

_AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/opus",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def _wav(samples: bytes) -> bytes:
    """A mono 16-bit 24 kHz WAV file around raw samples."""
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 24000, 48000, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(samples)) + samples


def speech(data: bytes, context: RouteContext) -> Prepared:
    """Audio bytes whose length grows with the input (80 bytes of silence per char)."""
    body = parse_json(data)
    check_model(body, context)
    text: str = field(body, "input", str, required=True)
    if len(text) > 4096:
        raise BadRequest(400, "'input' must be at most 4096 characters.", param="input")
    field(body, "voice", str, required=True)
    response_format: str = field(body, "response_format", str, default="mp3")
    if response_format not in _AUDIO_TYPES:
        raise BadRequest(
            400,
            f"'response_format' must be one of {sorted(_AUDIO_TYPES)}.",
            param="response_format",
        )
    samples = bytes(80 * len(text))
    if response_format == "wav":
        audio = _wav(samples)
    else:
        # Not decodable audio: a stable tag and padding, enough for byte-level tests.
        audio = b"FAKEAUDIO" + hashlib.sha256(text.encode()).digest() + samples
    return Prepared(Body(200, _AUDIO_TYPES[response_format], audio), 0, 0)


def form_parts(
    data: bytes, content_type: str, what: str = "Transcription"
) -> list[tuple[str, bytes, str | None]]:
    """Every multipart form part in order, a name repeated for each of its files:
    ``(name, payload, filename)``."""
    if not content_type.startswith("multipart/form-data"):
        raise BadRequest(400, f"{what} requests must be multipart/form-data uploads.")
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data
    )
    if not message.is_multipart():
        raise BadRequest(400, "Could not parse the multipart form body.")
    parts: list[tuple[str, bytes, str | None]] = []
    for part in message.iter_parts():  # pyright: ignore[reportAttributeAccessIssue, reportUnknownVariableType, reportUnknownMemberType]
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            payload = part.get_payload(decode=True)
            parts.append(
                (name, payload if isinstance(payload, bytes) else b"", part.get_filename())
            )
    return parts


def form_fields(
    data: bytes, content_type: str, what: str = "Transcription"
) -> dict[str, tuple[bytes, str | None]]:
    """Multipart form fields: name -> (payload, filename) (the last part of a name)."""
    return {
        name: (payload, filename)
        for name, payload, filename in form_parts(data, content_type, what)
    }


def transcriptions(data: bytes, context: RouteContext) -> Prepared:
    """A transcript naming the uploaded file, its size and a digest of its bytes."""
    fields = form_fields(data, context.content_type)
    if "file" not in fields:
        raise BadRequest(400, "Missing required parameter: 'file'.", param="file")
    if "model" not in fields:
        raise BadRequest(400, "Missing required parameter: 'model'.", param="model")
    model = fields["model"][0].decode(errors="replace")
    check_model({"model": model}, context)
    audio, filename = fields["file"]
    response_format = fields.get("response_format", (b"json", None))[0].decode(errors="replace")
    digest = hashlib.sha256(audio).hexdigest()[:8]
    text = f"transcript of {filename or 'upload'} ({len(audio)} bytes, {digest})"
    if response_format in ("text", "srt", "vtt"):
        return Prepared(Body(200, "text/plain; charset=utf-8", text.encode()), 0, 0)
    reply: dict[str, Any] = {"text": text}
    if response_format == "verbose_json":
        reply.update(
            task="transcribe", language="english", duration=len(audio) / 48000, segments=[]
        )
    return Prepared(Body(200, "application/json", json_bytes(reply)), 0, 0)
