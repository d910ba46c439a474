"""Replicate's ``POST /v1/predictions``, as its HTTP API documents it.

The request is ``{"version": "owner/name[:version]" | version id, "input": {...}}``. With
``Prefer: wait`` (or ``wait=N``, 1 to 60 seconds) the response holds the finished
prediction; without it Replicate answers at once with the prediction ``starting`` and
its ``urls.get`` to fetch it later. Both answers are ``201 Created``. The fake's model
finishes at once: its ``output`` is one file URL per ``num_outputs`` (default 1), named
by a digest of the input, so a test can predict it.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ._request import RouteContext, check_model_name, field, parse_json
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["predictions"]

_WAIT = re.compile(r"\s*wait(?:\s*=\s*(\d+))?\s*\Z")


def _waits(prefer: str) -> bool:
    if not prefer:
        return False
    match = _WAIT.match(prefer)
    if match is None:
        raise BadRequest(422, f"Invalid Prefer header {prefer!r}: expected 'wait' or 'wait=N'.")
    seconds = match.group(1)
    if seconds is not None and not 1 <= int(seconds) <= 60:
        raise BadRequest(422, "Prefer: wait=N takes N from 1 to 60 seconds.")
    return True


def predictions(data: bytes, context: RouteContext) -> Prepared:
    """A prediction: finished under ``Prefer: wait``, else just ``starting``."""
    body = parse_json(data)
    version: str = field(body, "version", str, required=True)
    inputs: dict[str, Any] = field(body, "input", dict, required=True)
    check_model_name(version.partition(":")[0], context)
    ident = f"fake{context.number:012d}"
    prediction: dict[str, Any] = {
        "id": ident,
        "model": version.partition(":")[0],
        "version": version.partition(":")[2] or "latest",
        "input": inputs,
        "logs": "",
        "error": None,
        "created_at": context.created,
        "urls": {
            "get": f"https://api.replicate.com/v1/predictions/{ident}",
            "cancel": f"https://api.replicate.com/v1/predictions/{ident}/cancel",
        },
    }
    if not _waits(context.prefer):
        prediction.update(status="starting", output=None)
        return Prepared(Body(201, "application/json", json_bytes(prediction)), 0, 0)
    count = inputs.get("num_outputs", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 4:
        raise BadRequest(422, "input.num_outputs must be an integer from 1 to 4.")
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    output = [f"https://replicate.delivery/fake/{digest}/out-{i}.webp" for i in range(count)]
    prediction.update(status="succeeded", output=output, metrics={"predict_time": 0.01})
    return Prepared(Body(201, "application/json", json_bytes(prediction)), 0, 0)
