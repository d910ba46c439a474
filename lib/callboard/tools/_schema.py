"""A Python signature as a JSON schema, and arguments checked against it."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

from ._errors import ToolArgumentError

__all__ = ["check_arguments", "schema_for"]

_SIMPLE: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    list: "array",
    tuple: "array",
    dict: "object",
}


def _type_schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint; ``{}`` (anything) for what JSON cannot say."""
    if hint is inspect.Parameter.empty or hint is Any:
        return {}
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return {"anyOf": [_type_schema(arg) for arg in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple, set, frozenset) or hint in (set, frozenset):
        schema: dict[str, Any] = {"type": "array"}
        if origin in (list, set, frozenset) and args:
            schema["items"] = _type_schema(args[0])
        return schema
    if origin is dict or origin is Mapping:
        return {"type": "object"}
    name = _SIMPLE.get(origin or hint)
    return {"type": name} if name is not None else {}


def schema_for(func: Callable[..., Any]) -> dict[str, Any]:
    """The JSON schema (an ``object``) of ``func``'s keyword-callable parameters.

    Example:
        >>> def add(a: int, b: int = 0) -> int: ...
        >>> schema_for(add)["required"]
        ['a']
    """
    signature = inspect.signature(func)
    try:
        hints = typing.get_type_hints(func)
    except (NameError, TypeError):
        hints = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    open_ended = False
    for name, parameter in signature.parameters.items():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
            continue
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
            continue
        properties[name] = _type_schema(hints.get(name, parameter.annotation))
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": open_ended,
    }


def _fits(value: object, schema: Mapping[str, Any]) -> bool:
    if "anyOf" in schema:
        return any(_fits(value, option) for option in schema["anyOf"])
    if "enum" in schema:
        return value in schema["enum"]
    kind = schema.get("type")
    if kind is None:
        return True
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        if not isinstance(value, list | tuple):
            return False
        items = schema.get("items")
        elements: list[object] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return items is None or all(_fits(item, items) for item in elements)
    return True


def check_arguments(tool: str, schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> None:
    """Check ``arguments`` against an ``object`` schema.

    Raises:
        ToolArgumentError: the first argument that is missing, unexpected or of the
            wrong type (the message names it; it never repeats the value).
    """
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in arguments:
            raise ToolArgumentError(tool, name, "missing", "it is required")
    if not schema.get("additionalProperties", True):
        for name in arguments:
            if name not in properties:
                expected = ", ".join(sorted(properties)) or "none"
                raise ToolArgumentError(
                    tool, name, "unexpected", f"the tool takes only: {expected}"
                )
    for name, value in arguments.items():
        expected = properties.get(name)
        if expected is not None and not _fits(value, expected):
            raise ToolArgumentError(
                tool,
                name,
                "wrong type",
                f"expected {_describe(expected)}, got {type(value).__name__}",
            )


def _describe(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(_describe(option) for option in schema["anyOf"])
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    return str(schema.get("type", "anything"))
