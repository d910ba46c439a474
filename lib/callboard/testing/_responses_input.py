"""Reading a Responses API request's ``input``: messages, and the items sent back.

``input`` is a string (one user message) or a list of items: messages (``role`` and
``content``), and what earlier responses returned, sent back to continue (``reasoning``,
``function_call``, assistant ``message`` items) followed by the ``function_call_output``
items that answer the calls. They are checked as the API checks them: an output must
answer a call the input holds, and a call issued together with reasoning must come
back after its reasoning item (``Item 'fc_...' of type 'function_call' was provided
without its required 'reasoning' item``); reasoning sent back with
``encrypted_content`` must carry what this provider issued.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import attrs

from ._content import content_text
from ._wire import BadRequest

__all__ = ["Conversation", "encrypted_reasoning", "read_input"]

_ROLES = frozenset({"user", "assistant", "system", "developer"})


def encrypted_reasoning(key: bytes, item_id: str) -> str:
    """The ``encrypted_content`` of reasoning item ``item_id`` (only this provider can
    have issued it)."""
    mac = hmac.new(key, b"reasoning\0" + item_id.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"gAAAAA" + mac).decode()


@attrs.frozen
class Conversation:
    """What the input says: the messages' contents (for the token estimate), the last
    user text, and the tool outputs it ends with (``None`` when it ends with the user)."""

    items: list[dict[str, Any]]
    contents: list[object]
    user_text: str
    tool_outputs: str | None


def read_input(value: object, key: bytes) -> Conversation:
    """``input`` checked and read.

    Raises:
        BadRequest: an item of no known shape, an output without its call, a call
            without its reasoning, or reasoning this provider did not issue.
    """
    if isinstance(value, str):
        item = {"role": "user", "content": value}
        return Conversation([item], [value], value, None)
    if not isinstance(value, list) or not value:
        raise BadRequest(
            400, "Invalid 'input': expected a string or a non-empty array.", param="input"
        )
    items: list[dict[str, Any]] = []
    contents: list[object] = []
    calls: set[str] = set()
    reasoning: set[str] = set()
    user_text = ""
    for index, entry in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
        where = f"input[{index}]"
        if not isinstance(entry, dict):
            raise BadRequest(400, f"Invalid '{where}': expected an object.", param=where)
        item: dict[str, Any] = entry  # pyright: ignore[reportUnknownVariableType]
        kind = item.get("type", "message")
        if kind == "message":
            if item.get("role") not in _ROLES or not isinstance(item.get("content"), str | list):
                raise BadRequest(
                    400, f"Invalid '{where}': a message needs a role and content.", param=where
                )
            contents.append(_texts(item["content"]))
            if item["role"] == "user":
                user_text = content_text(_texts(item["content"]))[0]
        elif kind == "reasoning":
            _check_reasoning(item, where, key)
            reasoning.add(str(item["id"]))
            contents.append([{"type": "reasoning"}])
        elif kind == "function_call":
            call_id, item_id = item.get("call_id"), item.get("id")
            if not isinstance(call_id, str) or not isinstance(item.get("name"), str):
                raise BadRequest(
                    400, f"Invalid '{where}': a function_call needs call_id and name.", param=where
                )
            if isinstance(item_id, str) and item_id.startswith("fc_r"):
                needed = "rs_" + item_id[4:-2]
                if needed not in reasoning:
                    raise BadRequest(
                        400,
                        f"Item '{item_id}' of type 'function_call' was provided without its "
                        f"required 'reasoning' item: '{needed}'.",
                        param=where,
                    )
            calls.add(call_id)
            contents.append(str(item.get("arguments", "")))
        elif kind == "function_call_output":
            call_id, output = item.get("call_id"), item.get("output")
            if call_id not in calls:
                raise BadRequest(
                    400, f"No tool call found for function call output with call_id {call_id!r}.",
                    param=where,
                )  # fmt: skip
            contents.append(output if isinstance(output, str) else "")
        else:
            raise BadRequest(
                400, f"Invalid '{where}.type': unknown item type {kind!r}.", param=where
            )
        items.append(item)
    outputs: list[str] = []
    for item in reversed(items):
        if item.get("type") != "function_call_output":
            break
        output = item.get("output")
        outputs.insert(0, output if isinstance(output, str) else "")
    last = items[-1]
    ends_with_user = last.get("type", "message") == "message" and last.get("role") == "user"
    tool_outputs = " ".join(outputs) if outputs else (None if ends_with_user else "")
    return Conversation(items, contents, user_text, tool_outputs)


def _texts(content: object) -> object:
    """Input content parts (``input_text``) read as the text parts the estimate knows."""
    if not isinstance(content, list):
        return content
    parts: list[object] = content  # pyright: ignore[reportUnknownVariableType]
    read: list[object] = []
    for part in parts:
        fields: dict[str, Any] = part if isinstance(part, dict) else {}  # pyright: ignore[reportUnknownVariableType]
        textual = fields.get("type") in ("input_text", "output_text", "text")
        read.append({"type": "text", "text": fields.get("text")} if textual else part)  # pyright: ignore[reportUnknownArgumentType]
    return read


def _check_reasoning(item: dict[str, Any], where: str, key: bytes) -> None:
    item_id = item.get("id")
    if not isinstance(item_id, str):
        raise BadRequest(400, f"Invalid '{where}': a reasoning item needs its id.", param=where)
    sealed = item.get("encrypted_content")
    if sealed is not None and sealed != encrypted_reasoning(key, item_id):
        raise BadRequest(
            400, f"The encrypted content for item {item_id} could not be verified.", param=where
        )
