"""Tool calls: which tools the fake model calls, and with what arguments.

A request that offers ``tools`` and ends with the user speaking (not with a tool result)
is answered with tool calls, as a model that wants a tool answers: every offered tool
once (parallel calls), or only the first when parallel calls are off, or only the tool
``tool_choice`` names; ``tool_choice`` ``"none"`` (Anthropic ``{"type": "none"}``)
gets text instead. The arguments follow each tool's JSON schema: its required
properties (all of them when it names none), a string being the user's last message,
a number its ``minimum`` or 1, a boolean ``true``, an ``enum`` or ``const`` its first
value, a ``default`` itself. A conversation that ends with tool results is answered
with text that echoes them, so a tool loop ends.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from ._wire import BadRequest

__all__ = ["FakeCall", "choose_calls", "schema_example"]

Dialect = Literal["chat", "messages", "responses"]

_PIECE = 6  # characters of argument JSON per streamed piece (one output token each)
_MAX_DEPTH = 6


@attrs.frozen
class FakeCall:
    """One tool call the fake model makes."""

    name: str
    arguments: dict[str, Any]

    @property
    def text(self) -> str:
        """The arguments as compact JSON text."""
        return json.dumps(self.arguments, separators=(",", ":"))

    def pieces(self) -> list[str]:
        """The argument text in the pieces a stream sends (one output token each)."""
        text = self.text
        return [text[i : i + _PIECE] for i in range(0, len(text), _PIECE)]


def _tool_entries(tools: list[Any], dialect: Dialect) -> list[tuple[str, Any]]:
    """``(name, parameters schema)`` of each function tool, in order."""
    found: list[tuple[str, Any]] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            raise BadRequest(400, f"tools[{index}] must be an object.", param=f"tools[{index}]")
        entry: dict[str, Any] = tool  # pyright: ignore[reportUnknownVariableType]
        if dialect == "chat":
            if entry.get("type", "function") != "function":
                continue
            function = entry.get("function")
            if not isinstance(function, dict):
                raise BadRequest(
                    400, f"Missing required parameter: 'tools[{index}].function'.",
                    param=f"tools[{index}].function",
                )  # fmt: skip
            entry = function  # pyright: ignore[reportUnknownVariableType]
        elif dialect == "responses" and entry.get("type") != "function":
            continue
        elif dialect == "messages" and entry.get("type") not in (None, "custom"):
            continue  # a server tool (web search, code execution): not the client's to run
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise BadRequest(
                400, f"tools.{index}.name: Field required", param=f"tools[{index}].name"
            )
        schema_key = "input_schema" if dialect == "messages" else "parameters"
        found.append((name, entry.get(schema_key)))
    return found


def choose_calls(
    body: dict[str, Any], dialect: Dialect, text: str, *, answering_user: bool
) -> list[FakeCall]:
    """The calls answering this request (none when it offers no tools, when
    ``tool_choice`` says none, or when the conversation ends with tool results)."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise BadRequest(400, "Invalid type for 'tools': expected an array.", param="tools")
    entries = _tool_entries(tools, dialect)  # pyright: ignore[reportUnknownArgumentType]
    mode, named, parallel = _tool_choice(body, dialect)
    if mode == "none" or not entries or not answering_user:
        return []
    if named is not None:
        chosen = [entry for entry in entries if entry[0] == named][:1]
        if not chosen:
            raise BadRequest(
                400, f"Tool choice names '{named}', which is not among the tools.",
                param="tool_choice",
            )  # fmt: skip
    else:
        chosen = entries if parallel else entries[:1]
    return [FakeCall(name, _arguments(schema, text)) for name, schema in chosen]


def _tool_choice(body: dict[str, Any], dialect: Dialect) -> tuple[str, str | None, bool]:
    """``(mode, named tool, parallel allowed)`` from ``tool_choice`` and its company."""
    choice = body.get("tool_choice")
    if choice is None:
        choice = {"type": "auto"} if dialect == "messages" else "auto"
    parallel = body.get("parallel_tool_calls", True) is not False
    if dialect == "messages":
        if not isinstance(choice, dict) or not isinstance(choice.get("type"), str):  # pyright: ignore[reportUnknownMemberType]
            raise BadRequest(400, "tool_choice: Input should be an object with a 'type'")
        fields: dict[str, Any] = choice  # pyright: ignore[reportUnknownVariableType]
        parallel = fields.get("disable_parallel_tool_use") is not True
        kind = fields["type"]
        if kind == "tool":
            name = fields.get("name")
            if not isinstance(name, str):
                raise BadRequest(400, "tool_choice.name: Field required")
            return "tool", name, parallel
        if kind not in ("auto", "any", "none"):
            raise BadRequest(400, f"tool_choice.type: unknown value '{kind}'")
        return kind, None, parallel
    if isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise BadRequest(
                400, f"Invalid value for 'tool_choice': '{choice}'.", param="tool_choice"
            )
        return choice, None, parallel
    if isinstance(choice, dict):
        fields = choice  # pyright: ignore[reportUnknownVariableType]
        function = fields.get("function") if dialect == "chat" else fields  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        name = function.get("name") if isinstance(function, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
        if isinstance(name, str) and name:
            return "function", name, parallel
    raise BadRequest(400, "Invalid value for 'tool_choice'.", param="tool_choice")


def _arguments(schema: Any, text: str) -> dict[str, Any]:
    value = schema_example(schema, text)
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def schema_example(schema: Any, text: str, depth: int = 0) -> Any:
    """A value that ``schema`` (a JSON schema) accepts, built from ``text``."""
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return {} if depth == 0 else text
    fields: dict[str, Any] = schema  # pyright: ignore[reportUnknownVariableType]
    for key in ("const", "default"):
        if key in fields:
            return fields[key]
    enum = fields.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]  # pyright: ignore[reportUnknownVariableType]
    for key in ("anyOf", "oneOf", "allOf"):
        options = fields.get(key)
        if isinstance(options, list) and options:
            return schema_example(options[0], text, depth + 1)
    kind = fields.get("type")
    if isinstance(kind, list):
        kinds: list[object] = kind  # pyright: ignore[reportUnknownVariableType]
        kind = next((k for k in kinds if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in fields):
        return _object(fields, text, depth)
    if kind == "array":
        return [schema_example(fields.get("items"), text, depth + 1)]
    if kind in ("integer", "number"):
        low = fields.get("minimum")
        if isinstance(low, int | float) and not isinstance(low, bool):
            return low
        return 1 if kind == "integer" else 1.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def _object(schema: dict[str, Any], text: str, depth: int) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    props: dict[str, Any] = properties  # pyright: ignore[reportUnknownVariableType]
    required = schema.get("required")
    names = (
        [n for n in required if isinstance(n, str) and n in props]  # pyright: ignore[reportUnknownVariableType]
        if isinstance(required, list)
        else list(props)
    )
    return {name: schema_example(props[name], text, depth + 1) for name in names}
