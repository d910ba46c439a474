"""The Replicate dialect: one prediction per call, answered in the same response.

Replicate runs a model as a *prediction* (``POST /v1/predictions`` with ``version`` —
``"owner/name"``, ``"owner/name:version"`` or a version id — and the model's ``input``).
With the ``Prefer: wait`` header (which the provider spec sends on every request) the
response holds the finished prediction, so a call is one request and never a polling
loop. A prediction still running when the wait ran out is an error naming where to
fetch it: sending it again would start (and bill) a second prediction.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import cast

from callboard.resilience import ProviderError

from ._body import Body, get_str, opt_map
from ._errors import PayloadError
from ._normalized import NormalizedResponse, Usage

__all__ = ["PredictionFailed", "PredictionNotFinished", "parse_replicate", "replicate_body"]


class PredictionFailed(ProviderError):
    """Replicate ran the prediction and it failed or was canceled (its ``error`` says why)."""


class PredictionNotFinished(ProviderError):
    """The prediction was still running when Replicate's ``Prefer: wait`` ran out.

    Not retried: a new request would start a second prediction. ``prediction_url`` is
    where Replicate serves this one (``GET`` it with the same key), or raise the wait
    with ``headers={"prefer": "wait=60"}``.
    """

    prediction_url: str | None = None


def replicate_body(payload: Mapping[str, object]) -> Body:
    """The JSON body of a prediction: ``version`` from ``model``, every other field as
    the model's ``input``; files (``(filename, bytes[, content_type])``, as an image
    edit's ``image``) become ``data:`` URIs, which Replicate accepts for file inputs (a
    list of files, a list of URIs).

    Raises:
        PayloadError: no ``model``.
    """
    fields = dict(payload)
    model = fields.pop("model", None) or fields.pop("version", None)
    if not isinstance(model, str) or not model:
        raise PayloadError(
            "a Replicate prediction needs 'model': 'owner/name' or 'owner/name:version'",
            field="model",
        )
    inputs = {key: _data_uri(value) for key, value in fields.items()}
    return {"version": model, "input": inputs}


def _data_uri(value: object) -> object:
    if isinstance(value, list):  # several files (the images of one edit): several URIs
        return [_data_uri(item) for item in cast(list[object], value)]
    if isinstance(value, tuple):
        parts = cast(tuple[object, ...], value)
        if len(parts) in (2, 3) and isinstance(parts[1], bytes):
            kind = parts[2] if len(parts) == 3 and isinstance(parts[2], str) else None
            encoded = base64.b64encode(parts[1]).decode()
            return f"data:{kind or 'application/octet-stream'};base64,{encoded}"
    return cast(object, value)


def parse_replicate(
    body: Body, *, provider: str, status: int, calling_id: str | None = None
) -> NormalizedResponse:
    """A finished prediction (``raw`` is the prediction; its ``output`` the model's).

    Raises:
        PredictionFailed: its status is ``failed`` or ``canceled``.
        PredictionNotFinished: it is still ``starting`` or ``processing``.
        InvalidResponse: no ``status``.
    """
    state = get_str(body, "status", "body")
    ident = body.get("id")
    name = f"prediction {ident}" if isinstance(ident, str) else "the prediction"
    if state in ("failed", "canceled"):
        error = body.get("error")
        reason = str(error)[:300] if error else "no reason given"
        raise PredictionFailed(
            f"Replicate {name} {state}: {reason}",
            provider=provider,
            status=status,
            calling_id=calling_id,
        )
    if state != "succeeded":
        urls = opt_map(body, "urls")
        where = urls.get("get") if urls is not None else None
        failure = PredictionNotFinished(
            f"Replicate {name} is still {state} after the Prefer: wait window; fetch it "
            f"from {where or 'its urls.get'} instead of sending it again (that would start "
            "a second prediction)",
            provider=provider,
            status=status,
            calling_id=calling_id,
        )
        failure.prediction_url = where if isinstance(where, str) else None
        raise failure
    model = body.get("model")
    metrics = body.get("metrics")
    usage = None
    if isinstance(metrics, Mapping):
        counts = cast(Mapping[str, object], metrics)
        prompt, completion = counts.get("input_token_count"), counts.get("output_token_count")
        if isinstance(prompt, int) and isinstance(completion, int):
            usage = Usage(prompt_tokens=prompt, completion_tokens=completion)
    output = body.get("output")
    text = output if isinstance(output, str) else ""  # files (a list of URLs) are in raw
    return NormalizedResponse(
        text=text, model=model if isinstance(model, str) else None, usage=usage, raw=body
    )
