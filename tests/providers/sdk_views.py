"""One view for both sides: what the official SDKs parsed and what callboard normalized,
each projected onto the same plain data, field by field, so a test compares them with ``==``.

The SDK views read only the SDKs' own objects (``openai.types`` / ``anthropic.types``),
in the providers' words; the callboard view reads only a ``NormalizedResponse``. Where
the two name a thing differently (Anthropic's ``cache_creation_input_tokens`` is
callboard's ``cache_write_tokens``) the mapping is the one docs/providers.md documents.
"""

from __future__ import annotations

import json
from typing import Any

import jiter

from callboard import Logprobs, NormalizedResponse, ToolCall

CUT = frozenset({"length", "max_tokens", "max_output_tokens"})


def _logprob_view(items: Any) -> tuple[Any, ...]:
    return tuple(
        (
            item.token,
            item.logprob,
            tuple(item.bytes) if getattr(item, "bytes", None) is not None else None,
            tuple(
                (top.token, top.logprob, tuple(top.bytes) if top.bytes is not None else None)
                for top in (getattr(item, "top_logprobs", None) or ())
            ),
        )
        for item in items or ()
    )


def _call_view(call_id: str, name: str, arguments: str, incomplete: bool) -> dict[str, Any]:
    partial: Any = None
    if incomplete:
        partial = jiter.from_json(arguments.encode(), partial_mode=True) if arguments else {}
    return {"id": call_id, "name": name, "arguments": arguments, "incomplete": incomplete,
            "partial": partial}  # fmt: skip


def _cut_last(views: list[dict[str, Any]], finish: str | None) -> list[dict[str, Any]]:
    """The documented rule: the output limit cuts the call being written, the last."""
    if views and finish in CUT:
        last = views[-1]
        views[-1] = _call_view(last["id"], last["name"], last["arguments"], True)
    return views


# -- the SDKs' parses ------------------------------------------------------------------


def openai_chat_view(completion: Any) -> dict[str, Any]:
    """A ``ChatCompletion`` (or the stream helper's final ``ParsedChatCompletion``)."""
    choices = []
    for choice in sorted(completion.choices, key=lambda c: c.index):
        message = choice.message
        calls = [
            _call_view(c.id, c.function.name, c.function.arguments, False)
            for c in message.tool_calls or ()
        ]
        logprobs = choice.logprobs
        choices.append(
            {
                "index": choice.index,
                "text": message.content or "",
                "refusal": message.refusal,
                "finish": choice.finish_reason,
                "tool_calls": _cut_last(calls, choice.finish_reason),
                "logprobs": None
                if logprobs is None
                else (_logprob_view(logprobs.content), _logprob_view(logprobs.refusal)),
            }
        )
    usage = completion.usage
    view: dict[str, Any] = {
        "id": completion.id,
        "model": completion.model,
        "choices": choices,
        "thinking": [],
        "usage": None,
    }
    if usage is None:  # a stream that ended before its usage chunk
        return view
    prompt_details = usage.prompt_tokens_details
    completion_details = usage.completion_tokens_details
    return {
        **view,
        "usage": {
            "prompt": usage.prompt_tokens,
            "completion": usage.completion_tokens,
            "total": usage.total_tokens,
            "cached": (prompt_details.cached_tokens or 0) if prompt_details else 0,
            "cache_write": (getattr(prompt_details, "cache_write_tokens", None) or 0)
            if prompt_details
            else 0,
            "reasoning": (completion_details.reasoning_tokens or 0) if completion_details else 0,
        },
    }


def anthropic_view(message: Any) -> dict[str, Any]:
    """A ``Message`` (or the stream helper's final message)."""
    texts, calls, thinking = [], [], []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text)
        elif block.type == "tool_use":
            calls.append(
                {"id": block.id, "name": block.name, "input": block.input, "incomplete": False}
            )
        elif block.type == "thinking":
            thinking.append(("thinking", block.thinking, block.signature, None, None))
        elif block.type == "redacted_thinking":
            thinking.append(("redacted_thinking", "", None, block.data, None))
    if calls and message.stop_reason in CUT:
        calls[-1]["incomplete"] = True
    refusal = None
    if message.stop_reason == "refusal":
        details = message.stop_details
        refusal = (details.explanation if details is not None else None) or ""
    usage = message.usage
    read = usage.cache_read_input_tokens or 0
    written = usage.cache_creation_input_tokens or 0
    details = usage.output_tokens_details
    prompt = usage.input_tokens + read + written
    return {
        "id": message.id,
        "model": message.model,
        "choices": [
            {
                "index": 0,
                "text": "".join(texts),
                "refusal": refusal,
                "finish": message.stop_reason,
                "tool_calls": calls,
                "logprobs": None,
            }
        ],
        "thinking": thinking,
        "usage": {
            "prompt": prompt,
            "completion": usage.output_tokens,
            "total": prompt + usage.output_tokens,
            "cached": read,
            "cache_write": written,
            "reasoning": details.thinking_tokens if details is not None else 0,
        },
    }


