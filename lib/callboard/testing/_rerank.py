"""``POST /v1/rerank`` in the shape Jina and Cohere share."""

from __future__ import annotations

from typing import Any

from ._content import estimate_tokens
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._wire import BadRequest, Body, Prepared, json_bytes

__all__ = ["rerank"]


def _score(query: str, document: str) -> float:
    """Share of the query's words found in the document (deterministic, in [0, 1])."""
    wanted = set(query.lower().split())
    if not wanted:
        return 0.0
    return round(len(wanted & set(document.lower().split())) / len(wanted), 6)


def rerank(data: bytes, context: RouteContext) -> Prepared:
    """Documents ordered by word overlap with the query, best first."""
    body = parse_json(data)
    model = check_model(body, context)
    query: str = field(body, "query", str, required=True)
    raw: list[Any] = field(body, "documents", list, required=True)
    documents: list[str] = []
    for index, item in enumerate(raw):
        if isinstance(item, str):
            documents.append(item)
        elif isinstance(item, dict) and isinstance(item.get("text"), str):  # pyright: ignore[reportUnknownMemberType]
            documents.append(item["text"])  # pyright: ignore[reportUnknownArgumentType]
        else:
            raise BadRequest(400, f"Invalid document at index {index}.", param="documents")
    top_n = positive_int(body, "top_n", len(documents)) or len(documents)
    return_documents: bool = field(body, "return_documents", bool, default=True)
    ranked = sorted(range(len(documents)), key=lambda i: (-_score(query, documents[i]), i))[:top_n]
    results: list[dict[str, Any]] = []
    for index in ranked:
        result: dict[str, Any] = {
            "index": index,
            "relevance_score": _score(query, documents[index]),
        }
        if return_documents:
            result["document"] = {"text": documents[index]}
        results.append(result)
    tokens = estimate_tokens(query) * len(documents) + sum(estimate_tokens(d) for d in documents)
    reply = {
        "id": f"rerank-{context.number:08d}",
        "model": model,
        "results": results,
        "usage": {"total_tokens": tokens},
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    return Prepared(Body(200, "application/json", json_bytes(reply)), tokens, tokens)
