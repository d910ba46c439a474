"""OpenAI chat completions: a ``chat.completion`` body into the normalized shape.

Every choice is kept (``n`` > 1), with its refusal (``message.refusal``: a model that
declines says so there, with ``content`` null) and its log probabilities; a tool call
cut off by ``max_tokens`` (``finish_reason: "length"``) is marked incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from callboard.resilience import InvalidResponse

from ._body import Body, as_int, get_list, get_map, get_str, opt_list, opt_map, want_map
from ._logprobs import chat_logprobs
from ._normalized import Choice, NormalizedResponse, Usage
from ._parts import ToolCall, mark_cut

__all__ = ["chat_turn", "content_text", "parse_chat", "tool_call"]


def parse_chat(body: Body, model: str | None, usage: Usage | None) -> NormalizedResponse:
    """Read a ``chat.completion`` body (provider left unset).

    Raises:
        InvalidResponse: no choices, or a choice that is not of the documented shape.
    """
    items = get_list(body, "choices", "body")
    if not items:
        raise InvalidResponse("the chat response has no choices")
    choices = sorted(
        (_choice(want_map(item, f"body.choices[{n}]"), n) for n, item in enumerate(items)),
        key=lambda choice: choice.index,
    )
    first = choices[0]
    return NormalizedResponse(
        text=first.text,
        tool_calls=first.tool_calls,
        usage=usage,
        finish_reason=first.finish_reason,
        model=model,
        raw=body,
        id=get_str(body, "id", "body", optional=True),
        refusal=first.refusal,
        logprobs=first.logprobs,
        choices=tuple(choices),
        turn=(chat_turn(first),),
    )


def _choice(choice: Body, position: int) -> Choice:
    where = f"body.choices[{position}]"
    message = get_map(choice, "message", where)
    calls = tuple(
        tool_call(want_map(item, f"{where}.message.tool_calls[{n}]"))
        for n, item in enumerate(opt_list(message, "tool_calls", f"{where}.message"))
    )
    finish = get_str(choice, "finish_reason", where, optional=True)
    index = choice.get("index")
    return Choice(
        index=as_int(index) if index is not None else position,
        text=content_text(message.get("content")),
        tool_calls=mark_cut(calls, finish),
        refusal=get_str(message, "refusal", f"{where}.message", optional=True),
        finish_reason=finish,
        logprobs=chat_logprobs(choice.get("logprobs"), f"{where}.logprobs"),
    )


def content_text(content: object) -> str:
    """Message content is a string, null, or (some providers) a list of typed parts.

    Raises:
        InvalidResponse: it is something else.
    """
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if isinstance(content, list):
        texts: list[str] = []
        for part in cast(list[object], content):
            text = want_map(part, "content part").get("text")
            if isinstance(text, str):
                texts.append(text)
        return "".join(texts)
    raise InvalidResponse(f"expected text, null or parts as content, got {type(content).__name__}")


def tool_call(item: Body) -> ToolCall:
    """One ``tool_calls`` entry: a function call, or a custom tool's call."""
    custom = opt_map(item, "custom")
    if custom is not None and "function" not in item:
        return ToolCall(
            id=get_str(item, "id", "tool_call") or "",
            name=get_str(custom, "name", "tool_call.custom") or "",
            arguments=get_str(custom, "input", "tool_call.custom", optional=True) or "",
        )
    function = get_map(item, "function", "tool_call")
    return ToolCall(
        id=get_str(item, "id", "tool_call") or "",
        name=get_str(function, "name", "tool_call.function") or "",
        arguments=get_str(function, "arguments", "tool_call.function", optional=True) or "",
    )


def chat_turn(choice: Choice) -> Mapping[str, object]:
    """The assistant message that continues the conversation after ``choice``.

    Example:
        >>> chat_turn(Choice(text="Hi"))
        {'role': 'assistant', 'content': 'Hi'}
    """
    message: dict[str, object] = {
        "role": "assistant",
        "content": choice.text
        if choice.text or not (choice.tool_calls or choice.refusal)
        else None,
    }
    if choice.refusal is not None:
        message["refusal"] = choice.refusal
    if choice.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in choice.tool_calls
        ]
    return message
