"""encode_json_body: a request body as the bytes sent, or PayloadError naming the bad field.

A body is encoded once, when its request is built, instead of by the HTTP client while
it sends: a value that is not JSON (an ``object()``, a ``set``, a ``datetime``, NaN) is
then the caller's mistake, reported with the field it sits in, rather than an error
inside the Endpoint's client that looks like a broken connection and gets retried.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import cast

from ._errors import PayloadError

__all__ = ["encode_json_body"]

# The encoding httpx uses for ``json=``: compact, UTF-8, no NaN or infinity (not JSON).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode

_JSON_TYPES = "str, int, float, bool, None, lists and dicts with string keys"


def encode_json_body(body: Mapping[str, object]) -> bytes:
    """``body`` as compact UTF-8 JSON.

    Args:
        body: the request body (``dict`` of JSON values).

    Raises:
        PayloadError: a value is not JSON; ``field`` is its path (``"metadata"``,
            ``"messages[0].content"``) and the message names its type, never its value.

    Example:
        >>> encode_json_body({"model": "gpt-4o", "messages": []})
        b'{"model":"gpt-4o","messages":[]}'
        >>> try:
        ...     encode_json_body({"metadata": {"tags": {"a", "b"}}})
        ... except PayloadError as error:
        ...     error.field
        'metadata.tags'
    """
    try:
        return _encode(body).encode()
    except (TypeError, ValueError, RecursionError) as error:
        try:
            found = _find(body, "", set())
        except RecursionError:
            found = ("", "it is nested too deeply")
        where, why = found or ("", type(error).__name__)
        field = where.removeprefix(".") or None
        what = f"payload field {field!r}" if field else "the payload"
        raise PayloadError(
            f"{what} is not JSON: {why}; send only {_JSON_TYPES} (convert the value "
            "first, e.g. str(value), value.isoformat() or model.model_dump())",
            field=field,
        ) from None


def _find(value: object, path: str, open_ids: set[int]) -> tuple[str, str] | None:
    """The path of the first value JSON cannot hold, and why; ``None`` if there is none."""
    if value is None or isinstance(value, bool | int):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, f"{value!r} is not a JSON number")
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path, "a string with a lone surrogate cannot be UTF-8"
        return None
    if not isinstance(value, dict | list | tuple):
        name = type(value).__name__
        return path, f"a value of type {name}" + (
            " (use a dict)" if isinstance(value, Mapping) else ""
        )
    container = cast(_Container, value)
    if id(container) in open_ids:
        return path, "it contains itself (a circular reference)"
    open_ids.add(id(container))
    try:
        return _find_inside(container, path, open_ids)
    finally:
        open_ids.discard(id(container))


_Container = dict[object, object] | list[object] | tuple[object, ...]


def _find_inside(value: _Container, path: str, open_ids: set[int]) -> tuple[str, str] | None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key is not None and not isinstance(key, str | int | float | bool):
                return path, f"a key of type {type(key).__name__}"
            found = _find(item, f"{path}.{key}", open_ids)
            if found is not None:
                return found
        return None
    for index, item in enumerate(value):
        found = _find(item, f"{path}[{index}]", open_ids)
        if found is not None:
            return found
    return None
