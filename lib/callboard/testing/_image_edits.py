"""OpenAI's ``POST /v1/images/edits``: a multipart upload of an image and a prompt.

The fake's edit changes nothing: it checks the upload is a PNG (as the API requires of
``image`` and ``mask``) and answers with the very bytes it received, base64 encoded, so
a test proves the multipart body crossed the wire byte for byte.
"""

from __future__ import annotations

import base64
from typing import Any

from ._audio import form_fields
from ._request import RouteContext, check_model_name
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["image_edits"]

_PNG = b"\x89PNG\r\n\x1a\n"


def image_edits(data: bytes, context: RouteContext) -> Prepared:
    """``n`` copies of the uploaded image, as ``b64_json`` (or a ``data:`` URL)."""
    fields = form_fields(data, context.content_type, "Image edit")
    if "prompt" not in fields:
        raise BadRequest(400, "Missing required parameter: 'prompt'.", param="prompt")
    image = fields.get("image") or fields.get("image[]")
    if image is None:
        raise BadRequest(400, "Missing required parameter: 'image'.", param="image")
    for name in ("image", "mask"):
        if name in fields and not fields[name][0].startswith(_PNG):
            raise BadRequest(
                400, f"Invalid '{name}' file: it must be a valid PNG file.", param=name
            )
    model = fields.get("model", (b"dall-e-2", None))[0].decode(errors="replace")
    check_model_name(model, context)
    try:
        n = int(fields.get("n", (b"1", None))[0])
    except ValueError:
        raise BadRequest(400, "'n' must be an integer.", param="n") from None
    if not 1 <= n <= 10:
        raise BadRequest(400, f"'n' must be between 1 and 10, got {n}.", param="n")
    response_format = fields.get("response_format", (b"b64_json", None))[0].decode()
    encoded = base64.b64encode(image[0]).decode()
    item: dict[str, Any] = (
        {"url": f"data:image/png;base64,{encoded}"}
        if response_format == "url"
        else {"b64_json": encoded}
    )
    reply = {"created": context.created, "data": [item] * n}
    return Prepared(Body(200, "application/json", json_bytes(reply)), 0, 0)
