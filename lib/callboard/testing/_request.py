"""Reading a request body: JSON parsing and field checks that end in a 400, never a crash."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._wire import BadRequest

if TYPE_CHECKING:
    from ._cache import PromptCache

__all__ = ["RouteContext", "check_model", "check_model_name", "field", "parse_json"]

T = TypeVar("T")


@attrs.frozen
class RouteContext:
    """What a route needs besides the body: the served models (``None``: any), the time,
    a request number, the prompt cache and the key that signs thinking blocks."""

    models: frozenset[str] | None
    created: int  # Unix seconds on the provider's (trio-anchored) wall clock
    number: int  # 1 for the first request the provider received
    content_type: str = ""  # the request's Content-Type header
    prefer: str = ""  # the request's Prefer header (Replicate's ``wait``)
    cache: PromptCache | None = None  # the key's prompt cache
    now: float = 0.0  # trio time, for the cache's lifetimes
    signing_key: bytes = b"callboard-fake-provider"


def parse_json(data: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400 saying why not."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:  # invalid UTF-8, huge numbers, deep nesting
        reason = str(exc)[:200] if isinstance(exc, ValueError) else "nested too deeply"
        raise BadRequest(
            400, f"We could not parse the JSON body of your request: {reason}"
        ) from None
    if not isinstance(value, dict):
        raise BadRequest(400, "The request body must be a JSON object.")
    return value  # pyright: ignore[reportUnknownVariableType]


def field(
    body: dict[str, Any],
    name: str,
    kind: type[T] | tuple[type, ...],
    *,
    required: bool = False,
    default: Any = None,
) -> Any:
    """``body[name]`` checked against ``kind``; a missing required field is a 400."""
    if name not in body or body[name] is None:
        if required:
            raise BadRequest(400, f"Missing required parameter: '{name}'.", param=name)
        return default
    value = body[name]
    # bool is an int in Python but not in JSON schemas.
    if (isinstance(value, bool) and bool not in _kinds(kind)) or not isinstance(value, kind):
        raise BadRequest(400, f"Invalid type for '{name}': got {type(value).__name__}.", param=name)
    return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def positive_int(
    body: dict[str, Any], name: str, default: int | None, *, maximum: int | None = None
) -> int | None:
    """An optional integer field in ``1..maximum`` (the caps keep replies small)."""
    value: int | None = field(body, name, int, default=default)
    if value is not None and value < 1:
        raise BadRequest(400, f"'{name}' must be at least 1, got {value}.", param=name)
    if value is not None and maximum is not None and value > maximum:
        raise BadRequest(400, f"'{name}' must be at most {maximum}, got {value}.", param=name)
    return value


def check_model(body: dict[str, Any], context: RouteContext) -> str:
    """The ``model`` field, which must name a served model when the provider was given
    an allow-list (``models=``): an unknown one gets the real APIs' 404."""
    model: str = field(body, "model", str, required=True)
    return check_model_name(model, context)


def check_model_name(model: str, context: RouteContext) -> str:
    """``model``, or the 404 ``not_found_error`` an unknown model gets."""
    if context.models is not None and model not in context.models:
        raise BadRequest(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    return model
