"""The Anthropic Messages dialect: request bodies and responses.

A message's ``content`` is a list of blocks: ``text``, ``tool_use`` (a tool call, whose
``input`` is already an object), ``thinking`` (extended thinking: the text and a
``signature``) and ``redacted_thinking`` (encrypted ``data``). With extended thinking
and tools, Anthropic requires the thinking blocks back, unchanged, in the assistant
turn that precedes the tool results: the response's ``turn`` is that turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from callboard.resilience import InvalidResponse

from ._body import Body, as_int, get_list, get_str, opt_map, opt_str, want_map
from ._normalized import Choice, NormalizedResponse, Usage
from ._parts import Thinking, ToolCall, mark_cut
from ._spec import ProviderSpec

__all__ = ["anthropic_body", "anthropic_refusal", "anthropic_usage", "parse_anthropic"]


def anthropic_body(spec: ProviderSpec, payload: Mapping[str, object], stream: bool) -> Body:
    """The JSON body of a Messages request.

    ``role: "system"`` messages (the OpenAI habit) move to the top-level ``system`` field
    the Messages API wants; ``max_tokens``, which it requires, comes from the spec's
    defaults when the payload lacks it.
    """
    body = {**spec.default_fields, **payload}
    body.pop("stream", None)
    messages = body.get("messages")
    if isinstance(messages, list):
        kept: list[object] = []
        system: list[str] = []
        for message in cast(list[object], messages):
            fields = _fields(message)
            if fields.get("role") == "system":
                system.append(_text_of(fields.get("content")))
            else:
                kept.append(message)
        if system:
            existing = body.get("system")
            if isinstance(existing, str) and existing:
                system.insert(0, existing)
            body["system"] = "\n\n".join(system)
            body["messages"] = kept
    if stream:
        body["stream"] = True
    return body


def _fields(message: object) -> Body:
    return cast(Body, message) if isinstance(message, Mapping) else {}


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts: list[str] = []
        for block in cast(list[object], content):
            if isinstance(block, Mapping):
                text = cast(Body, block).get("text")
                if isinstance(text, str):
                    texts.append(text)
        return "".join(texts)
    return ""


def anthropic_usage(value: object) -> Usage | None:
    """Usage from a Messages ``usage`` object.

    ``input_tokens`` excludes cache reads and writes; they are added back so
    ``prompt_tokens`` is the whole prompt, and kept apart: reads are ``cached_tokens``,
    writes (``cache_creation_input_tokens``) ``cache_write_tokens``. Thinking tokens
    (``output_tokens_details.thinking_tokens``) are ``reasoning_tokens``.
    """
    if type(value) is not dict and not isinstance(value, Mapping):
        return None
    usage = cast(Body, value)
    read = as_int(usage.get("cache_read_input_tokens"))
    written = as_int(usage.get("cache_creation_input_tokens"))
    details = opt_map(usage, "output_tokens_details")
    return Usage(
        prompt_tokens=as_int(usage.get("input_tokens")) + read + written,
        completion_tokens=as_int(usage.get("output_tokens")),
        cached_tokens=read,
        cache_write_tokens=written,
        reasoning_tokens=as_int(details.get("thinking_tokens")) if details is not None else 0,
    )


def anthropic_refusal(stop_reason: str | None, stop_details: object) -> str | None:
    """A refusal's explanation (``""`` without one) when ``stop_reason`` is ``"refusal"``."""
    if stop_reason != "refusal":
        return None
    details: Body = cast(Body, stop_details) if isinstance(stop_details, Mapping) else {}
    return opt_str(details, "explanation") or ""


def parse_anthropic(body: Body) -> NormalizedResponse:
    """Read a Messages response body into the normalized shape (provider left unset).

    Raises:
        InvalidResponse: the body is not a message or its content is malformed.
    """
    if body.get("type") != "message":
        kind = body.get("type")
        shown = kind if isinstance(kind, str) else type(kind).__name__
        raise InvalidResponse(f"expected a body of type 'message', got {shown[:100]!r}")
    texts: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[Thinking] = []
    blocks = get_list(body, "content", "body")
    for n, item in enumerate(blocks):
        where = f"body.content[{n}]"
        block = want_map(item, where)
        kind = block.get("type")
        if kind == "text":
            texts.append(get_str(block, "text", where) or "")
        elif kind == "tool_use":
            calls.append(
                ToolCall(
                    id=get_str(block, "id", where) or "",
                    name=get_str(block, "name", where) or "",
                    arguments=json.dumps(want_map(block.get("input", {}), f"{where}.input")),
                )
            )
        elif kind == "thinking":
            thinking.append(
                Thinking(
                    kind="thinking",
                    text=get_str(block, "thinking", where) or "",
                    signature=get_str(block, "signature", where, optional=True),
                )
            )
        elif kind == "redacted_thinking":
            thinking.append(
                Thinking(kind="redacted_thinking", data=get_str(block, "data", where) or "")
            )
    finish = get_str(body, "stop_reason", "body", optional=True)
    choice = Choice(
        text="".join(texts),
        tool_calls=mark_cut(tuple(calls), finish),
        refusal=anthropic_refusal(finish, body.get("stop_details")),
        finish_reason=finish,
    )
    return NormalizedResponse(
        text=choice.text,
        tool_calls=choice.tool_calls,
        usage=anthropic_usage(body.get("usage")),
        finish_reason=finish,
        model=get_str(body, "model", "body", optional=True),
        raw=body,
        id=opt_str(body, "id"),
        refusal=choice.refusal,
        thinking=tuple(thinking),
        choices=(choice,),
        turn=({"role": "assistant", "content": list(blocks)},),
    )
