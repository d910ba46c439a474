"""Jina AI's ``POST /v1/classify``: zero-shot labels for texts or images.

Its documented request is ``{"model", "input": [text | {"text"} | {"image"}], "labels"}``
and its answer ``{"usage": {"total_tokens"}, "data": [{"object": "classification",
"index", "prediction", "score", "predictions": [{"label", "score"}]}]}``. The fake scores
a text by the words it shares with each label, and an image by a digest of its bytes,
so a test can predict every label and score.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._content import estimate_tokens
from ._openai_endpoints import input_items
from ._request import RouteContext, check_model, field, parse_json
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["classify"]


def _weights(item: str, labels: list[str]) -> list[float]:
    if item.startswith("image:"):  # an image: one label chosen by the digest of its data
        chosen = hashlib.sha256(item.encode()).digest()[0] % len(labels)
        return [3.0 if i == chosen else 1.0 for i in range(len(labels))]
    words = set(item.lower().split())
    return [1.0 + 2.0 * len(words & set(label.lower().split())) for label in labels]


def classify(data: bytes, context: RouteContext) -> Prepared:
    """Each input's labels scored (scores sum to 1), the best as ``prediction``."""
    body = parse_json(data)
    model = check_model(body, context)
    labels: list[Any] = field(body, "labels", list, required=True)
    if not labels or not all(isinstance(label, str) and label for label in labels):
        raise BadRequest(400, "'labels' must be a non-empty list of strings.", param="labels")
    items = input_items(body, "input")
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        weights = _weights(item, labels)
        scores = [round(w / sum(weights), 6) for w in weights]
        best = max(range(len(labels)), key=lambda i: (scores[i], -i))
        results.append(
            {
                "object": "classification",
                "index": index,
                "prediction": labels[best],
                "score": scores[best],
                "predictions": [
                    {"label": label, "score": score}
                    for label, score in zip(labels, scores, strict=True)
                ],
            }
        )
    tokens = sum(estimate_tokens(item) for item in items)
    reply = {"usage": {"total_tokens": tokens}, "data": results, "model": model}
    return Prepared(Body(200, "application/json", json_bytes(reply)), tokens, tokens)
