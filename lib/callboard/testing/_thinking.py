"""Reasoning: Anthropic's extended thinking (signed, or redacted) and OpenAI's reasoning.

Anthropic: ``thinking: {"type": "enabled", "budget_tokens": N}`` (N >= 1024 and below
``max_tokens``) makes the model think before it answers, in a ``thinking`` block whose
``signature`` proves the provider wrote it. A request whose user text holds Anthropic's
documented test string ``REDACTED_THINKING_TRIGGER`` gets a ``redacted_thinking``
block (encrypted ``data``) instead. Blocks sent back are checked the way the API checks
them: a thinking block whose text or signature was changed, or redacted data that was
not issued, is a 400; and with thinking on, an assistant turn that asked for tools must
start with its thinking block when the tool results follow it, or the request is a 400.
After tool results the model does not think again (it thinks after the next user turn).

OpenAI: ``reasoning_effort`` (chat) or ``reasoning.effort`` (Responses) makes the model
reason in hidden tokens, reported as ``reasoning_tokens`` and counted in the output:
16 for ``low``, 32 for ``medium`` (the default), 64 for ``high``, 0 for ``minimal`` or
``none``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ._wire import BadRequest

__all__ = [
    "REDACTED_THINKING_TRIGGER",
    "REFUSAL_TRIGGER",
    "check_sent_thinking",
    "reasoning_tokens",
    "redacted_data",
    "sign",
    "thinking_budget",
]

REDACTED_THINKING_TRIGGER = (
    "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
    "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
)
"""Anthropic's documented test string: with thinking on, it gets a redacted block."""

REFUSAL_TRIGGER = "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL"
"""Anthropic's documented test string for a refusal (``stop_reason: "refusal"``)."""

_EFFORT_TOKENS = {"none": 0, "minimal": 0, "low": 16, "medium": 32, "high": 64, "xhigh": 128}
_MIN_BUDGET = 1024


def sign(key: bytes, thinking: str) -> str:
    """The signature of a thinking block's text (opaque base64, as the API's are)."""
    mac = hmac.new(key, b"thinking\0" + thinking.encode(), hashlib.sha256).digest()
    return base64.b64encode(b"\x12\x20" + mac * 3).decode()


def redacted_data(key: bytes, tag: str) -> str:
    """A redacted block's ``data``: opaque, but only this provider can have issued it."""
    payload = f"redacted thinking {tag}".encode()
    mac = hmac.new(key, b"redacted\0" + payload, hashlib.sha256).digest()
    return base64.b64encode(payload + mac).decode()


def _issued(key: bytes, data: str) -> bool:
    try:
        raw = base64.b64decode(data.encode(), validate=True)
    except ValueError:
        return False
    if len(raw) <= 32:
        return False
    payload, mac = raw[:-32], raw[-32:]
    expected = hmac.new(key, b"redacted\0" + payload, hashlib.sha256).digest()
    return hmac.compare_digest(mac, expected)


def thinking_budget(body: dict[str, Any], max_tokens: int) -> int | None:
    """The thinking budget the request asks for, ``None`` when thinking is off."""
    config = body.get("thinking")
    if config is None:
        return None
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):  # pyright: ignore[reportUnknownMemberType]
        raise BadRequest(400, "thinking: Input should be an object with a 'type'")
    fields: dict[str, Any] = config  # pyright: ignore[reportUnknownVariableType]
    kind = fields["type"]
    if kind == "disabled":
        return None
    if kind == "adaptive":
        return max(1, min(max_tokens - 1, _MIN_BUDGET))
    if kind != "enabled":
        raise BadRequest(400, f"thinking.type: unknown value '{kind}'")
    budget = fields.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise BadRequest(400, "thinking.enabled.budget_tokens: Field required")
    if budget < _MIN_BUDGET:
        raise BadRequest(
            400, f"thinking.enabled.budget_tokens: Input should be greater than or equal to "
            f"{_MIN_BUDGET}",
        )  # fmt: skip
    if budget >= max_tokens:
        raise BadRequest(400, "`max_tokens` must be greater than `thinking.budget_tokens`.")
    return budget


def check_sent_thinking(messages: list[dict[str, Any]], key: bytes, *, enabled: bool) -> None:
    """Refuse thinking blocks that were not sent back as issued, and (with thinking on)
    a tool-use turn sent back without its thinking."""
    for m, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "assistant" or not isinstance(content, list):
            continue
        for b, block in enumerate(content):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            if not isinstance(block, dict):
                continue
            fields: dict[str, Any] = block  # pyright: ignore[reportUnknownVariableType]
            where = f"messages.{m}.content.{b}"
            if fields.get("type") == "thinking":
                text, signature = fields.get("thinking"), fields.get("signature")
                if not (isinstance(text, str) and isinstance(signature, str)) or not (
                    hmac.compare_digest(signature.encode(), sign(key, text).encode())
                ):
                    raise BadRequest(400, f"{where}: Invalid `signature` in `thinking` block")
            elif fields.get("type") == "redacted_thinking":
                data = fields.get("data")
                if not isinstance(data, str) or not _issued(key, data):
                    raise BadRequest(400, f"{where}: Invalid `data` in `redacted_thinking` block")
    if enabled:
        _check_tool_turn(messages)


def _check_tool_turn(messages: list[dict[str, Any]]) -> None:
    if len(messages) < 2 or not _has_block(messages[-1], "tool_result"):
        return
    turn = messages[-2]
    content = turn.get("content")
    if turn.get("role") != "assistant" or not _has_block(turn, "tool_use"):
        return
    first: object = content[0] if isinstance(content, list) and content else None  # pyright: ignore[reportUnknownVariableType]
    kind = first.get("type") if isinstance(first, dict) else None  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if kind not in ("thinking", "redacted_thinking"):
        raise BadRequest(
            400,
            f"messages.{len(messages) - 2}.content.0.type: Expected `thinking` or "
            f"`redacted_thinking`, but found `{kind}`. When `thinking` is enabled, a final "
            "`assistant` message must start with a thinking block (preceding the lastmost "
            "set of `tool_use` and `tool_result` blocks): send the thinking blocks back "
            "unchanged, or disable `thinking`.",
        )


def _has_block(message: dict[str, Any], kind: str) -> bool:
    content = message.get("content")
    blocks: list[object] = content if isinstance(content, list) else []  # pyright: ignore[reportUnknownVariableType]
    for block in blocks:
        fields: dict[str, Any] = block if isinstance(block, dict) else {}  # pyright: ignore[reportUnknownVariableType]
        if fields.get("type") == kind:
            return True
    return False


def reasoning_tokens(effort: object) -> int:
    """Hidden reasoning tokens for an OpenAI ``reasoning_effort`` / ``reasoning.effort``."""
    if effort is None:
        return _EFFORT_TOKENS["medium"]
    if not isinstance(effort, str) or effort not in _EFFORT_TOKENS:
        raise BadRequest(
            400,
            f"Invalid value for reasoning effort: {effort!r}; supported values are "
            f"{', '.join(repr(e) for e in _EFFORT_TOKENS)}.",
            param="reasoning_effort",
        )
    return _EFFORT_TOKENS[effort]