def responses_view(response: Any) -> dict[str, Any]:
    """A Responses API ``Response`` (or the stream helper's final one)."""
    refusals, calls, thinking, logprobs = [], [], [], []
    for item in response.output:
        if item.type == "message":
            for part in item.content:
                if part.type == "refusal":
                    refusals.append(part.refusal)
                elif part.type == "output_text":
                    logprobs.extend(part.logprobs or ())
        elif item.type == "function_call":
            calls.append(_call_view(item.call_id, item.name, item.arguments, False))
        elif item.type == "reasoning":
            text = "\n\n".join(s.text for s in item.summary)
            thinking.append(("reasoning", text, None, item.encrypted_content, item.id))
    finish = response.status
    if finish == "incomplete" and response.incomplete_details is not None:
        finish = response.incomplete_details.reason or finish
    usage = response.usage
    return {
        "id": response.id,
        "model": response.model,
        "choices": [
            {
                "index": 0,
                "text": response.output_text,
                "refusal": "".join(refusals) if refusals else None,
                "finish": finish,
                "tool_calls": _cut_last(calls, finish),
                "logprobs": (_logprob_view(logprobs), ()) if logprobs else None,
            }
        ],
        "thinking": thinking,
        "usage": {
            "prompt": usage.input_tokens,
            "completion": usage.output_tokens,
            "total": usage.total_tokens,
            "cached": usage.input_tokens_details.cached_tokens,
            "cache_write": getattr(usage.input_tokens_details, "cache_write_tokens", 0) or 0,
            "reasoning": usage.output_tokens_details.reasoning_tokens,
        },
    }


# -- callboard's -----------------------------------------------------------------------


def _callboard_logprobs(value: Logprobs | None) -> Any:
    if value is None:
        return None
    return (_logprob_view(value.content), _logprob_view(value.refusal))


def _callboard_call(call: ToolCall, dialect: str) -> dict[str, Any]:
    if dialect == "anthropic":
        value = call.partial_arguments if call.incomplete else json.loads(call.arguments or "{}")
        return {"id": call.id, "name": call.name, "input": value, "incomplete": call.incomplete}
    return {
        "id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "incomplete": call.incomplete,
        "partial": call.partial_arguments,
    }


def callboard_view(response: NormalizedResponse, dialect: str) -> dict[str, Any]:
    """callboard's answer, in the same projection (``dialect``: "openai" or "anthropic")."""
    usage = response.usage
    first = response.choices[0]
    # The response's own fields are its first choice's.
    assert (response.text, response.tool_calls, response.refusal, response.finish_reason) == (
        first.text,
        first.tool_calls,
        first.refusal,
        first.finish_reason,
    )
    assert response.logprobs == first.logprobs
    return {
        "id": response.id,
        "model": response.model,
        "choices": [
            {
                "index": choice.index,
                "text": choice.text,
                "refusal": choice.refusal,
                "finish": choice.finish_reason,
                "tool_calls": [_callboard_call(c, dialect) for c in choice.tool_calls],
                "logprobs": _callboard_logprobs(choice.logprobs),
            }
            for choice in response.choices
        ],
        "thinking": [(t.kind, t.text, t.signature, t.data, t.id) for t in response.thinking],
        "usage": None
        if usage is None
        else {
            "prompt": usage.prompt_tokens,
            "completion": usage.completion_tokens,
            "total": usage.total_tokens,
            "cached": usage.cached_tokens,
            "cache_write": usage.cache_write_tokens,
            "reasoning": usage.reasoning_tokens,
        },
    }
