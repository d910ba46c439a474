"""``POST /v1/chat/completions`` in OpenAI's wire format, JSON and SSE."""

from __future__ import annotations

from typing import Any

from ._content import content_text, digest, estimate_prompt_tokens, reply_words
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._wire import BadRequest, Body, Prepared, Sse, json_bytes, sse_frame

__all__ = ["DEFAULT_MAX_TOKENS", "chat_completions"]

DEFAULT_MAX_TOKENS = 256
"""What a chat request without ``max_tokens`` is charged for (and may produce)."""

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[Any] = field(body, "messages", list, required=True)
    if not messages:
        raise BadRequest(400, "'messages' must contain at least one message.", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:  # pyright: ignore[reportUnknownMemberType]
            raise BadRequest(
                400,
                f"Invalid value for 'messages[{index}]': each message needs a 'role' "
                f"among {sorted(_ROLES)}.",
                param=f"messages[{index}]",
            )
    return messages


def chat_completions(data: bytes, context: RouteContext) -> Prepared:
    """Answer a chat completion request deterministically (see ``_content``)."""
    body = parse_json(data)
    model = check_model(body, context)
    messages = _messages(body)
    stream: bool = field(body, "stream", bool, default=False)
    options: dict[str, Any] = field(body, "stream_options", dict, default={})
    include_usage = stream and options.get("include_usage") is True
    max_tokens = positive_int(body, "max_completion_tokens", None) or positive_int(
        body, "max_tokens", DEFAULT_MAX_TOKENS
    )
    assert max_tokens is not None
    n = positive_int(body, "n", 1, maximum=128) or 1

    prompt = estimate_prompt_tokens("", [m.get("content") for m in messages])
    last_user = next((m for m in reversed(messages) if m["role"] == "user"), messages[-1])
    tag = digest(model, messages)
    words, cut = reply_words(tag, content_text(last_user.get("content"))[0], max_tokens)
    finish = "length" if cut else "stop"
    completion = len(words) * n
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    }
    ident = f"chatcmpl-{tag}{context.number:06d}"
    charge = prompt + max_tokens * n
    used = prompt + completion
    if not stream:
        choices: list[dict[str, Any]] = [
            {
                "index": i,
                "message": {
                    "role": "assistant",
                    "content": " ".join(words),
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": finish,
            }
            for i in range(n)
        ]
        reply: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion",
            "created": context.created,
            "model": model,
            "choices": choices,
            "usage": usage,
            "service_tier": "default",
            "system_fingerprint": "fp_callboard",
        }
        reply_body = Body(200, "application/json", json_bytes(reply))
        return Prepared(reply_body, charge, used, output_tokens=completion)

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": context.created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_callboard",
            "choices": choices,
        }
        if include_usage:
            payload["usage"] = None
        payload.update(extra)
        return sse_frame(payload)

    def delta(i: int, content: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
        return {"index": i, "delta": content, "logprobs": None, "finish_reason": reason}

    frames = [
        chunk([delta(i, {"role": "assistant", "content": "", "refusal": None})]) for i in range(n)
    ]
    for position, word in enumerate(words):
        text = word if position == 0 else f" {word}"
        frames.extend(chunk([delta(i, {"content": text})]) for i in range(n))
    closing = [chunk([delta(i, {}, finish)]) for i in range(n)]
    if include_usage:
        closing.append(chunk([], usage=usage))
    closing.append(b"data: [DONE]\n\n")
    error = sse_frame(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )
    sse = Sse(tuple(frames + closing), len(closing), error)
    return Prepared(sse, charge, used, output_tokens=completion)
