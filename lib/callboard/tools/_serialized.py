"""A Tool in a model's data: its function's import path, found again on load.

``iModel(backend=Tool(f)).to_dict()`` records ``f`` as ``"module:qualname"`` (with the
tool's name, description and schema); ``iModel.from_dict`` finds the function again in
that module. Only a module the program has imported already is searched: loading data
never imports, so it never runs code the program did not choose to run. A function that
has no import path (a lambda, a closure, a bound method) or whose module is not loaded
makes ``from_dict`` raise [`NotRestorable`][callboard.NotRestorable] saying what to do.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from callboard.imodel import NotRestorable
from callboard.imodel._backend_codecs import BackendCodec, register_backend_codec

from ._tool import Tool

__all__ = ["function_path", "resolve_function"]


def function_path(func: Callable[..., Any]) -> str | None:
    """``"module:qualname"`` when looking that up finds ``func`` itself, else None."""
    module = getattr(func, "__module__", None)
    qualname = getattr(func, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname:
        return None
    try:
        found = _lookup(module, qualname)
    except LookupError:
        return None
    return f"{module}:{qualname}" if found is func else None


def _lookup(module: str, qualname: str) -> object:
    loaded = sys.modules.get(module)
    if loaded is None:
        raise LookupError(module)
    found: object = loaded
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise LookupError(qualname) from None
    return found


def resolve_function(path: str, *, tool: str) -> Callable[..., Any]:
    """The function at ``path`` (``"module:qualname"``) in an already imported module.

    Raises:
        NotRestorable: the module is not imported or has no such callable.
    """
    module, _, qualname = path.partition(":")
    try:
        found = _lookup(module, qualname)
    except LookupError:
        found = None
    if not callable(found):
        raise NotRestorable(
            f"tool {tool!r} calls {path}, which is not in the imported modules; import "
            f"{module} before loading (data never imports code), or pass "
            "iModel.from_dict(data, backend=Tool(...))",
            field="backend_data",
        )
    return found


def _dump(tool: Tool) -> dict[str, Any]:
    return {
        "function": function_path(tool.func),
        "name": tool.name,
        "description": tool.description,
        "schema": tool.schema,
    }


def _load(data: Mapping[str, Any]) -> Tool:
    name = str(data.get("name") or "tool")
    path = data.get("function")
    if not isinstance(path, str):
        raise NotRestorable(
            f"tool {name!r} calls a function with no import path (a lambda, a closure or "
            "a bound method), which cannot be written as data; pass it again: "
            "iModel.from_dict(data, backend=Tool(func))",
            field="backend_data",
        )
    schema = data.get("schema")
    description = data.get("description")
    return Tool(
        resolve_function(path, tool=name),
        name=name,
        description=description if isinstance(description, str) else None,
        schema=schema if isinstance(schema, Mapping) else None,  # pyright: ignore[reportUnknownArgumentType]
    )


register_backend_codec(BackendCodec("tool", Tool, _dump, _load))
