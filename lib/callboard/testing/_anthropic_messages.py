"""``POST /v1/messages`` in Anthropic's wire format, JSON and SSE."""

from __future__ import annotations

from typing import Any

from ._content import content_text, digest, estimate_prompt_tokens, reply_words
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._wire import BadRequest, Body, Prepared, Sse, json_bytes, sse_frame

__all__ = ["messages"]


def _checked_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[Any] = field(body, "messages", list, required=True)
    if not messages:
        raise BadRequest(400, "messages: at least one message is required")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ("user", "assistant")  # pyright: ignore[reportUnknownMemberType]
            or not isinstance(message.get("content"), str | list)  # pyright: ignore[reportUnknownMemberType]
        ):
            raise BadRequest(
                400,
                f"messages.{index}: each message needs a 'role' of 'user' or 'assistant' "
                "and a 'content' string or list of blocks",
            )
    if messages[0]["role"] != "user":
        raise BadRequest(400, "messages: the first message must use the 'user' role")
    return messages


def messages(data: bytes, context: RouteContext) -> Prepared:
    """Answer a Messages API request deterministically (see ``_content``)."""
    body = parse_json(data)
    model = check_model(body, context)
    max_tokens = positive_int(body, "max_tokens", None)
    if max_tokens is None:
        raise BadRequest(400, "max_tokens: Field required")
    conversation = _checked_messages(body)
    system_field: str | list[Any] = field(body, "system", (str, list), default="")
    system = content_text(system_field)[0]
    stream: bool = field(body, "stream", bool, default=False)

    prompt = estimate_prompt_tokens(system, [m["content"] for m in conversation])
    read, written = (0, 0)
    if context.prompt_cache is not None:
        read, written = context.prompt_cache.use(model, system_field, conversation, context.created)
    last_user = next(m for m in reversed(conversation) if m["role"] == "user")
    tag = digest(model, system_field, conversation)
    words, cut = reply_words(tag, content_text(last_user["content"])[0], max_tokens)
    output = len(words)
    stop_reason = "max_tokens" if cut else "end_turn"
    ident = f"msg_{tag}{context.number:016d}"
    usage = {
        "input_tokens": prompt - read - written,
        "output_tokens": output,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": read,
        "server_tool_use": None,
        "service_tier": "standard",
    }
    message = {
        "id": ident,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": " ".join(words)}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }
    charge, used = prompt + max_tokens, prompt + output
    if not stream:
        body_reply = Body(200, "application/json", json_bytes(message))
        return Prepared(body_reply, charge, used, output_tokens=output, cache_read_tokens=read)

    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    frames = [
        sse_frame({"type": "message_start", "message": start}, "message_start"),
        sse_frame(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
            "content_block_start",
        ),
        sse_frame({"type": "ping"}, "ping"),
    ]
    for position, word in enumerate(words):
        text = word if position == 0 else f" {word}"
        frames.append(
            sse_frame(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text},
                },
                "content_block_delta",
            )
        )
    closing = [
        sse_frame({"type": "content_block_stop", "index": 0}, "content_block_stop"),
        sse_frame(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                # Anthropic's message_delta usage is cumulative, not an increment.
                "usage": usage,
            },
            "message_delta",
        ),
        sse_frame({"type": "message_stop"}, "message_stop"),
    ]
    error = sse_frame(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
        "error",
    )
    sse = Sse(tuple(frames + closing), len(closing), error)
    return Prepared(sse, charge, used, output_tokens=output, cache_read_tokens=read)
