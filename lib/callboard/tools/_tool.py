"""Tool: a Python function as a backend, with a JSON schema and checked arguments."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import trio

from callboard.calling import Calling
from callboard.errors import ConfigError

from ._errors import ToolError
from ._schema import check_arguments, schema_for

__all__ = ["Tool"]


class Tool:
    """Call a Python function as a backend: ``iModel(backend=Tool(func))``.

    The Calling's payload is the function's keyword arguments. They are checked against
    the schema before the function runs (``ToolArgumentError`` names the missing,
    unexpected or wrongly typed argument). An async function is awaited in the calling
    task; a sync one runs in a worker thread (``trio.to_thread.run_sync``), so it cannot
    block the event loop. What the function raises is wrapped in [`ToolError`][callboard.ToolError].

    Args:
        func: the function.
        func_callable: the same, under lionpride's name (give one of the two).
        name: the tool's name (the function's ``__name__`` by default).
        description: for the tool schema (the docstring's first paragraph by default).
        schema: a JSON schema (``object``) of the parameters, instead of the one
            derived from the signature and type hints.

    Raises:
        ConfigError: ``func`` is not callable, or ``schema`` is not an object schema.

    Example:
        >>> def add(a: int, b: int) -> int:
        ...     "Add two integers."
        ...     return a + b
        >>> Tool(add).tool_schema()["function"]["parameters"]["required"]
        ['a', 'b']
    """

    def __init__(
        self,
        func: Callable[..., Any] | None = None,
        *,
        func_callable: Callable[..., Any] | None = None,
        name: str | None = None,
        description: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> None:
        if (func is None) == (func_callable is None):
            raise ConfigError(
                "give Tool one function: Tool(func) or Tool(func_callable=func)",
                field="func",
            )
        func = func if func is not None else func_callable
        if not callable(func):
            raise ConfigError(f"Tool needs a callable, got {func!r}", field="func")
        if schema is not None and (
            not isinstance(schema, Mapping) or schema.get("type") != "object"  # pyright: ignore[reportUnnecessaryIsInstance]
        ):
            raise ConfigError(
                'schema must be a JSON schema of type "object" describing the parameters',
                field="schema",
            )
        self.func = func
        self.name: str = name or getattr(func, "__name__", type(func).__name__)
        doc = inspect.getdoc(func) or ""
        self.description: str = (
            description if description is not None else doc.split("\n\n", 1)[0].strip()
        )
        self.schema: dict[str, Any] = dict(schema) if schema is not None else schema_for(func)
        self.tags: frozenset[str] = frozenset({"tool"})
        self.version: str | None = None
        self._is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(func, "__call__", None)  # noqa: B004 - an async __call__ counts
        )

    def __repr__(self) -> str:
        return f"Tool({self.name!r})"

    def tool_schema(self) -> dict[str, Any]:
        """The OpenAI-style function tool definition."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.schema,
            },
        }

    def validate(self, arguments: Mapping[str, Any]) -> None:
        """Check ``arguments`` without calling.

        Raises:
            ToolArgumentError: an argument is missing, unexpected or of the wrong type.
        """
        check_arguments(self.name, self.schema, arguments)

    async def execute(self, calling: Calling) -> Any:
        """Check the payload, then call the function with it.

        Raises:
            ToolArgumentError: the payload does not fit (the function was not called).
            ToolError: the function raised.
        """
        self.validate(calling.payload)
        try:
            if self._is_async:
                return await self.func(**calling.payload)
            return await trio.to_thread.run_sync(functools.partial(self.func, **calling.payload))
        except Exception as error:
            raise ToolError(self.name, error) from error
