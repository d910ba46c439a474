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
    "decode_json",
    "get_list",
    "get_map",
    "get_str",
    "openai_usage",
    "opt_list",
    "opt_map",
    "opt_str",
    "stream_event_map",
    "want_map",
]

Body = Mapping[str, object]


def want_map(value: object, where: str) -> Body:
    """``value`` as a JSON object, or InvalidResponse."""
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: no ABC check
        raise InvalidResponse(f"expected a JSON object at {where}, got {type(value).__name__}")
    return cast(Body, value)


def decode_json(data: str | bytes) -> object:
    """JSON text decoded, or ValueError for anything that is not (a number over 4,300
    digits, invalid UTF-8, or nesting deep enough to exhaust the stack included)."""
    try:
        return cast(object, json.loads(data))
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def stream_event_map(
    data: str, where: str, *, provider: str | None, calling_id: str | None
) -> Body:
    """One SSE event's data decoded as a JSON object, or InvalidResponse."""
    try:
        decoded = decode_json(data)
    except ValueError as error:
        raise InvalidResponse(
            f"a stream event from {provider or 'the provider'} is not JSON ({error})"[:300],
            provider=provider,
            calling_id=calling_id,
        ) from None
    try:
        return want_map(decoded, where)
    except InvalidResponse as error:
        error.provider, error.calling_id = provider, calling_id
        raise


def get_map(body: Body, key: str, where: str) -> Body:
    """The object at ``body[key]``."""
    return want_map(body.get(key), f"{where}.{key}")


def get_list(body: Body, key: str, where: str) -> Sequence[object]:
    """The array at ``body[key]``."""
    value = body.get(key)
    if not isinstance(value, list):
        raise InvalidResponse(f"expected a JSON array at {where}.{key}, got {type(value).__name__}")
    return cast(list[object], value)


def opt_map(body: Body, key: str) -> Body | None:
    """The object at ``body[key]``, or ``None`` when it is absent or not an object."""
    value = body.get(key)
    if type(value) is dict or isinstance(value, Mapping):
        return cast(Body, value)
    return None


def opt_list(body: Body, key: str, where: str) -> Sequence[object]:
    """The array at ``body[key]``; absent or null is empty, another type InvalidResponse."""
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidResponse(f"expected a JSON array at {where}.{key}, got {type(value).__name__}")
    return cast(list[object], value)


def opt_str(body: Body, key: str) -> str | None:
    """The string at ``body[key]``, or ``None`` when it is absent or not a string."""
    value = body.get(key)
    return value if isinstance(value, str) else None


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
    (the Responses API, images, transcription); cache reads and writes from
    ``prompt_tokens_details`` / ``input_tokens_details`` (or DeepSeek's
    ``prompt_cache_hit_tokens``); reasoning tokens from ``completion_tokens_details`` /
    ``output_tokens_details``.
    """
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: no ABC check
        return None
    usage = cast(Body, value)
    prompt = as_int(usage.get("prompt_tokens")) or as_int(usage.get("input_tokens"))
    completion = as_int(usage.get("completion_tokens")) or as_int(usage.get("output_tokens"))
    inputs = opt_map(usage, "prompt_tokens_details") or opt_map(usage, "input_tokens_details")
    outputs = opt_map(usage, "completion_tokens_details") or opt_map(usage, "output_tokens_details")
    cached = as_int(inputs.get("cached_tokens")) if inputs is not None else 0
    cached = cached or as_int(usage.get("prompt_cache_hit_tokens"))
    written = as_int(inputs.get("cache_write_tokens")) if inputs is not None else 0
    reasoning = as_int(outputs.get("reasoning_tokens")) if outputs is not None else 0
    total = as_int(usage.get("total_tokens")) or prompt + completion
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        cached_tokens=cached,
        total_tokens=total,
        cache_write_tokens=written,
        reasoning_tokens=reasoning,
    )
