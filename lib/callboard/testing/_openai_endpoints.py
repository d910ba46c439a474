"""OpenAI's non-chat JSON endpoints: embeddings, moderations, image generation."""

from __future__ import annotations

import base64
from typing import Any

from ._answer import FLAG_WORD
from ._content import embedding, embedding_base64, estimate_tokens
from ._request import RouteContext, check_model, check_model_name, field, parse_json, positive_int
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["FLAG_WORD", "PNG_1X1", "embeddings", "images", "input_items", "moderations"]

_DIMENSIONS = {"text-embedding-3-large": 3072, "text-embedding-3-small": 1536}
_DEFAULT_DIMENSIONS = 1536

# The smallest valid PNG (1x1 transparent pixel): image replies decode as a real image.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def input_items(body: dict[str, Any], name: str) -> list[str]:
    """The inputs at ``body[name]`` as strings: texts, token lists, ``{"text": ...}`` and
    ``{"image": ...}`` items (an image as ``"image:<url or base64>"``)."""
    value: str | list[Any] = field(body, name, (str, list), required=True)
    items = [value] if isinstance(value, str) else value
    if not items:
        raise BadRequest(400, f"'{name}' must not be empty.", param=name)
    texts: list[str] = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, list) and all(isinstance(t, int) for t in item):  # pyright: ignore[reportUnknownVariableType]
            texts.append(" ".join(str(t) for t in item))  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        elif isinstance(item, dict) and isinstance(item.get("text"), str):  # pyright: ignore[reportUnknownMemberType]
            texts.append(item["text"])  # pyright: ignore[reportUnknownArgumentType]
        elif isinstance(item, dict) and isinstance(item.get("image"), str):  # pyright: ignore[reportUnknownMemberType]
            # Jina's CLIP models take {"image": URL or base64}; the vector depends on it.
            texts.append("image:" + item["image"])  # pyright: ignore[reportUnknownArgumentType]
        else:
            raise BadRequest(400, f"Invalid value for '{name}'.", param=name)
    return texts


def embeddings(data: bytes, context: RouteContext) -> Prepared:
    """Unit vectors that depend only on each input text; float or base64 encoding."""
    body = parse_json(data)
    model = check_model(body, context)
    texts = input_items(body, "input")
    dimensions = positive_int(
        body, "dimensions", _DIMENSIONS.get(model, _DEFAULT_DIMENSIONS), maximum=8192
    )
    assert dimensions is not None
    encoding: str = field(body, "encoding_format", str, default="float")
    if encoding not in ("float", "base64"):
        raise BadRequest(
            400, "'encoding_format' must be 'float' or 'base64'.", param="encoding_format"
        )
    items: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        vector = embedding(text, dimensions)
        encoded = embedding_base64(vector) if encoding == "base64" else vector
        items.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(estimate_tokens(t) for t in texts)
    reply = {
        "object": "list",
        "data": items,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Prepared(Body(200, "application/json", json_bytes(reply)), tokens, tokens)


def moderations(data: bytes, context: RouteContext) -> Prepared:
    """Nothing is flagged except inputs containing ``FLAG_WORD`` (as violence)."""
    body = parse_json(data)
    model: str = field(body, "model", str, default="omni-moderation-latest")
    check_model_name(model, context)
    results: list[dict[str, Any]] = []
    for text in input_items(body, "input"):
        flagged = FLAG_WORD in text
        categories = {c: flagged and c == "violence" for c in _CATEGORIES}
        results.append(
            {
                "flagged": flagged,
                "categories": categories,
                "category_scores": {c: 0.99 if hit else 0.0001 for c, hit in categories.items()},
                "category_applied_input_types": {c: ["text"] for c in _CATEGORIES},
            }
        )
    reply = {"id": f"modr-{context.number:08d}", "model": model, "results": results}
    return Prepared(Body(200, "application/json", json_bytes(reply)), 0, 0)


def images(data: bytes, context: RouteContext) -> Prepared:
    """``n`` 1x1 PNGs, as ``b64_json`` or as a ``data:`` URL when ``url`` is asked."""
    body = parse_json(data)
    prompt: str = field(body, "prompt", str, required=True)
    model: str = field(body, "model", str, default="dall-e-2")
    check_model_name(model, context)
    n = positive_int(body, "n", 1, maximum=10) or 1
    response_format: str = field(body, "response_format", str, default="b64_json")
    encoded = base64.b64encode(PNG_1X1).decode()
    item: dict[str, Any] = (
        {"url": f"data:image/png;base64,{encoded}"}
        if response_format == "url"
        else {"b64_json": encoded}
    )
    item["revised_prompt"] = prompt
    reply = {"created": context.created, "data": [item] * n}
    return Prepared(Body(200, "application/json", json_bytes(reply)), 0, 0)
