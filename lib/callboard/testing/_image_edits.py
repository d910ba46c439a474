"""OpenAI's ``POST /v1/images/edits``: a multipart upload of an image and a prompt.

The fake's edit changes nothing: it checks the upload is a PNG (as the API requires of
``image`` and ``mask``) and answers with the very bytes it received, base64 encoded, so
a test proves the multipart body crossed the wire byte for byte.

Several images (gpt-image-1 edits up to 16 at once) come as repeated ``image[]`` parts;
one image may come as ``image`` or ``image[]``. The answer is then the first image, and
two headers report what arrived: ``x-fake-image-field`` (the part name used) and
``x-fake-image-digests`` (the first 16 hex digits of each image's SHA-256, in order).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ._audio import form_parts
from ._request import RouteContext, check_model_name
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["image_edits"]

_PNG = b"\x89PNG\r\n\x1a\n"
_MOST_IMAGES = 16  # gpt-image-1's limit; dall-e-2 edits one


def image_edits(data: bytes, context: RouteContext) -> Prepared:
    """``n`` copies of the uploaded image, as ``b64_json`` (or a ``data:`` URL)."""
    parts = form_parts(data, context.content_type, "Image edit")
    fields = {name: payload for name, payload, _ in parts}
    if "prompt" not in fields:
        raise BadRequest(400, "Missing required parameter: 'prompt'.", param="prompt")
    images = [(name, payload) for name, payload, _ in parts if name in ("image", "image[]")]
    if not images:
        raise BadRequest(400, "Missing required parameter: 'image'.", param="image")
    uploads = list(images)
    if "mask" in fields:
        uploads.append(("mask", fields["mask"]))
    for name, payload in uploads:
        if not payload.startswith(_PNG):
            raise BadRequest(
                400, f"Invalid '{name}' file: it must be a valid PNG file.", param=name
            )
    model = fields.get("model", b"dall-e-2").decode(errors="replace")
    check_model_name(model, context)
    most = 1 if model == "dall-e-2" else _MOST_IMAGES
    if len(images) > most:
        raise BadRequest(
            400, f"Too many images: {model} edits at most {most}, got {len(images)}.", param="image"
        )
    try:
        n = int(fields.get("n", b"1"))
    except ValueError:
        raise BadRequest(400, "'n' must be an integer.", param="n") from None
    if not 1 <= n <= 10:
        raise BadRequest(400, f"'n' must be between 1 and 10, got {n}.", param="n")
    response_format = fields.get("response_format", b"b64_json").decode()
    encoded = base64.b64encode(images[0][1]).decode()
    item: dict[str, Any] = (
        {"url": f"data:image/png;base64,{encoded}"}
        if response_format == "url"
        else {"b64_json": encoded}
    )
    reply = {"created": context.created, "data": [item] * n}
    names = {name for name, _ in images}
    report = (
        ("x-fake-image-field", "image[]" if "image[]" in names else "image"),
        ("x-fake-image-digests", ",".join(_digest(payload) for _, payload in images)),
    )
    return Prepared(Body(200, "application/json", json_bytes(reply), report), 0, 0)


def _digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:16]
