"""Typed access to decoded JSON bodies, failing with InvalidResponse naming the field.

Provider bodies are untrusted input: a field can be missing, null or of the wrong type.
Every read goes through these functions so the error always says which field was wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import cast

from callboard.resilience import InvalidResponse

from ._normalized import Usage

__all__ = [
    "Body",
    "as_int",
    "get_list",
    "get_map",
    "get_str",
    "openai_usage",
    "stream_event_map",
    "want_map",
]

Body = Mapping[str, object]


def want_map(value: object, where: str) -> Body:
    """``value`` as a JSON object, or InvalidResponse."""
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: no ABC check
        raise InvalidResponse(f"expected a JSON object at {where}, got {type(value).__name__}")
    return cast(Body, value)


def stream_event_map(
    data: str, where: str, *, provider: str | None, calling_id: str | None
) -> Body:
    """One SSE event's data decoded as a JSON object, or InvalidResponse."""
    try:
        decoded: object = json.loads(data)
    except ValueError:
        raise InvalidResponse(
            f"a stream event from {provider or 'the provider'} is not JSON",
            provider=provider,
            calling_id=calling_id,
        ) from None
    return want_map(decoded, where)


def get_map(body: Body, key: str, where: str) -> Body:
    """The object at ``body[key]``."""
    return want_map(body.get(key), f"{where}.{key}")


def get_list(body: Body, key: str, where: str) -> Sequence[object]:
    """The array at ``body[key]``."""
    value = body.get(key)
    if not isinstance(value, list):
        raise InvalidResponse(f"expected a JSON array at {where}.{key}, got {type(value).__name__}")
    return cast(list[object], value)


def get_str(body: Body, key: str, where: str, *, optional: bool = False) -> str | None:
    """The string at ``body[key]``; ``None`` allowed only when ``optional``."""
    value = body.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidResponse(f"expected a string at {where}.{key}, got {type(value).__name__}")
    return value


def as_int(value: object) -> int:
    """A token count: non-negative ints count, anything else (null, absent) is 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return 0


def openai_usage(value: object) -> Usage | None:
    """Usage from an OpenAI-style ``usage`` object (and its common variants).

    ``prompt_tokens``/``completion_tokens`` (chat), ``input_tokens``/``output_tokens``
    (images, transcription), cached prompt tokens in ``prompt_tokens_details`` (OpenAI)
    or ``prompt_cache_hit_tokens`` (DeepSeek).
    """
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: no ABC check
        return None
    usage = cast(Body, value)
    prompt = as_int(usage.get("prompt_tokens")) or as_int(usage.get("input_tokens"))
    completion = as_int(usage.get("completion_tokens")) or as_int(usage.get("output_tokens"))
    details = usage.get("prompt_tokens_details")
    cached = as_int(cast(Body, details).get("cached_tokens")) if isinstance(details, Mapping) else 0
    cached = cached or as_int(usage.get("prompt_cache_hit_tokens"))
    total = as_int(usage.get("total_tokens")) or prompt + completion
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached, total_tokens=total
    )
